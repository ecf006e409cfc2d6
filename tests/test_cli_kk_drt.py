"""``eisna kk`` and ``eisna drt`` run in-process through ``eisna.cli.main``."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from eisna.cli import main

# 49 synthetic Tier-A spectra of eis-science §4.2
NAS = Path(__file__).resolve().parents[1] / "sample_spectra" / "nas_looped.mpt"


@pytest.fixture
def nas_file():
    if not NAS.is_file():
        pytest.skip(f"sample spectra not found at {NAS}")
    return str(NAS)


def test_kk_table(nas_file, capsys):
    assert main(["kk", nas_file, "--index", "0", "10", "-1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == nas_file
    assert out[1].split() == [
        "index",
        "points",
        "M",
        "mu",
        "noise",
        "%",
        "max",
        "res",
        "%",
        "limit",
        "%",
        "Z-HIT",
        "verdict",
    ]
    rows = [r for r in out[2:] if r.split()[0].isdigit() and len(r.split()) >= 9]
    assert [r.split()[0] for r in rows] == ["0", "10", "48"]
    for row in rows:
        _index, points, M, mu, noise, max_res, _limit, z_hit, verdict = row.split()[:9]
        assert points == "80"
        assert 10 < int(M) < 60
        assert -1.0 < float(mu) <= 1.0
        assert 0.05 < float(noise) < 1.0  # the sample noise model: 0.2 % and more at the ends
        assert 0.1 < float(max_res) < 3.0
        assert z_hit in ("PASS", "FAIL")
        assert verdict in ("PASS", "FAIL")
    assert re.fullmatch(r"  \d of 3 spectra pass", out[-1])
    assert all(line.startswith("       ") for line in out[2:-1] if line not in rows)  # why / Z-HIT lines


def test_kk_fixed_threshold_fails_below_the_noise(nas_file, capsys):
    assert main(["kk", nas_file, "--index", "3", "--threshold", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" in out
    assert re.search(r" 0\.1\s+(PASS|FAIL)\s+FAIL \(\d+ points\)", out)
    assert "why: residual" in out
    assert "0 of 1 spectra pass" in out


def test_kk_residual_plot(nas_file, tmp_path, capsys):
    out_png = tmp_path / "kk.png"
    assert main(["kk", nas_file, "--index", "5", "2", "--plot", str(out_png)]) == 0
    assert f"plot saved to {out_png}" in capsys.readouterr().out
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["kk", nas_file, "--index", "0", "--plot", str(tmp_path / "no_dir" / "kk.png")]) == 1
    assert "cannot save the plot" in capsys.readouterr().err


def test_frequency_window(nas_file, capsys):
    assert main(["kk", nas_file, "--index", "0", "--fmin", "1", "--fmax", "1e5"]) == 0
    row = capsys.readouterr().out.splitlines()[2].split()
    assert row[1] == "50"  # points from 1 Hz to 100 kHz at 10.16 per decade
    assert main(["drt", nas_file, "--index", "0", "--fmin", "1e9"]) == 0
    assert "skipped: no points between 1000000000.0 and None Hz" in capsys.readouterr().out


def test_kk_bad_threshold_and_index(nas_file, capsys):
    assert main(["kk", nas_file, "--threshold", "-1"]) == 1
    assert "--threshold must be a positive percentage" in capsys.readouterr().err
    assert main(["kk", nas_file, "--index", "99"]) == 1
    assert "no spectrum with index 99; expected 0 to 48" in capsys.readouterr().err


def test_kk_missing_file(tmp_path, capsys):
    assert main(["kk", str(tmp_path / "nope.mpt")]) == 2  # issue 14: a missing path is bad usage
    assert "nope.mpt" in capsys.readouterr().err


def test_drt_peaks_and_plot(nas_file, tmp_path, capsys):
    out_png = tmp_path / "drt.png"
    assert main(["drt", nas_file, "--index", "-1", "--plot", str(out_png)]) == 0
    out = capsys.readouterr().out
    assert "spectrum 48: R_inf = " in out
    peaks = re.findall(r"peak \d: tau = (\S+) s  f = (\S+) Hz  R = (\S+) Ohm", out)
    # at t = 24 h: the interlayer arc (180 Ω at 10 kHz) dominates
    big = max(peaks, key=lambda p: float(p[2]))
    assert 3.8 < math.log10(float(big[1])) < 4.2
    assert 150 < float(big[2]) < 200
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plot saved to {out_png}" in out


def test_drt_overlay_of_several_spectra(nas_file, tmp_path, capsys):
    out_png = tmp_path / "overlay.png"
    assert main(["drt", nas_file, "--index", "0", "48", "--lam", "0.01", "--plot", str(out_png)]) == 0
    out = capsys.readouterr().out
    assert out.count("lambda = 0.01,") == 2
    assert out_png.stat().st_size > 1000


def test_drt_options_for_blocking_electrodes(tmp_path, capsys):
    pellet = NAS.parent / "pellet" / "pellet_025C.mpt"
    if not pellet.is_file():
        pytest.skip(f"sample spectra not found at {pellet}")
    # --min-peak 0.5: the grain boundary holds about 1 % of ∫γ, most of which is the blocking
    # electrode's CPE tail extrapolated below the window (its size depends on how far the τ grid
    # reaches: 1.4 % of it on a ±1-decade grid, 0.96 % on ±1.5 decades)
    assert main(["drt", str(pellet), "--capacitance", "--min-peak", "0.5"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"C = 3\.\d+e-06 F", out)  # the blocking CPE (≈ 2–4 µF) as a series C
    peaks = [(float(f), float(r)) for f, r in re.findall(r"f = (\S+) Hz  R = (\S+) Ohm", out)]
    # grain boundary: 248 Ω at about 300 kHz in the truth file
    gb = [r for f, r in peaks if 1e5 < f < 1e6]
    assert len(gb) == 1 and 200 < gb[0] < 280
    # bulk: R_b = 413.8 Ω, C_b = 10.7 pF, i.e. 35.9 MHz, above the 7 MHz end of the data; its peak
    # (flagged outside the range) holds R_b, not a part of it traded against R_inf
    bulk = [r for f, r in peaks if 2e7 < f < 6e7]
    assert len(bulk) == 1 and abs(bulk[0] / 413.8 - 1) < 0.1, out
    assert main(["drt", str(pellet), "--min-peak", "150"]) == 1
    assert "--min-peak must be a percentage" in capsys.readouterr().err


def test_help_shows_examples(capsys):
    assert main(["kk", "--help"]) == 0
    assert "eisna kk cell.mpt --threshold 2" in capsys.readouterr().out
    assert main(["drt", "--help"]) == 0
    assert "eisna drt cell.mpt --index 0 --plot drt.png" in capsys.readouterr().out


def test_one_point_spectrum_is_skipped_not_fatal(corpus, capsys):
    path = corpus / "biologic-mpt" / "zir.mpt"
    try:
        from eisna import read

        read(path)
    except Exception as err:  # reader not available or file unreadable
        pytest.skip(f"cannot read {path.name}: {err}")
    assert main(["kk", str(path)]) == 0
    assert "skipped:" in capsys.readouterr().out
    assert main(["drt", str(path)]) == 0
    assert "skipped:" in capsys.readouterr().out
