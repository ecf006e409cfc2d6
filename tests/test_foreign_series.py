"""What real series from other labs showed (stop 20, branch harvestfit), on minimal fixtures.

* Novocontrol exports named ``<sample>-140deg.txt``: the temperature comes from the name, and a
  σ(25 °C) read off an Arrhenius line measured at 140–200 °C says it is an extrapolation.
* A folder without times is fitted on a rank axis: onset and t95 are ranks, not hours, in the
  command's summary, the report cards and the tracks table.
* A finite-length Warburg relaxing above the window stands in for the ohmic intercept (R_b on its
  lower bound, R_W holding the whole intercept): the fit says role_mismatch and why, and a series
  leaves that R_W to the total R_dc.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import eisna
from eisna.circuit import load_circuit
from eisna.fitting.physics import diffusion_above_window, diffusion_apexes
from eisna.io import novocontrol
from eisna.spectrum import Spectrum
from eisna.temperature import ArrheniusFit, arrhenius, temperature_from_text
from eisna.units import format_time, time_unit

# --- temperatures in names, and σ(25 °C) beyond the data ---------------------------------------


@pytest.mark.parametrize(
    ("text", "kelvin"),
    [
        ("s04147-140deg", 413.15),
        ("s04147_ex-situ_EIS-160deg", 433.15),
        ("pellet_25degrees", 298.15),
        ("pellet_25degC", 298.15),
        ("pellet_105C", 378.15),
    ],
)
def test_temperature_from_names_with_deg(text, kelvin):
    assert temperature_from_text(text) == pytest.approx(kelvin)
    assert novocontrol.temperature_from_text(text, file_name=True) == pytest.approx(kelvin)


def test_a_unit_of_a_column_name_is_not_a_temperature():
    assert temperature_from_text("Phase(Z)/deg") is None
    assert novocontrol.temperature_from_text("Phase(Z)/deg", file_name=True) is None


def _novocontrol_text(r_ohm: float) -> str:
    """A Novocontrol export (the layout of a real one) of an R‖C arc, 1 MHz - 1 Hz."""
    freq = np.geomspace(1e6, 1.0, 25)
    z = r_ohm / (1 + 2j * np.pi * freq * r_ohm * 1e-11)
    rows = "".join(f" {f:.5e}\t {v.real:.5e}\t{v.imag:.5e}\n" for f, v in zip(freq, z, strict=True))
    return (
        "s00001-150deg\nFixed value(s) :  AC Volt  [Vrms]=3.5000e-02  \n"
        "   Freq.[Hz]   \tZs'[ohm]  \tZs''[ohm]\n" + rows
    )


def test_novocontrol_file_named_deg_carries_its_temperature(tmp_path):
    path = tmp_path / "s00001-150deg.txt"
    path.write_text(_novocontrol_text(1e6), encoding="latin-1")
    spectrum = eisna.read(path)[0]
    assert spectrum.meta["temperature_K"] == pytest.approx(423.15)
    assert spectrum.meta["temperature_from"] == "file name"


def _line(T_K) -> ArrheniusFit:
    T = np.asarray(T_K, dtype=float)
    sigma = 1e3 * np.exp(-0.5 / (8.617333262e-5 * T)) / T
    return arrhenius(
        [{"params": {"R_b": 0.1 / s}, "stderr": {}, "success": True} for s in sigma],
        0.1,
        1.0,
        temperatures_K=list(T),
    )["bulk"]


def test_sigma_25C_is_marked_as_an_extrapolation_outside_the_measured_range():
    hot = _line([413.15, 433.15, 453.15, 473.15])
    assert hot.sigma_25C_extrapolated
    assert hot.sigma_25C_text().endswith("(extrapolated from 140–200 °C)")
    assert hot.to_dict()["sigma_25C_extrapolated"] is True
    around = _line([283.15, 298.15, 313.15])
    assert not around.sigma_25C_extrapolated
    assert "extrapolated" not in around.sigma_25C_text()


def test_arrhenius_command_finds_deg_temperatures_and_says_extrapolated(tmp_path, capsys):
    from eisna.cli import main

    files = []
    for celsius, r in ((140, 2e6), (170, 5e5), (200, 1.2e5)):
        path = tmp_path / f"s00001-{celsius}deg.txt"
        path.write_text(_novocontrol_text(r), encoding="latin-1")
        files.append(str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["arrhenius", *files, "--thickness-cm", "0.1", "--area-cm2", "1.0"])
    out = capsys.readouterr().out
    assert code == 0
    assert "140.00 °C" in out and "200.00 °C" in out
    assert "(extrapolated from 140–200 °C)" in out
    # each temperature's line carries its fit's flags, as the report does
    lines = [line for line in out.splitlines() if "°C  " in line]
    assert len(lines) == 3
    for path, line in zip(files, lines, strict=True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flags = eisna.fit(eisna.read(path)[0], "pellet_blocking").flags
        assert (f"[flags: {', '.join(map(str, flags))}]" in line) if flags else ("[flags:" not in line)


# --- a rank axis is no clock --------------------------------------------------------------------


def test_format_time_says_rank_without_a_clock():
    assert time_unit("timestamp") == "h" and time_unit(None) == "h"
    assert time_unit("file order") == "rank"
    assert format_time(0.4037, "elapsed") == "0.40 h"
    assert format_time(0.4037, "file order") == "rank 0.40 (file order, no times)"


def test_report_cards_and_tracks_table_give_ranks_for_a_cell_without_times():
    from eisna.report.render import _cards, _kinetics_summary
    from eisna.report.tracks import tracks_table

    kinetics = {
        "model": "linear",
        "onset_h": 0.4,
        "onset_stderr_h": 0.1,
        "t95_h": 5.1,
        "time_basis": "file order",
    }
    cards = dict(_cards([], np.arange(7.0), kinetics, []))
    assert cards["time span"] == "7 spectra, no times"
    assert cards["onset"].endswith("rank") and cards["t95"].endswith("rank")
    summary = {str(k): v for k, v in _kinetics_summary(kinetics)}
    assert any(str(v).endswith("rank") for k, v in summary.items() if "onset" in k)
    clock = dict(_cards([], np.arange(7.0), {**kinetics, "time_basis": "timestamp"}, []))
    assert clock["time span"] == "6.0 h" and clock["onset"].endswith(" h")

    track = {"cell": "a", "quantity": "R_ct", "model": "linear", "onset_h": 0.403, "t95_h": 5.0}
    _, rows = tracks_table([track, {**track, "cell": "b"}], {"a": "file order", "b": "timestamp"})
    assert rows[0][3] == "0.403 (rank)" and rows[0][4] == "5 (rank)"
    assert rows[1][3] == "0.403" and rows[1][4] == "5"


def test_batch_summary_line_gives_ranks_for_a_cell_without_times():
    from types import SimpleNamespace

    from eisna.cli.batch import _tracks_line

    track = SimpleNamespace(
        cell=None,
        quantity="R_ct",
        unit="Ω",
        model="linear",
        first=10.0,
        final=20.0,
        change_pct=100.0,
        sparse=False,
        identified=True,
        kinetics=SimpleNamespace(onset_h=0.4),
    )
    assert "linear from rank 0.4 (file order, no times)" in _tracks_line([track], {}, "file order")
    assert "linear from 0.4 h" in _tracks_line([track], {}, "timestamp")


# --- a Warburg above the window is no diffusion ---------------------------------------------------

# 100 kHz - 100 Hz, 10 points per decade: the window of the RDE series that showed it
WINDOW = np.geomspace(1e5, 100.0, 31)
TRUTH = {"L": 1e-7, "R_b": 2.8, "R_ct": 1000.0, "Q_ct": 1.7e-5, "n_ct": 0.88, "R_W": 1e-3, "tau_W": 1.0}


def _spectrum(r_b: float = 2.8, seed: int = 0) -> Spectrum:
    simple = load_circuit("symmetric_simple")
    z = simple.circuit.impedance(WINDOW, {**TRUTH, "R_b": r_b})
    rng = np.random.default_rng(seed)
    z = z * (1 + 2e-3 * (rng.normal(size=z.size) + 1j * rng.normal(size=z.size)))
    return Spectrum(WINDOW, z, meta={"source": f"synthetic-{seed}"})


def test_diffusion_apex_and_the_above_window_test():
    simple = load_circuit("symmetric_simple")
    names = simple.param_names
    values = np.array([{**TRUTH, "R_W": 2.8, "tau_W": 7e-7}[n] for n in names])
    sym, f_apex = diffusion_apexes(simple, values)["R_W"]
    assert sym == "Ws"
    assert f_apex == pytest.approx(np.pi**2 / 4 / (2 * np.pi * 7e-7))  # 561 kHz
    (text,) = diffusion_above_window(simple, values, 1e5)
    assert "R_W" in text and "5.61e+05 Hz" in text and "series resistance" in text
    values[names.index("tau_W")] = 1.0  # apex at 0.4 Hz: below the window, left alone
    assert diffusion_above_window(simple, values, 1e5) == []


def test_fit_with_the_warburg_above_the_window_is_flagged_role_mismatch():
    spectrum = _spectrum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stand_in = eisna.fit(spectrum, "symmetric_simple", fixed={"tau_W": 7e-7})
        normal = eisna.fit(spectrum, "symmetric_simple", fixed={"tau_W": 1.0})
    assert "role_mismatch" in stand_in.flags
    assert any("relaxes at" in w and "R_W" in w for w in stand_in.warnings)
    # the ohmic intercept is shared between R_b and the stand-in: their sum is the data's
    assert stand_in.params["R_b"] + stand_in.params["R_W"] == pytest.approx(2.8, rel=0.05)
    assert "role_mismatch" not in normal.flags
    assert not any("relaxes at" in w for w in normal.warnings)


def test_fit_command_says_which_diffusion_element_is_out_of_place(tmp_path, capsys):
    from eisna.cli.fit import physics_table

    spectrum = _spectrum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = eisna.fit(spectrum, "symmetric_simple", fixed={"tau_W": 7e-7})
    text = "\n".join(physics_table(result, "synthetic"))
    assert "role_mismatch" in text
    assert "diffusion element Ws (R_W) relaxes at" in text


def test_series_leaves_a_stand_in_warburg_to_the_total(tmp_path):
    spectra = [_spectrum(2.8 + 0.1 * k, seed=k) for k in range(4)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = eisna.fit_series(spectra, "symmetric_simple", fixed={"tau_W": 7e-7}, progress=False)
    quantities = {t.quantity: t for t in series.tracks}
    assert "R_W" not in quantities
    assert "R_W apex outside the measured window in 100 % of spectra" in quantities["R_dc_ohm"].note


# --- the DRT's ohmic intercept when γ carries it above the window ---------------------------------


def test_drt_resistance_above_the_window_restores_the_high_frequency_intercept():
    # 2.8 Ω of electrolyte with a small fast arc above the 100 kHz edge, then a large slow arc:
    # the DRT's grid beyond f_max takes the intercept into γ
    freq = np.geomspace(1e5, 100.0, 31)
    s = 2j * np.pi * freq
    z = 2.5 + 0.4 / (1 + s * 0.4 * 1e-7) + 1000.0 / (1 + s * 1000.0 * 1.7e-5)
    res = eisna.drt(Spectrum(freq, z, meta={"source": "synthetic"}), n_boot=0)
    intercept = float(z.real.min())
    assert res.R_above_window > 0.0
    assert res.R_inf + res.R_above_window == pytest.approx(intercept, rel=0.1)
    # no fast process: nothing above the window to speak of
    slow = eisna.drt(Spectrum(freq, 2.8 + 1000.0 / (1 + s * 1000.0 * 1.7e-5), meta={"source": "s"}), n_boot=0)
    assert slow.R_above_window < 0.1 * 2.8 or slow.R_inf > slow.R_above_window


def test_plots_of_a_cell_without_times_label_the_axis_as_ranks():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from eisna import plotting
    from eisna.report.tracks import tracks_figure

    spectra = [_spectrum(2.8 + 0.1 * k, seed=k) for k in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = eisna.fit_series(spectra, "symmetric_simple", progress=False)
    assert series.time_basis == "file order"
    axes = plotting.plot_trajectories(series)
    assert axes[2].get_xlabel() == "spectrum rank (file order, no times)"
    ax = plotting.plot_nyquist_series(series)
    assert ax.figure.axes[-1].get_ylabel() == "spectrum rank (file order, no times)"  # the colorbar
    plt.close("all")

    track = {
        "cell": "a",
        "quantity": "R_ct",
        "unit": "Ω",
        "model": "none",
        "t_h": [0, 1, 2],
        "values": [1, 2, 3],
    }
    figs = []
    for basis in ("file order", "timestamp"):
        out = tracks_figure([track], lambda fig: fig, lambda w, h: plt.figure(figsize=(w, h)), {"a": basis})
        figs.append(out[2].axes[0].get_xlabel())
    assert figs == ["spectrum rank (file order, no times)", "t / h"]
    plt.close("all")
    # a folder path as the cell label is cut in its middle, so two panels' titles do not overlap
    cell = "/data/lab/2026/cells/NaSn_SE_NaSn_cell07 [blocking electrodes]"
    out = tracks_figure([{**track, "cell": cell}], lambda fig: fig, lambda w, h: plt.figure(figsize=(w, h)))
    title = out[2].axes[0].get_title()
    assert title == "R_ct […/NaSn_…cell07 [blocking electrodes]]: none"
    short = tracks_figure([{**track, "cell": "/data/x/cell07"}], lambda f: f, lambda w, h: plt.figure())
    assert short[2].axes[0].get_title() == "R_ct [/data/x/cell07]: none"  # short labels stay whole
    plt.close("all")
