"""Change during a sweep: t_arc_h, sweep_change_pct and the changed_during_sweep flag (series/sweep.py).

The known answers come from synthetic series whose every point is evaluated at its own time
(as ``scripts/make_sample_spectra.py`` builds the realistic set): a low-frequency arc
(``symmetric_two_arcs``' R_ct, apex 0.05 Hz) grows while a 33-min sweep from 1 MHz to 5 mHz
(0.25 s + 2 periods per point) runs.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from eisna import fit_series
from eisna.circuit import load_circuit
from eisna.errors import EisnaError
from eisna.series.sweep import FLOOR_PCT, changed_during_sweep, sweep_change_pct
from eisna.spectrum import Spectrum

DEFN = load_circuit("symmetric_two_arcs")
FREQ = np.geomspace(1e6, 5e-3, 84)
STEP_S = 0.25 + 2.0 / FREQ
OFFSETS_S = np.cumsum(STEP_S) - STEP_S[0]  # time of each point after the first, s
F_CT = 0.05  # apex of the growing arc, Hz


def _params(r_ct: float) -> dict[str, float]:
    tau = 1.0 / (2.0 * np.pi * F_CT)
    return {
        "L": 1e-7,
        "R_b": 50.0,
        "R_gb": 30.0,
        "Q_gb": (1.0 / (2.0 * np.pi * 1e5)) ** 0.9 / 30.0,
        "n_gb": 0.9,
        "R_ct": r_ct,
        "Q_ct": tau**0.9 / r_ct,
        "n_ct": 0.9,
    }


def _series(r_ct, n: int = 33, step_h: float = 0.25, seed: int = 7, times: bool = True, **options):
    """Fit a series whose R_ct follows ``r_ct(t_h)`` point by point during each sweep."""
    rng = np.random.default_rng(seed)
    spectra = []
    for i in range(n):
        t0 = step_h * i
        z = np.array(
            [
                DEFN.circuit.impedance(FREQ[k : k + 1], _params(r_ct(t0 + OFFSETS_S[k] / 3600.0)))[0]
                for k in range(FREQ.size)
            ]
        )
        z = z + 0.002 * np.abs(z) * (rng.normal(size=z.size) + 1j * rng.normal(size=z.size))
        meta = {"source": "synthetic", "index": i}
        if times:
            meta.update(sweep_duration_s=float(OFFSETS_S[-1]), point_time_s=tuple(OFFSETS_S.tolist()))
        spectra.append(Spectrum(FREQ, z, elapsed_s=t0 * 3600.0, meta=meta))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_series(spectra, "symmetric_two_arcs", baseline=None, **options)


def _fast(t_h):
    """First-order growth, fast at first (τ = 1 h): R_ct = 20 + 300 (1 − e^(−t/1 h)) Ω."""
    return 20.0 + 300.0 * (1.0 - np.exp(-np.asarray(t_h, float) / 1.0))


def _track(series, name):
    return next(t for t in series.tracks if t.quantity == name)


@pytest.fixture(scope="module")
def fast_series():
    return _series(_fast)


def test_linear_drift_puts_the_fitted_r_at_t_arc():
    """Under a linear drift the fitted R equals the true R at t_arc_h (its definition), not at the
    sweep's start nor at the moment the apex frequency was measured."""
    rate = 150.0  # Ω/h

    def linear(t_h):
        return 60.0 + rate * np.asarray(t_h, float)

    series = _series(linear, n=9, step_h=0.5)
    tr = _track(series, "R_ct")
    apex_delay_h = float(np.interp(np.log10(F_CT), np.log10(FREQ[::-1]), OFFSETS_S[::-1])) / 3600.0
    delay_h = tr.t_arc_h - tr.t_h
    assert np.all(delay_h > 3 * apex_delay_h)  # R is pinned by the points below the apex, measured last
    assert np.all(delay_h < OFFSETS_S[-1] / 3600.0)
    at_arc = np.abs(tr.values - linear(tr.t_arc_h))
    at_start = np.abs(tr.values - linear(tr.t_h))
    at_apex = np.abs(tr.values - linear(tr.t_h + apex_delay_h))
    assert np.median(at_arc) < 0.1 * np.median(at_start)
    assert np.median(at_arc) < 0.1 * np.median(at_apex)
    assert np.median(at_arc) < 3 * np.median(tr.stderr)


