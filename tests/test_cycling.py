"""Cycling analysis: overpotential, DC ASR and soft-short detection on synthetic and real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import eisna
from eisna.cycling import CyclingDataError, CyclingSummary, cycling_summary, half_cycle_bounds

DT_S = 10.0  # record interval
HALF_S = 3600.0  # half-cycle duration
CURRENT_A = 1e-3
ETA0_V = 0.020  # overpotential at t = 0
GROWTH_V_PER_H = 0.001
TAU_S = 60.0  # polarisation build-up after a reversal


def eta_true(t_s: np.ndarray | float) -> np.ndarray | float:
    return ETA0_V + GROWTH_V_PER_H * np.asarray(t_s) / 3600


def synthetic(
    n_half: int = 20,
    *,
    short_at_s: float | None = None,
    spikes_in_half: int | None = None,
    noise_V: float = 2e-4,
    rest_s: float = 0.0,
    rate_step_at: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Galvanostatic ±I cycling of a symmetric cell with a slowly growing overpotential.

    After ``short_at_s`` the cell is shorted: |V| falls to 2 % of η. ``spikes_in_half`` puts five
    drop-and-recover spikes (|V| × 0.3) into that half cycle. ``rest_s`` inserts rests. From
    half cycle ``rate_step_at`` on, current and overpotential are ten times smaller (ohmic cell).
    """
    rng = np.random.default_rng(seed)
    per = int(HALF_S / DT_S)
    rest = int(rest_s / DT_S)
    t_list, v_list, i_list = [], [], []
    t0 = 0.0
    for h in range(n_half):
        sign = 1.0 if h % 2 == 0 else -1.0
        if rate_step_at is not None and h >= rate_step_at:
            sign *= 0.1
        t = t0 + np.arange(per) * DT_S
        v = sign * eta_true(t) * (1 - np.exp(-(t - t0) / TAU_S))
        if spikes_in_half == h:
            v[50:300:60] *= 0.3
        t_list.append(t)
        v_list.append(v)
        i_list.append(np.full(per, sign * CURRENT_A))
        t0 += per * DT_S
        if rest:
            t_list.append(t0 + np.arange(rest) * DT_S)
            v_list.append(np.zeros(rest))
            i_list.append(np.zeros(rest))
            t0 += rest * DT_S
    time_s = np.concatenate(t_list)
    volt = np.concatenate(v_list) + noise_V * rng.standard_normal(len(time_s))
    cur = np.concatenate(i_list)
    if short_at_s is not None:
        after = time_s >= short_at_s
        volt[after] = np.sign(cur[after]) * 0.02 * ETA0_V + 1e-5 * rng.standard_normal(after.sum())
    return pd.DataFrame({"time_s": time_s, "voltage_V": volt, "current_A": cur})


def test_overpotential_dc_resistance_and_asr() -> None:
    summary = cycling_summary(synthetic(), area_cm2=0.5)
    table = summary.half_cycles
    assert len(table) == 20
    assert summary.events == ()
    assert not table["short"].any() and not table["jagged"].any()
    np.testing.assert_allclose(table["current_A"], np.tile([CURRENT_A, -CURRENT_A], 10))
    # the median over the plateau equals η at (about) the plateau's mid-time
    mid_s = table["start_s"] + 0.55 * HALF_S
    np.testing.assert_allclose(table["overpotential_V"], eta_true(mid_s), atol=5e-5)
    np.testing.assert_allclose(table["overpotential_max_V"], eta_true(table["end_s"]), atol=1e-3)
    np.testing.assert_allclose(table["R_dc_ohm"], table["overpotential_V"] / CURRENT_A)
    np.testing.assert_allclose(table["asr_dc_ohm_cm2"], table["overpotential_V"] * 0.5 / CURRENT_A)
    assert table["time_h"].iloc[0] == pytest.approx((HALF_S - DT_S) / 2 / 3600)
    assert table["R_dc_ohm"].iloc[0] == pytest.approx(20.5, abs=0.1)


def test_without_area_asr_is_nan() -> None:
    table = cycling_summary(synthetic(n_half=2)).half_cycles
    assert table["asr_dc_ohm_cm2"].isna().all()
    assert table["R_dc_ohm"].notna().all()


