"""One line per failure and the documented exit codes (issue 14, item 7)."""

from __future__ import annotations

import shutil
import tempfile

import pytest

from eisna.circuit import parse_circuit
from eisna.cli import main
from eisna.errors import CircuitSyntaxError

from .conftest import SAMPLES

LOOPED = str(SAMPLES / "nas_looped.mpt")


def _err(capsys) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return captured.err


def test_unknown_circuit_name_suggests_the_closest(capsys):
    assert main(["fit", LOOPED, "--circuit", "symetric_interlayer"]) == 2
    assert _err(capsys) == (
        "eisna fit: error: --circuit symetric_interlayer: unknown circuit; expected a library name "
        "(see 'eisna circuits'), a .toml file or a circuit string such as 'R0-p(R1,CPE1)'. "
        "Did you mean 'symmetric_interlayer', 'symmetric_simple', 'symmetric_cell'?\n"
    )


def test_unknown_circuit_without_close_name_lists_the_library(capsys):
    assert main(["batch", LOOPED, "--circuit", "nonexistent_circuit", "--out", "unused"]) == 2
    err = _err(capsys)
    assert err.startswith("eisna batch: error: --circuit nonexistent_circuit: unknown circuit;")
    assert "Known: pellet_blocking, " in err and "symmetric_interlayer" in err
    assert "unknown element type" not in err


def test_bad_circuit_string_is_one_line(capsys):
    assert main(["fit", LOOPED, "--circuit", "R0-p(R1,X1)"]) == 2
    assert _err(capsys) == (
        "eisna fit: error: --circuit: circuit 'R0-p(R1,X1)', column 9: unknown element type 'X' in "
        "'X1'; known types: R, C, L, W, Wo, Ws, CPE, La, G, Gs, K, Zarc, TLMQ, T, HN.\n"
    )


def test_parser_bounds_length_and_depth():
    with pytest.raises(CircuitSyntaxError, match="circuit string of 3002 characters; expected at most 2000"):
        parse_circuit("p(R0," * 500 + "R1" + ")" * 500)
    with pytest.raises(CircuitSyntaxError, match=r"column 161: p\(\.\.\.\) nested over 32 deep"):
        parse_circuit("p(R0," * 40 + "R1" + ")" * 40)
    deepest = "".join(f"p(R{k}," for k in range(32)) + "R99" + ")" * 32
    assert len(parse_circuit(deepest).param_names) == 33


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--fmin", "-1"], "--fmin must be a positive number (Hz); got -1.0"),
        (["--fmin", "10", "--fmax", "1"], "--fmin (10 Hz) must be below --fmax (1 Hz)"),
        (["--area-cm2", "0"], "--area-cm2 must be a positive number (cm²); got 0.0"),
        (["--thickness-cm", "nan"], "--thickness-cm must be a positive number (cm); got nan"),
    ],
)
def test_bad_numbers_are_usage_errors(capsys, flags, message):
    assert main(["fit", LOOPED, "--circuit", "symmetric_interlayer", *flags]) == 2
    assert _err(capsys) == f"eisna fit: error: {message}\n"


def test_missing_paths_are_usage_errors(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert _err(capsys) == (
        f"eisna batch: error: {tmp_path / 'nope'}: no such file or folder, and no file matches it as a "
        "pattern. Check the path (quote patterns so the shell passes them on).\n"
    )
    assert main(["info", str(tmp_path / "a.mpt"), LOOPED]) == 2  # the others are still described
    captured = capsys.readouterr()
    assert captured.err == f"eisna: error: {tmp_path / 'a.mpt'}: file not found. Check the path.\n"
    assert "spectra: 49" in captured.out


def test_unusable_out_is_refused_before_fitting(tmp_path, capsys, monkeypatch):
    afile = tmp_path / "results.txt"
    afile.write_text("x")
    assert main(["batch", LOOPED, "--out", str(afile)]) == 2
    assert _err(capsys) == (
        f"eisna batch: error: --out {afile}: is a file, not a folder; expected a folder to write the "
        "results into\n"
    )

    def read_only(*args, **kwargs):  # we may run as root, where chmod does not stop writes
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    assert main(["batch", LOOPED, "--out", str(tmp_path / "ro")]) == 2
    assert _err(capsys) == (
        f"eisna batch: error: --out {tmp_path / 'ro'}: cannot write there (Permission denied); "
        "expected a writable folder\n"
    )


def test_batch_accepts_a_circuit_string(tmp_path, capsys):
    folder = tmp_path / "cell"
    folder.mkdir()
    for k in (40, 41):
        shutil.copy(SAMPLES / "nas" / f"nas_t{k:02d}.mpt", folder)
    code = main(
        [
            "batch",
            str(folder),
            "--circuit",
            "R0-p(R1,CPE1)-p(R2,CPE2)",
            "--out",
            str(tmp_path / "out"),
            "--no-report",
            "--fmin",
            "1",
        ]
    )
    assert code == 0
    assert "2/2 spectra fitted with R0-p(R1,CPE1)-p(R2,CPE2)" in capsys.readouterr().out


def test_warnings_print_one_line_each(tmp_path, capsys):
    cut = tmp_path / "c.mpt"
    cut.write_bytes(b"\n".join(SAMPLES.joinpath("nas_looped.mpt").read_bytes().split(b"\n")[:2000]) + b"\n")
    assert main(["fit", str(cut), "--circuit", "symmetric_interlayer", "--index", "0", "--fmin", "1"]) == 0
    err = _err(capsys)
    assert err == (
        f"warning: {cut}: the file looks truncated: the header's loop table declares 49 loops up to "
        "point 3919, the data end at point 1885 (24 spectra); the last spectrum has 46 points, the one "
        "before it 80. The last spectrum is kept with meta['truncated'] = True; re-export the file if "
        "the measurement finished.\n"
    )


def test_unexpected_exception_is_one_line_without_debug(monkeypatch, capsys):
    import eisna.io

    def boom(path, **options):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(eisna.io, "read", boom)
    assert main(["fit", LOOPED, "--circuit", "symmetric_interlayer"]) == 1
    assert _err(capsys) == (
        "eisna: error: RuntimeError: boom (run 'eisna --debug fit ...' for the traceback)\n"
    )
    assert main(["--debug", "fit", LOOPED, "--circuit", "symmetric_interlayer"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_max_file_size_flag(capsys):
    assert main(["info", "--max-file-size", "1K", LOOPED]) == 1
    assert "the per-file limit is 1.0 KiB" in _err(capsys)
    assert main(["info", "--max-file-size", "lots", LOOPED]) == 2
    assert "expected a size like 500M, 2G or 1048576; found 'lots'" in _err(capsys)