def test_flag_fires_on_fast_early_spectra_with_the_true_percent(fast_series):
    tr = _track(fast_series, "R_ct")
    truth = 100.0 * (_fast(tr.t_arc_h) - _fast(tr.t_h)) / _fast(tr.t_arc_h)
    early = (truth > 2 * FLOOR_PCT) & (tr.t_h > 0)  # changed by more than 10 % (the first is the onset)
    assert early.sum() >= 4
    assert tr.changed_during_sweep[early].all()
    np.testing.assert_allclose(tr.sweep_change_pct[early], truth[early], rtol=0.2)
    late = truth < 0.5 * FLOOR_PCT
    assert late.sum() >= 20
    assert not tr.changed_during_sweep[late].any()
    assert np.all(np.abs(tr.sweep_change_pct[late]) < FLOOR_PCT)
    # the high-frequency arc does not move: never flagged
    assert not _track(fast_series, "R_gb").changed_during_sweep.any()


def test_outputs_store_the_flag_and_the_report_shows_it(fast_series, tmp_path):
    from eisna.batching import write_outputs
    from eisna.cli.batch import _sweep_line

    write_outputs(fast_series, tmp_path, provenance={"command": "test"}, report=True)
    rows = pd.read_csv(tmp_path / "results.csv", keep_default_na=False)
    tr = _track(fast_series, "R_ct")
    assert list(rows.columns[-2 * len(fast_series.tracks) - 2 :][:2]) == [
        "sweep_duration_s",
        "changed_during_sweep",
    ]
    assert rows["sweep_duration_s"].astype(float).to_numpy() == pytest.approx(OFFSETS_S[-1])
    flagged = rows["changed_during_sweep"].str.contains("R_ct", regex=False).to_numpy()
    assert np.array_equal(flagged, tr.changed_during_sweep)
    first = int(np.flatnonzero(tr.changed_during_sweep)[1])
    assert f"R_ct {tr.sweep_change_pct[first]:+.1f} %" in rows["changed_during_sweep"][first]
    np.testing.assert_allclose(rows["R_ct_t_arc_h"].astype(float), tr.t_arc_h)
    tracks = pd.read_csv(tmp_path / "tracks.csv").set_index("quantity")
    assert tracks.loc["R_ct", "n_changed_during_sweep"] == int(tr.changed_during_sweep.sum())
    assert tracks.loc["R_ct", "max_sweep_change_pct"] == pytest.approx(tr.max_sweep_change_pct)
    import orjson

    stored = orjson.loads((tmp_path / "analysis.json").read_bytes())["kinetics"]["tracks"]
    ct = next(t for t in stored if t["quantity"] == "R_ct")
    assert ct["changed_during_sweep"] == [bool(x) for x in tr.changed_during_sweep]
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "changed during sweep" in html
    assert f"{int(tr.changed_during_sweep.sum())} spectra" in html
    line = _sweep_line(fast_series.tracks)
    assert f"R_ct in {int(tr.changed_during_sweep.sum())} spectra" in line


def test_no_point_times_no_flag():
    series = _series(_fast, n=8, times=False)
    tr = _track(series, "R_ct")
    assert np.isnan(tr.t_arc_h).all() and np.isnan(tr.sweep_change_pct).all()
    assert not tr.changed_during_sweep.any()
    assert all(math.isnan(r["sweep_duration_s"]) and r["changed_during_sweep"] == "" for r in series.rows())


def test_stationary_cell_is_not_flagged():
    series = _series(lambda t: 200.0 + 0.0 * np.asarray(t, float), n=8)
    for tr in series.tracks:
        assert not tr.changed_during_sweep.any(), tr.quantity


