"""``eisna fit`` and ``eisna report`` run in-process through ``eisna.cli.main``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from eisna.cli import main

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_spectra"
LOOPED = SAMPLES / "nas_looped.mpt"
TRUTH = json.loads((SAMPLES / "truth.json").read_text(encoding="utf-8"))


def _value(out: str, name: str) -> float:
    """First number printed after ``name`` at the start of a table line."""
    match = re.search(rf"^\s+{re.escape(name)}\s+(-?[0-9.]+)", out, flags=re.MULTILINE)
    assert match, f"{name} not in output:\n{out}"
    return float(match.group(1))


def test_fit_prints_the_physics_table_and_saves_a_plot(tmp_path, capsys):
    plot = tmp_path / "fig" / "fit.png"
    code = main(
        [
            "fit",
            str(LOOPED),
            "--circuit",
            "symmetric_interlayer",
            "--index",
            "40",
            "--plot",
            str(plot),
            "--area-cm2",
            "0.7853981633974483",
            "--thickness-cm",
            "0.1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    truth = TRUTH["NAS"]["spectra"][40]["params"]
    assert _value(out, "R_int") == pytest.approx(truth["R_int"], rel=0.05)
    assert _value(out, "R_b") == pytest.approx(truth["R_b"], rel=0.1)
    # arcs table: roles in order with R, C_eff and f_apex; derived conductivity in mS/cm
    roles = re.findall(r"^\s{4}(bulk|grain_boundary|interlayer|charge_transfer)\s", out, flags=re.MULTILINE)
    assert roles == ["bulk", "grain_boundary", "interlayer", "charge_transfer"]
    interlayer = re.search(r"^\s+interlayer\s+.*?([0-9.]+) ± [0-9.]+ kHz", out, flags=re.MULTILINE)
    assert interlayer and float(interlayer.group(1)) == pytest.approx(10.0, rel=0.1)  # f_apex of the truth
    assert re.search(r"sigma_total\s+[0-9.]+ ± [0-9.]+ mS/cm", out)
    assert "± " in out and "flags:" in out and "reduced χ²" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fit_all_spectra_of_a_file(tmp_path, capsys):
    plot = tmp_path / "fit.png"
    code = main(
        [
            "fit",
            str(SAMPLES / "nas" / "nas_t41.mpt"),
            "--circuit",
            "symmetric_interlayer",
            "--all",
            "--plot",
            str(plot),
        ]
    )
    assert code == 0
    assert "nas_t41.mpt #0" in capsys.readouterr().out
    assert plot.is_file()  # one spectrum in the file: the name is kept as given


def test_fit_index_out_of_range_is_bad_usage(capsys):
    code = main(
        ["fit", str(SAMPLES / "nas" / "nas_t01.mpt"), "--circuit", "symmetric_interlayer", "--index", "5"]
    )
    assert code == 2
    assert "--index 5 is out of range" in capsys.readouterr().err


def test_fit_without_circuit_is_bad_usage(capsys):
    assert main(["fit", str(LOOPED)]) == 2
    assert "--circuit" in capsys.readouterr().err


def test_fit_missing_file_is_bad_usage_in_one_line(capsys):
    # issue 14: a missing path is bad usage (2), found before anything is read or fitted
    assert main(["fit", "no_such_file.mpt", "--circuit", "symmetric_interlayer"]) == 2
    err = capsys.readouterr().err
    assert err == "eisna fit: error: no_such_file.mpt: no such file. Check the path.\n"


def test_fit_and_report_help_show_examples(capsys):
    for command in ("fit", "report"):
        assert main([command, "--help"]) == 0
        out = capsys.readouterr().out
        assert "examples:" in out and f"eisna {command} " in out


def test_report_rebuilds_a_batch_folder(tmp_path, capsys):
    rows = [
        {
            "source": str(LOOPED),
            "index": i,
            "time_h": 0.5 * i,
            "status": "ok",
            "R_int": 10.0 * i,
            "R_int_stderr": 0.5,
        }
        for i in range(3)
    ]
    (tmp_path / "results.json").write_text(json.dumps(rows), encoding="utf-8")
    code = main(["report", str(tmp_path), "--title", "NAS cell"])
    assert code == 0
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'report.html'}"
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<title>NAS cell</title>" in text and "20.00 ± 0.50" in text


def test_report_on_a_folder_without_results_fails_with_advice(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 1
    assert "expected results.json from 'eisna batch'" in capsys.readouterr().err


def test_report_on_a_missing_folder_is_bad_usage(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "is not a folder" in capsys.readouterr().err