@pytest.mark.parametrize("short_at_s", [12 * HALF_S + 1234.0, 5 * HALF_S + 2000.0])
def test_voltage_collapse_time_within_one_record(short_at_s: float) -> None:
    summary = cycling_summary(synthetic(short_at_s=short_at_s))
    assert len(summary.events) == 1  # the onset only
    event = summary.events[0]
    assert event.reason == "voltage_collapse"
    assert abs(event.time_s - short_at_s) <= DT_S
    assert event.time_h == pytest.approx(event.time_s / 3600)
    assert event.half_cycle == int(short_at_s // HALF_S)
    assert summary.first_short_h == pytest.approx(event.time_h)
    table = summary.half_cycles
    assert table["short"].to_numpy().tolist() == [h >= event.half_cycle for h in range(20)]
    assert "20%" in event.detail
    frame = summary.events_frame()
    assert frame.columns.tolist() == ["time_s", "time_h", "half_cycle", "reason", "detail"]
    assert frame["reason"].tolist() == ["voltage_collapse"]


def test_rate_step_is_no_collapse() -> None:
    summary = cycling_summary(synthetic(rate_step_at=8, noise_V=2e-5))
    assert summary.events == ()
    table = summary.half_cycles
    np.testing.assert_allclose(table["current_A"].abs().iloc[8:], 0.1 * CURRENT_A)
    # the DC resistance does not depend on the current of an ohmic cell
    mid_s = table["start_s"] + 0.55 * HALF_S
    np.testing.assert_allclose(table["R_dc_ohm"], eta_true(mid_s) / CURRENT_A, rtol=5e-3)


def test_collapse_in_first_half_cycle_uses_its_own_median() -> None:
    short_at_s = 2000.0
    summary = cycling_summary(synthetic(n_half=4, short_at_s=short_at_s))
    assert [e.reason for e in summary.events] == ["voltage_collapse"]
    assert abs(summary.events[0].time_s - short_at_s) <= DT_S


def test_short_at_current_reversal() -> None:
    # shorted exactly when the current reverses: |V| never builds up in that half cycle
    summary = cycling_summary(synthetic(n_half=10, short_at_s=6 * HALF_S))
    (event,) = summary.events
    assert event.half_cycle == 6
    assert event.time_s == pytest.approx(6 * HALF_S)
    assert "never reached" in event.detail


def test_jagged_plating_detected_at_first_spike() -> None:
    summary = cycling_summary(synthetic(spikes_in_half=7))
    (event,) = summary.events
    assert event.reason == "jagged"
    assert event.half_cycle == 7
    assert event.time_s == pytest.approx(7 * HALF_S + 50 * DT_S)
    table = summary.half_cycles
    assert table["jagged"].tolist() == [h == 7 for h in range(20)]
    assert table.loc[7, "reversals"] >= 9
    assert (table.drop(index=7)["reversals"] == 0).all()


def test_noise_alone_is_not_jagged() -> None:
    # noise at 2.5 % of η gives no significant steps
    summary = cycling_summary(synthetic(noise_V=5e-4, seed=3))
    assert summary.events == ()


def test_rests_split_half_cycles_and_carry_columns() -> None:
    df = synthetic(n_half=6, rest_s=600.0)
    df["cycle"] = (df["time_s"] // (2 * (HALF_S + 600))).astype(int) + 1
    df["timestamp"] = pd.Timestamp("2026-01-01 08:00") + pd.to_timedelta(df["time_s"], unit="s")
    table = cycling_summary(df).half_cycles
    assert len(table) == 6
    assert table["start_s"].tolist() == [h * (HALF_S + 600) for h in range(6)]
    assert table["cycle"].tolist() == [1, 1, 2, 2, 3, 3]
    assert table["start_timestamp"].iloc[1] == pd.Timestamp("2026-01-01 09:10")
    assert table["mid_timestamp"].iloc[1] == pd.Timestamp("2026-01-01 09:10") + pd.Timedelta(seconds=1795)


def test_rest_only_data_gives_empty_table() -> None:
    df = pd.DataFrame({"time_s": [0.0, 1.0, 2.0], "voltage_V": [0.001, 0.001, 0.001], "current_A": 0.0})
    summary = cycling_summary(df)
    assert isinstance(summary, CyclingSummary)
    assert summary.half_cycles.empty and "overpotential_V" in summary.half_cycles.columns
    assert summary.events == () and summary.first_short_h is None


def test_half_cycle_bounds() -> None:
    current = [0, 1, 1, 0, -1, -1, -1, 1, 0.001]
    assert half_cycle_bounds(current, 0.01) == [(1, 3), (4, 7), (7, 8)]


def test_bad_input_raises() -> None:
    with pytest.raises(CyclingDataError, match=r"missing column\(s\) \['current_A'\]"):
        cycling_summary(pd.DataFrame({"time_s": [0.0], "voltage_V": [0.0]}))
    with pytest.raises(CyclingDataError, match="area_cm2 must be positive"):
        cycling_summary(synthetic(n_half=2), area_cm2=0.0)
    with pytest.raises(CyclingDataError, match="collapse_fraction"):
        cycling_summary(synthetic(n_half=2), collapse_fraction=1.5)
    assert issubclass(CyclingDataError, eisna.EisnaError)


def test_lazy_public_name() -> None:
    assert eisna.cycling_summary is cycling_summary


def test_real_nested_neware_export(corpus: Path) -> None:
    df = eisna.read_cycling(corpus / "neware-csv" / "nw_regular_export_ife_example.csv")
    summary = cycling_summary(df, area_cm2=1.0)
    table = summary.half_cycles
    assert len(table) == 40  # 20 cycles of CC charge + CC discharge
    np.testing.assert_allclose(table["current_A"].abs(), 0.47417, rtol=1e-4)
    assert table["overpotential_V"].between(3.9, 4.7).all()  # a full cell: |V| is its voltage
    assert (table["overpotential_max_V"] >= table["overpotential_V"]).all()
    assert summary.events == ()
    assert table["start_timestamp"].iloc[0] == pd.Timestamp("2026-03-06 12:37:45")


def test_real_binary_runs(corpus: Path) -> None:
    df = eisna.read_cycling(corpus / "neware-nda" / "new_nda_file.nda")
    table = cycling_summary(df).half_cycles
    assert len(table) == 3
    assert table["R_dc_ohm"].between(1e3, 3e3).all()


def test_sample_nas_cycling_matches_its_truth() -> None:
    import json

    from .conftest import SAMPLES

    path = SAMPLES / "nas_cycling.csv"
    if not path.exists():
        pytest.skip(f"{path} not generated yet (scripts/make_sample_spectra.py)")
    truth = json.loads((SAMPLES / "truth.json").read_text())["cycling"]
    area = truth["ASR_dc_cell_ohm_cm2_at_start"] / truth["R_dc_ohm_at_start"]
    summary = cycling_summary(eisna.read_cycling(path), area_cm2=area)
    table = summary.half_cycles
    assert len(table) == 2 * truth["cycles"]
    np.testing.assert_allclose(table["current_A"].abs(), truth["current_mA"] * 1e-3, rtol=1e-3)
    assert table["R_dc_ohm"].iloc[0] == pytest.approx(truth["R_dc_ohm_at_start"], rel=0.01)
    assert table["asr_dc_ohm_cm2"].iloc[0] == pytest.approx(truth["ASR_dc_cell_ohm_cm2_at_start"], rel=0.01)
    assert [e.time_h for e in summary.events] == truth["soft_shorts"] == []
    assert table["start_timestamp"].iloc[0] == pd.Timestamp(truth["start"]) + pd.Timedelta(seconds=600)


# --------------------------------------------------------------------------- one time axis with EIS


def _stamped(start: str, tz: str | None = None) -> pd.DataFrame:
    df = synthetic(4)
    stamps = pd.Timestamp(start) + pd.to_timedelta(df["time_s"], unit="s")
    df["timestamp"] = stamps.dt.tz_localize(tz) if tz else stamps
    return df


def test_eis_offset_from_local_timestamps() -> None:
    from datetime import datetime

    from eisna.cycling import eis_offset_h

    df = _stamped("2025-03-18 09:42:05")
    df["time_s"] += 120.0  # the test clock had run 2 min before the first stamped record
    # the EIS series started 24.5 h before the cycling test's clock zero
    assert eis_offset_h(datetime(2025, 3, 17, 9, 10, 5), df) == pytest.approx(-24.5)


def test_eis_offset_across_time_zones_needs_the_lab_zone() -> None:
    from datetime import datetime

    from eisna.cycling import eis_offset_h

    df = _stamped("2025-03-18 08:42:05", tz="UTC")  # a Neware binary: UTC (09:42:05 in Berlin)
    zone_hint = r"time zone \(UTC\).*with --tz Area/City \(e\.g\. --tz Europe/Berlin"  # issue 14
    with pytest.raises(CyclingDataError, match=zone_hint):
        eis_offset_h(datetime(2025, 3, 17, 9, 12, 5), df)
    assert eis_offset_h(datetime(2025, 3, 17, 9, 12, 5), df, tz="Europe/Berlin") == pytest.approx(-24.5)
    with pytest.raises(CyclingDataError, match=r"unknown time zone 'Mars/Olympus'"):
        eis_offset_h(datetime(2025, 3, 17, 9, 12, 5), df, tz="Mars/Olympus")


def test_eis_offset_without_clocks_says_what_to_do() -> None:
    from datetime import datetime

    from eisna.cycling import eis_offset_h

    with pytest.raises(CyclingDataError, match=r"no 'timestamp'.*pass eis_offset_h"):
        eis_offset_h(datetime(2025, 1, 1), synthetic(2))
    with pytest.raises(CyclingDataError, match="no absolute timestamps"):
        eis_offset_h(None, _stamped("2025-01-01"))


@pytest.mark.slow
def test_batch_puts_cycling_on_the_impedance_clock(tmp_path: Path) -> None:
    import json

    from .conftest import SAMPLES

    out = tmp_path / "out"
    series = eisna.batch(
        SAMPLES / "nas_looped.mpt", "symmetric_interlayer", out=out, cycling=SAMPLES / "nas_cycling.csv"
    )
    truth = json.loads((SAMPLES / "truth.json").read_text())["cycling"]
    info = json.loads((out / "cycling.json").read_text())
    # cycling began 24.5 h after the first sweep (whose stamp carries .125 s)
    assert info["eis_offset_h"] == pytest.approx(-truth["start_h_after_first_eis"], abs=1e-3)
    assert info["n_half_cycles"] == 2 * truth["cycles"] and info["events"] == []
    table = pd.read_csv(out / "cycling_summary.csv")
    assert len(table) == 48
    np.testing.assert_allclose(table["time_h_eis"], table["time_h"] + 24.5, atol=1e-3)
    # the DC resistance of the first half cycle equals the last EIS total (same cell, R_dc)
    r_eis = series.values("R_b")[0][-1] + series.values("R_gb")[0][-1] + series.values("R_int")[0][-1]
    r_eis += series.values("R_ct")[0][-1] + series.values("R_W")[0][-1]
    assert table["R_dc_ohm"].iloc[0] == pytest.approx(r_eis, rel=0.02)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Cycling of the same cell" in html and 'alt="Cycling and impedance on one time axis"' in html
    assert "−24.5" in html or "-24.500 h" in html
    # the report rebuilt from the folder keeps the section, from cycling.json alone: the batch
    # stored the (decimated) voltage trace and |η| per half cycle, so the cycling file is not read
    assert 0 < len(info["trace"]["time_s"]) == len(info["trace"]["voltage_V"]) <= 4000
    assert len(info["half_cycles"]["time_h"]) == len(info["half_cycles"]["overpotential_V"]) == 48
    info["source"] = str(tmp_path / "moved-away.csv")
    (out / "cycling.json").write_text(json.dumps(info))
    (out / "report.html").unlink()
    eisna.write_report(out)
    rebuilt = (out / "report.html").read_text(encoding="utf-8")
    assert "Cycling of the same cell" in rebuilt and "Top: cell voltage of moved-away.csv" in rebuilt
    assert rebuilt.count("data:image/png;base64,") == html.count("data:image/png;base64,")


def test_batch_with_unreadable_cycling_file_fails_before_fitting(tmp_path: Path) -> None:
    from eisna import EisnaError

    from .conftest import SAMPLES

    bad = tmp_path / "cycling.csv"
    bad.write_text("not, a, cycler\n1, 2, 3\n")
    with pytest.raises(EisnaError, match=r"cycling\.csv"):
        eisna.batch(SAMPLES / "nas" / "nas_t01.mpt", "symmetric_interlayer", out=tmp_path / "o", cycling=bad)
    assert not (tmp_path / "o" / "results.csv").exists()