def test_change_estimate_without_a_law_uses_the_neighbours():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    v = np.array([100.0, 110.0, 130.0, 160.0])
    pct = sweep_change_pct(t, v, np.full(4, 1800.0), None)  # half an hour into each sweep
    # central rates 10, 15, 25 Ω/h inside, one-sided at the ends (10, 30): × 0.5 h / value
    np.testing.assert_allclose(pct, 100 * np.array([5.0, 7.5, 12.5, 15.0]) / v)
    flags = changed_during_sweep(pct, v, np.array([1.0, 1.0, 20.0, 1.0]))
    assert flags.tolist() == [False, True, False, True]  # 5 % is not above the floor; 9.6 % < σ 15 %


def test_track_time_arc_removes_the_lag_from_the_onset():
    """Growth from t0 = 0.75 h: on the sweep starts the onset comes out early by the ~18-min delay."""

    def onset(t_h):
        h = np.maximum(np.asarray(t_h, float) - 0.75, 0.0)
        return 30.0 + 250.0 * (1.0 - np.exp(-h / 1.0))

    start = _track(_series(onset, seed=100), "R_ct")
    arc = _track(_series(onset, seed=100, track_time="arc"), "R_ct")
    assert start.time_axis == "start" and arc.time_axis == "arc"
    assert abs(start.kinetics.onset_h - 0.75) > 0.2
    assert abs(arc.kinetics.onset_h - 0.75) < 0.1
    assert abs(arc.kinetics.t95_h - (0.75 + math.log(20))) < abs(start.kinetics.t95_h - (0.75 + math.log(20)))


def test_track_time_must_be_known():
    with pytest.raises(EisnaError, match="track_time='end'; expected one of start, arc"):
        fit_series([], "symmetric_two_arcs", track_time="end")


def test_cli_track_time_arc_on_the_sample(tmp_path, capsys):
    """``eisna batch --track-time arc``: the laws on the arcs' times, said in kinetics.json; a bad
    value is a usage error (exit 2) before any fitting."""
    import orjson

    from eisna.cli import main

    from .conftest import SAMPLES

    looped = str(SAMPLES / "nas_looped.mpt")
    assert main(["batch", looped, "--track-time", "end", "--out", str(tmp_path / "bad")]) == 2
    assert "--track-time: invalid choice: 'end'" in capsys.readouterr().err
    out = tmp_path / "arc"
    assert main(["batch", looped, "--track-time", "arc", "--out", str(out), "--no-report"]) == 0
    kinetics = orjson.loads((out / "kinetics.json").read_bytes())
    assert kinetics["time_axis"] == "arc"
    assert {t["time_axis"] for t in kinetics["tracks"]} == {"arc"}
    # the 10-kHz interlayer arc is taken 5-7 s into its 151.5-s sweep: the onset moves by seconds
    assert kinetics["onset_h"] == pytest.approx(0.99, abs=0.02)
    rows = pd.read_csv(out / "results.csv")
    delay_s = 3600 * (rows["R_int_t_arc_h"] - rows["time_h"]).dropna()
    assert delay_s.between(3.0, 10.0).all()


def test_cell_without_times_takes_no_delays():
    """Spectra in file order (no start times): their axis holds ranks, and seconds within a
    sweep cannot be added to a rank, so no arc time, change or flag is made up."""
    rng = np.random.default_rng(3)
    spectra = []
    for i in range(8):
        z = DEFN.circuit.impedance(FREQ, _params(_fast(0.25 * i)))
        z = z + 0.002 * np.abs(z) * (rng.normal(size=z.size) + 1j * rng.normal(size=z.size))
        meta = {"sweep_duration_s": float(OFFSETS_S[-1]), "point_time_s": tuple(OFFSETS_S)}
        spectra.append(Spectrum(FREQ, z, meta=meta))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = fit_series(spectra, "symmetric_two_arcs", baseline=None)
    assert series.time_basis == "file order"
    track = _track(series, "R_ct")
    assert np.isnan(track.t_arc_h).all()  # not rank + hours
    assert np.isnan(track.sweep_change_pct).all()
    assert not np.asarray(track.changed_during_sweep).any()
