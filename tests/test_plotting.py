"""Plot functions: each one renders to PNG and draws what it promises (labels, lines, points)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

import eisna
from eisna.plotting import (
    plot_arrhenius,
    plot_bode,
    plot_cycling,
    plot_drt,
    plot_fit,
    plot_nyquist,
    plot_nyquist_series,
    plot_residuals,
    plot_trajectories,
)
from eisna.plotting._style import decade_label, ohm_unit
from eisna.plotting.nyquist import decade_points
from eisna.plotting.series import kinetics_curve, trajectory_table


# --- small fit-like objects with a known answer --------------------------------------------------
def rq(freq, R, Q, n):
    return R / (1 + R * Q * (2j * np.pi * freq) ** n)


def model(freq, p):
    freq = np.asarray(freq, dtype=float)
    return p["R0"] + rq(freq, p["R_gb"], p["Q_gb"], 0.9) + rq(freq, p["R_int"], p["Q_int"], 0.85)


@dataclass(frozen=True)
class FakeArc:
    name: str
    role: str
    R: float
    R_stderr: float
    C_eff: float
    C_eff_stderr: float
    tau: float
    f_apex: float


@dataclass(frozen=True, eq=False)
class FakeFit:
    freq: np.ndarray
    z: np.ndarray
    z_fit: np.ndarray
    params: dict
    arcs: tuple
    circuit_name: str = "R0-p(R_gb,CPE_gb)-p(R_int,CPE_int)"

    def predict(self, freq):
        return model(freq, self.params)


def make_fit(R_int=150.0, seed=0, n=61):
    freq = np.logspace(6, -1, n)  # 1 MHz … 0.1 Hz: 8 decades
    p = {"R0": 20.0, "R_gb": 60.0, "Q_gb": 1e-9, "R_int": R_int, "Q_int": 2e-6}
    z_fit = model(freq, p)
    rng = np.random.default_rng(seed)
    z = z_fit * (1 + 0.002 * (rng.normal(size=n) + 1j * rng.normal(size=n)))
    arcs = (
        FakeArc("gb", "grain_boundary", 60.0, 0.5, 1.2e-9, 1e-10, 7e-8, 2.2e6),
        FakeArc("int", "interlayer", R_int, 1.0 + 0.01 * R_int, 8e-7, 2e-8, 1.2e-4, 1.3e3),
    )
    return FakeFit(freq, z, z_fit, p, arcs)


@dataclass(frozen=True, eq=False)
class FakeSeries:
    results: list
    time_h: np.ndarray
    interlayer: list


def make_series(n=13):
    t = np.linspace(0, 24, n)
    r_int = np.where(t > 1.0, 180 * (1 - np.exp(-np.clip(t - 1.0, 0, None) / 6.0)), 0.0)
    fits = [make_fit(R_int=max(r, 1e-3), seed=i) for i, r in enumerate(r_int)]
    return FakeSeries(fits, t, [bool(r > 0) for r in r_int])


def new_ax(**kw):
    return Figure(figsize=(4, 3)).add_subplot(**kw)


def png_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    data = buf.getvalue()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return data


def by_gid(ax, gid):
    return [ln for ln in ax.get_lines() if ln.get_gid() == gid]


# --- helpers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"), [(0.5, (1e-3, "mΩ")), (12.0, (1.0, "Ω")), (2.5e4, (1e3, "kΩ")), (3e6, (1e6, "MΩ"))]
)
def test_ohm_unit_picks_si_prefix(value, expected):
    assert ohm_unit(value) == expected


@pytest.mark.parametrize(
    ("freq", "text"), [(1e6, "1 MHz"), (1e4, "10 kHz"), (1.0, "1 Hz"), (0.1, "100 mHz"), (2.5e3, "2.5 kHz")]
)
def test_decade_label(freq, text):
    assert decade_label(freq) == text


def test_decade_points_find_each_whole_decade():
    freq = np.logspace(6, -1, 71)  # 10 points per decade: every decade is hit exactly
    marks = decade_points(freq)
    assert sorted(f for _, f in marks) == pytest.approx([10.0**n for n in range(-1, 7)])
    for i, f in marks:
        assert freq[i] == pytest.approx(f)


# --- Nyquist ---------------------------------------------------------------------------------------
def test_nyquist_draws_points_fit_and_decades_with_equal_aspect():
    fit = make_fit()
    ax = new_ax()
    out = plot_nyquist(fit, ax)
    assert out is ax
    (points,) = by_gid(ax, "data")
    (line,) = by_gid(ax, "fit")
    (decades,) = by_gid(ax, "decades")
    assert points.get_linestyle() == "None" and len(points.get_xdata()) == fit.freq.size
    assert line.get_linestyle() == "-" and len(line.get_xdata()) > fit.freq.size  # dense predict()
    assert len(decades.get_xdata()) == 8  # 1 MHz … 0.1 Hz
    # −Z″ upward: the capacitive arc is drawn above the axis
    np.testing.assert_allclose(points.get_ydata(), -fit.z.imag)
    assert ax.get_aspect() == 1.0
    assert ax.get_xlabel() == "Z′ / Ω" and ax.get_ylabel() == "−Z″ / Ω"
    labels = [t for t in ax.texts if t.get_gid() == "decade_label"]
    assert "1 MHz" in {t.get_text() for t in labels} and 3 <= len(labels) <= 8
    # crowded decades at the low-frequency end are marked but not all labelled: no overprinting
    xy = np.array([t.xy for t in labels])
    gaps = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    span = np.ptp(fit.z.real)
    assert np.min(gaps[np.triu_indices(len(labels), 1)]) >= 0.05 * span * 0.99
    png_bytes(ax.figure)


def test_nyquist_scales_to_kohm_and_keeps_inductive_points():
    freq = np.logspace(7, 2, 30)
    z = 5e4 / (1 + 2j * np.pi * freq * 5e4 * 1e-11) + 2j * np.pi * freq * 1e-3  # HF inductive tail
    ax = plot_nyquist((freq, z), new_ax(), decades=False)
    (points,) = by_gid(ax, "data")
    assert ax.get_xlabel() == "Z′ / kΩ"
    np.testing.assert_allclose(points.get_xdata(), z.real / 1e3)
    assert (np.asarray(points.get_ydata()) < 0).any()  # inductive points kept below the axis
    assert not by_gid(ax, "fit")
    # a second layer on the same Axes keeps the unit, even for small values
    plot_nyquist((freq, z / 1e3), ax, decades=False)
    assert ax.get_xlabel() == "Z′ / kΩ"


def test_nyquist_rejects_objects_without_impedance():
    with pytest.raises(TypeError, match="expected an object with 'freq'"):
        plot_nyquist(object(), new_ax())


def test_nyquist_without_ax_makes_a_pyplot_figure():
    ax = plot_nyquist(make_fit())
    try:
        assert ax.figure in [plt.figure(n) for n in plt.get_fignums()]
    finally:
        plt.close(ax.figure)


# --- Bode ------------------------------------------------------------------------------------------
def test_bode_draws_modulus_and_phase_for_data_and_fit():
    fit = make_fit()
    fig = Figure()
    axes = fig.subplots(2, 1, sharex=True)
    ax_mod, ax_phase = plot_bode(fit, axes)
    assert ax_mod is axes[0] and ax_phase is axes[1]
    assert ax_mod.get_xscale() == "log" and ax_mod.get_yscale() == "log"
    assert ax_mod.get_ylabel() == "|Z| / Ω" and ax_phase.get_ylabel() == "−φ / °"
    assert ax_phase.get_xlabel() == "f / Hz"
    (mod_pts,) = by_gid(ax_mod, "data")
    np.testing.assert_allclose(mod_pts.get_ydata(), np.abs(fit.z))
    (phase_pts,) = by_gid(ax_phase, "data")
    np.testing.assert_allclose(phase_pts.get_ydata(), -np.degrees(np.angle(fit.z)))
    assert len(by_gid(ax_mod, "fit")) == 1 and len(by_gid(ax_phase, "fit")) == 1
    png_bytes(fig)


# --- residuals -------------------------------------------------------------------------------------
def test_residuals_of_a_fit_in_percent_with_a_constant_band():
    fit = make_fit()
    ax = plot_residuals(fit, new_ax(), band=0.01)
    (re_line,) = by_gid(ax, "res_re")
    (im_line,) = by_gid(ax, "res_im")
    expected = (fit.z - fit.z_fit) / np.abs(fit.z) * 100
    np.testing.assert_allclose(re_line.get_ydata(), expected.real)
    np.testing.assert_allclose(im_line.get_ydata(), expected.imag)
    band = [c for c in ax.collections if c.get_gid() == "kk_band"]
    assert len(band) == 1
    assert band[0].get_paths()[0].vertices[:, 1].max() == pytest.approx(1.0)
    assert ax.get_ylabel() == "residual / %" and ax.get_xscale() == "log"
    png_bytes(ax.figure)


def test_residuals_of_a_real_kk_test_use_its_band():
    fit = make_fit()
    spectrum = eisna.Spectrum(fit.freq, fit.z)
    kk = eisna.kk_test(spectrum)
    ax = plot_residuals(kk, new_ax())
    (re_line,) = by_gid(ax, "res_re")
    np.testing.assert_allclose(re_line.get_ydata(), 100 * np.asarray(kk.res_re))
    (band,) = [c for c in ax.collections if c.get_gid() == "kk_band"]
    top = band.get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx(100 * np.max(kk.threshold))
    png_bytes(ax.figure)


# --- DRT -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FakePeak:
    tau: float
    f: float
    R: float


@dataclass(frozen=True, eq=False)
class FakeDRT:
    tau: np.ndarray
    gamma: np.ndarray
    peaks: tuple


def test_drt_marks_peaks_and_labels_roles_from_the_fit():
    tau = np.logspace(-9, 2, 200)
    gamma = 60 * np.exp(-0.5 * (np.log10(tau / 7e-8) / 0.2) ** 2) + 150 * np.exp(
        -0.5 * (np.log10(tau / 1.2e-4) / 0.25) ** 2
    )
    peaks = (FakePeak(7e-8, 1 / (2 * np.pi * 7e-8), 60.0), FakePeak(1.2e-4, 1 / (2 * np.pi * 1.2e-4), 150.0))
    ax = plot_drt(FakeDRT(tau, gamma, peaks), new_ax(), fit=make_fit())
    (marks,) = by_gid(ax, "peaks")
    np.testing.assert_allclose(marks.get_xdata(), [7e-8, 1.2e-4])
    np.testing.assert_allclose(marks.get_ydata(), [60, 150], rtol=0.02)
    texts = [t.get_text() for t in ax.texts if t.get_gid() == "peak_label"]
    assert texts[0].startswith("grain boundary") and texts[1].startswith("interlayer")
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "τ / s" and ax.get_ylabel() == "γ / Ω"
    png_bytes(ax.figure)


def test_drt_accepts_plain_arrays_and_explicit_roles():
    tau = np.logspace(-6, 0, 50)
    ax = plot_drt((tau, np.ones_like(tau)), new_ax())
    assert len(by_gid(ax, "gamma")) == 1 and not by_gid(ax, "peaks")


# --- series ----------------------------------------------------------------------------------------
def test_nyquist_series_colours_by_time_with_an_hours_colorbar():
    series = make_series(13)
    fig = Figure(figsize=(5, 4))
    ax = fig.add_subplot()
    plot_nyquist_series(series, ax, every=4)
    data = by_gid(ax, "data")
    assert len(data) == 4  # t = 0, 8, 16, 24 h (every 4th of 13, the last included)
    assert len(by_gid(ax, "fit")) == 4
    colors = {tuple(ln.get_color()) for ln in data}
    assert len(colors) == 4  # one colour per time
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "t / h"  # the colorbar
    png_bytes(fig)


def test_trajectory_table_from_series_and_from_rows_agree():
    series = make_series(7)
    tab = trajectory_table(series)
    assert tab["R_int"][0] == 0.0 and tab["R_int"][-1] == pytest.approx(series.results[-1].arcs[1].R)
    np.testing.assert_allclose(tab["R_total"], [sum(a.R for a in r.arcs) for r in series.results])
    rows = [
        {"time_h": t, "interlayer": flag, "R_int": r.arcs[1].R, "R_int_stderr": r.arcs[1].R_stderr}
        for t, flag, r in zip(series.time_h, series.interlayer, series.results, strict=True)
    ]
    tab_rows = trajectory_table(rows)
    np.testing.assert_allclose(tab_rows["R_int"], tab["R_int"])
    np.testing.assert_allclose(tab_rows["t_h"], series.time_h)


def test_kinetics_curve_from_a_stored_jmak_model():
    k = {"model": "jmak", "params": {"R0": 0.0, "t0": 1.0, "dR": 180.0, "tau": 6.0, "m": 1.5}}
    t = np.array([0.5, 1.0, 7.0, 100.0])
    np.testing.assert_allclose(kinetics_curve(k, t), [0, 0, 180 * (1 - np.exp(-1)), 180], rtol=1e-9)
    assert kinetics_curve({"model": "none"}, t) is None


def test_trajectories_with_error_bars_kinetics_onset_and_t95():
    series = make_series(13)
    kinetics = {
        "model": "first_order",
        "onset_h": 1.0,
        "t95_h": 19.0,
        "params": {"R0": 0.0, "t0": 1.0, "dR": 180.0, "tau": 6.0},
    }
    fig = Figure(figsize=(5, 6))
    axes = fig.subplots(3, 1, sharex=True)
    ax_r, ax_c, ax_tot = plot_trajectories(series, axes, kinetics=kinetics)
    assert (ax_r.get_ylabel(), ax_c.get_ylabel(), ax_tot.get_ylabel()) == (
        "R_int / Ω",
        "C_eff,int / nF",
        "R_total / Ω",
    )
    assert ax_tot.get_xlabel() == "t / h"
    assert len(ax_r.containers) == 1 and len(ax_r.containers[0].lines[0].get_xdata()) == 13  # error bars
    (curve,) = by_gid(ax_r, "kinetics")
    assert np.max(curve.get_ydata()) == pytest.approx(180 * (1 - np.exp(-23 / 6)), rel=1e-3)
    for ax in (ax_r, ax_c, ax_tot):
        assert [ln.get_xdata()[0] for ln in by_gid(ax, "onset_h")] == [1.0]
        assert [ln.get_xdata()[0] for ln in by_gid(ax, "t95_h")] == [19.0]
    png_bytes(fig)


# --- Arrhenius -------------------------------------------------------------------------------------
def test_arrhenius_recovers_ea_and_plots_log_sigma_t():
    T = np.array([298.15, 318.15, 338.15, 358.15, 378.15])
    Ea = 0.25
    sigma = 3e3 / T * np.exp(-Ea / (8.617333262e-5 * T))
    ax = plot_arrhenius((T, sigma), new_ax())
    (points,) = by_gid(ax, "data")
    np.testing.assert_allclose(points.get_xdata(), 1000 / T)
    np.testing.assert_allclose(points.get_ydata(), np.log10(sigma * T))
    (fit,) = by_gid(ax, "fit")
    assert fit.get_label().startswith("Ea = 0.250")
    assert ax.get_xlabel() == "1000/T / K⁻¹" and ax.get_ylabel() == "log₁₀(σT / S cm⁻¹ K)"
    png_bytes(ax.figure)


# --- cycling ---------------------------------------------------------------------------------------
def test_cycling_shares_time_axis_with_overpotential_and_eis_r():
    t_s = np.arange(0, 24 * 3600, 600.0)
    voltage = 0.05 * np.sign(np.sin(2 * np.pi * t_s / 7200))
    cycling = {"time_s": t_s, "voltage_V": voltage}
    summary = {"time_h": np.arange(0.5, 24, 1.0), "overpotential_V": np.full(24, 0.05)}
    fig = Figure(figsize=(6, 5))
    axes = fig.subplots(2, 1, sharex=True)
    ax_v, ax_eta = plot_cycling(cycling, axes, summary=summary, series=make_series(7))
    (v_line,) = by_gid(ax_v, "voltage")
    np.testing.assert_allclose(v_line.get_xdata(), t_s / 3600)
    (eta,) = by_gid(ax_eta, "overpotential")
    np.testing.assert_allclose(eta.get_ydata(), 50.0)
    assert ax_v.get_ylabel() == "U / V" and ax_eta.get_xlabel() == "t / h"
    twins = [a for a in fig.axes if a not in (ax_v, ax_eta)]
    assert len(twins) == 1 and twins[0].get_ylabel() == "R (EIS) / Ω"
    png_bytes(fig)


def test_cycling_places_eis_by_the_timestamps_of_both():
    from eisna.cycling import cycling_summary

    from .conftest import SAMPLES

    spectra = [s for k in (47, 48, 49) for s in eisna.read(SAMPLES / "nas" / f"nas_t{k}.mpt")]
    series = eisna.fit_series(spectra, "symmetric_interlayer")
    cycling = eisna.read_cycling(SAMPLES / "nas_cycling.csv")
    fig = Figure(figsize=(6, 5))
    plot_cycling(cycling, fig.subplots(2, 1, sharex=True), summary=cycling_summary(cycling), series=series)
    (twin,) = fig.axes[2:]
    x = np.concatenate([ln.get_xdata() for ln in twin.get_lines()])
    # sweeps at 23, 23.5 and 24 h of the OCV hold; cycling started at 24.5 h
    np.testing.assert_allclose(np.unique(np.round(x, 3)), [-1.5, -1.0, -0.5], atol=1e-3)
    png_bytes(fig)


# --- overview --------------------------------------------------------------------------------------
def test_plot_fit_makes_four_panels():
    fig = plot_fit(make_fit(), Figure(figsize=(9, 5), layout="constrained"))
    assert len(fig.axes) == 4
    assert fig.axes[0].get_xlabel() == "Z′ / Ω" and fig.axes[3].get_ylabel() == "residual / %"
    assert "R0-p(R_gb" in fig._suptitle.get_text()
    png_bytes(fig)


def test_arrhenius_of_a_real_result_draws_each_kind_with_its_ea():
    from types import SimpleNamespace

    T = [298.15, 318.15, 338.15, 358.15, 378.15]

    def r(t, r25, ea):  # R(T) of σT = A exp(−Ea/kT)
        return r25 * t / 298.15 * np.exp(ea / 8.617333262e-5 * (1 / t - 1 / 298.15))

    fits = [
        SimpleNamespace(
            params={"R_b": r(t, 400.0, 0.26), "R_gb": r(t, 250.0, 0.32)}, stderr={}, success=True, meta={}
        )
        for t in T
    ]
    result = eisna.arrhenius(fits, 0.13, 0.785, temperatures_K=T)
    ax = plot_arrhenius(result, new_ax())
    labels = [ln.get_label() for ln in by_gid(ax, "fit")]
    assert len(labels) == len(result.fits) == 3  # bulk, grain boundary, total
    assert labels[0].startswith("Ea = 0.260") and labels[1].startswith("Ea = 0.320")
    assert len(by_gid(ax, "data")) == 3
    png_bytes(ax.figure)


def test_cycling_of_the_sample_file_with_its_real_summary():
    from pathlib import Path

    cycling = eisna.read_cycling(Path(__file__).resolve().parents[1] / "sample_spectra" / "nas_cycling.csv")
    summary = eisna.cycling_summary(cycling, area_cm2=0.785)
    fig = Figure(figsize=(6, 5))
    ax_v, ax_eta = plot_cycling(cycling, fig.subplots(2, 1, sharex=True), summary=summary)
    (eta,) = by_gid(ax_eta, "overpotential")
    assert len(eta.get_xdata()) == len(summary.half_cycles)
    np.testing.assert_allclose(eta.get_ydata(), 1000 * np.abs(summary.half_cycles["overpotential_V"]))
    assert ax_eta.get_ylim()[0] == 0.0  # overpotential axis starts at zero
    assert len(by_gid(ax_v, "short")) == len(summary.events)
    png_bytes(fig)


def test_nyquist_hf_inset_zooms_on_the_high_frequency_points():
    fit = make_fit()
    ax = plot_nyquist(fit, new_ax(), hf_inset=0.3)
    (inset,) = ax.child_axes
    assert inset.get_gid() == "hf_inset"
    (points,) = by_gid(inset, "data")
    expected = fit.z.real <= fit.z.real.min() + 0.3 * np.ptp(fit.z.real)
    np.testing.assert_allclose(points.get_xdata(), fit.z.real[expected])
    assert len(by_gid(inset, "fit")) == 1
    png_bytes(ax.figure)
