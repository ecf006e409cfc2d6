"""The automatic circuit choice recognises blocking-electrode pellets (eisna.series.choice)."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pytest

import eisna
from eisna.circuit import load_circuit, parse_circuit
from eisna.fitting.synthetic import FREQ_CELL, FREQ_PELLET, noisy_spectrum
from eisna.series import fit_series
from eisna.series.choice import BLOCKING_CIRCUIT, blocking_tail
from eisna.spectrum import Spectrum

SAMPLES = Path(__file__).resolve().parents[1] / "sample_spectra"

# a Na3PS4-like pellet between blocking electrodes: bulk arc ~1 MHz, grain boundary ~10 kHz,
# electrode spike below ~100 Hz (C_el a few µF); the values of sample_spectra/pellet at 25 °C
PELLET = {
    "L": 2e-7,
    "R_b": 413.8,
    "C_b": 1.07e-11,
    "R_gb": 248.0,
    "Q_gb": 3.85e-8,
    "n_gb": 0.8,
    "Q_el": 3.88e-6,
    "n_el": 0.9,
}


def _pellet(noise: float = 0.0, seed: int = 1, **changes: float) -> Spectrum:
    values = {**PELLET, **changes}
    return noisy_spectrum(
        load_circuit("pellet_blocking"), values, FREQ_PELLET, noise, np.random.default_rng(seed)
    )


def _spectrum(text: str, values: tuple[float, ...], freq: np.ndarray, noise: float = 0.0) -> Spectrum:
    circuit = parse_circuit(text)
    z = circuit.impedance(freq, dict(zip(circuit.param_names, values, strict=True)))
    rng = np.random.default_rng(3)
    z = z + noise * np.abs(z) * (rng.normal(size=z.size) + 1j * rng.normal(size=z.size))
    return Spectrum(freq, z, meta={"source": f"synthetic:{text}"})


def _interlayer_cell() -> Spectrum:
    """A symmetric Na-Sn | SE | Na-Sn cell with an interlayer: four arcs and a finite Warburg."""
    defn = load_circuit("symmetric_interlayer")
    values = {
        "L": 2e-7,
        "R_b": 40.0,
        "C_b": 1e-11,
        "R_gb": 20.0,
        "Q_gb": 2e-8,
        "n_gb": 0.85,
        "R_int": 150.0,
        "Q_int": 2e-6,
        "n_int": 0.85,
        "R_ct": 40.0,
        "Q_ct": 5e-5,
        "n_ct": 0.9,
        "R_W": 15.0,
        "tau_W": 3.0,
    }
    return noisy_spectrum(defn, values, FREQ_CELL, 0.002, np.random.default_rng(7))


# --- the detector --------------------------------------------------------------------------


def test_blocking_pellet_is_recognised_from_its_tail():
    tail = blocking_tail(_pellet())
    assert tail.blocking, tail.reason
    assert tail.phase_deg < -75  # n_el = 0.9: -81 deg
    assert tail.slope == pytest.approx(-0.9, abs=0.05)
    assert 1e-6 < tail.c_tail_F < 1e-4
    assert "blocking-electrode tail" in tail.reason


def test_noisy_blocking_pellet_with_outliers_is_still_recognised():
    spectrum = _pellet(noise=0.01, seed=11)
    assert blocking_tail(spectrum).blocking
    z = np.array(spectrum.z)
    low = np.argsort(spectrum.freq)[:12]
    z[low[2]] = z[low[2]].real * 3 - 0.1j * z[low[2]].imag  # two wild points in the tail
    z[low[7]] = z[low[7]].real + 0.05j * abs(z[low[7]])
    spoiled = Spectrum(spectrum.freq, z, meta=dict(spectrum.meta))
    assert blocking_tail(spoiled).blocking, blocking_tail(spoiled).reason


def test_symmetric_interlayer_cell_is_not_blocking():
    tail = blocking_tail(_interlayer_cell())
    assert not tail.blocking
    assert "not a blocking tail" in tail.reason


def test_warburg_45_degree_tail_is_not_blocking():
    # electrolyte, an arc, then a semi-infinite Warburg: -Z'' and Z' rise together at 45°
    spectrum = _spectrum("R0-p(R1,CPE1)-W1", (50.0, 100.0, 1e-6, 0.9, 200.0), np.geomspace(1e6, 0.01, 71))
    tail = blocking_tail(spectrum)
    assert not tail.blocking
    assert -50 < tail.phase_deg < -30  # the 45° line, less the series resistance
    assert tail.re_over_im == pytest.approx(1.0, abs=0.05)  # Z' rises as much as -Z''
    assert "phase above" in tail.reason


def test_tail_bending_back_to_the_real_axis_is_not_blocking():
    # a pellet spike that turns into a charge-transfer arc at the lowest frequencies
    spectrum = _spectrum(
        "R0-p(R1,CPE1)-p(R2,CPE2)", (400.0, 250.0, 3.85e-8, 0.8, 2e4, 4e-6, 0.9), FREQ_PELLET / 10.0, 0.005
    )
    tail = blocking_tail(spectrum)
    assert not tail.blocking
    assert "bends back" in tail.reason or "phase above" in tail.reason


def test_intercalation_electrode_tail_is_not_blocking():
    # finite-space diffusion into a battery electrode: capacitive too, but with a farad-size
    # chemical capacitance, not a double layer
    spectrum = _spectrum("R0-p(R1,CPE1)-Wo1", (0.02, 0.01, 0.5, 0.9, 0.06, 5.0), np.geomspace(1e4, 1e-3, 71))
    tail = blocking_tail(spectrum)
    assert not tail.blocking
    assert "capacitance above" in tail.reason


def test_narrow_window_is_never_blocking():
    spectrum = _pellet()
    keep = spectrum.freq < 5.0
    assert not blocking_tail(Spectrum(spectrum.freq[keep], spectrum.z[keep])).blocking


# --- the series: chosen, fitted and reported -------------------------------------------------


def _fit_auto(spectra):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_series(spectra, "auto")


def test_auto_fits_a_blocking_pellet_with_pellet_blocking_and_finds_the_truth():
    series = _fit_auto([_pellet(noise=0.002, seed=5)])
    assert series.circuit == BLOCKING_CIRCUIT
    res = series.results[0]
    assert res.circuit_name == BLOCKING_CIRCUIT
    assert res.params["R_b"] == pytest.approx(PELLET["R_b"], rel=0.03)
    assert res.params["R_gb"] == pytest.approx(PELLET["R_gb"], rel=0.05)
    row = series.to_frame().iloc[0]
    assert row["model"] == BLOCKING_CIRCUIT
    assert "automatic choice pellet_blocking: blocking-electrode tail" in row["model_note"]
    assert series.kinetics_summary()["n_auto_blocking"] == 1


def test_auto_fits_a_noisy_blocking_pellet_with_pellet_blocking():
    series = _fit_auto([_pellet(noise=0.01, seed=9)])
    res = series.results[0]
    assert res.circuit_name == BLOCKING_CIRCUIT
    assert res.params["R_b"] + res.params["R_gb"] == pytest.approx(PELLET["R_b"] + PELLET["R_gb"], rel=0.05)


def test_auto_mixed_series_fits_each_spectrum_with_its_own_circuit():
    pellet, cell = _pellet(noise=0.002, seed=5), _interlayer_cell()
    series = _fit_auto([pellet, _pellet(noise=0.002, seed=6, R_b=380.0), cell])
    assert series.circuit == "symmetric_interlayer"
    models = [r.circuit_name for r in series.results]
    assert models[:2] == [BLOCKING_CIRCUIT, BLOCKING_CIRCUIT]
    assert models[2].startswith("symmetric_")
    frame = series.to_frame()
    assert "blocking" not in str(frame.iloc[2]["model_note"])
    assert series.results[1].params["R_b"] == pytest.approx(380.0, rel=0.03)
    assert series.results[2].params["R_b"] + series.results[2].params["R_gb"] == pytest.approx(60.0, rel=0.1)


def test_auto_leaves_a_warburg_tail_to_the_symmetric_cell_circuits():
    spectrum = _spectrum(
        "R0-p(R1,CPE1)-W1", (50.0, 100.0, 1e-6, 0.9, 200.0), np.geomspace(1e6, 0.01, 71), 0.002
    )
    series = _fit_auto([spectrum])
    assert series.circuit == "symmetric_interlayer"
    assert series.results[0].circuit_name.startswith("symmetric_")
    assert "automatic choice" not in str(series.to_frame().iloc[0]["model_note"])
    assert "n_auto_blocking" not in series.kinetics_summary()


def test_an_explicit_circuit_is_kept():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = fit_series([_pellet(noise=0.002, seed=5)], "symmetric_cell")
    assert series.results[0].circuit_name != BLOCKING_CIRCUIT


def test_batch_command_without_circuit_chooses_pellet_blocking(tmp_path, capsys):
    from eisna.cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["batch", str(SAMPLES / "pellet"), "--out", str(tmp_path / "out"), "--no-report"])
    out = capsys.readouterr().out
    assert code == 0
    assert "fitted with pellet_blocking" in out
    assert "automatic circuit: 5 spectra end in a blocking-electrode spike" in out
    with open(tmp_path / "out" / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["model"] for r in rows] == [BLOCKING_CIRCUIT] * 5
    assert all(r["model_note"].startswith("automatic choice pellet_blocking") for r in rows)
    # truth of sample_spectra/pellet at 25 °C
    assert float(rows[0]["R_b"]) == pytest.approx(413.8, rel=0.02)
    assert float(rows[0]["R_gb"]) == pytest.approx(248.0, rel=0.03)
    # blocking electrodes have no DC path: no R_dc (was Re Z of the spike at 1 µHz, ~2 GΩ)
    assert all(r["R_dc_ohm"] == "" for r in rows)
    with open(tmp_path / "out" / "tracks.csv", newline="") as fh:
        tracked = [r["quantity"] for r in csv.DictReader(fh)]
    assert "R_dc_ohm" not in tracked


def test_sample_symmetric_cells_keep_their_automatic_choice():
    for name in ("nas_looped.mpt", "nps_looped.mpt"):
        for spectrum in eisna.read(SAMPLES / name):
            assert not blocking_tail(spectrum).blocking


# --- real files -------------------------------------------------------------------------------


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("parts", "why"),
    [
        (("biologic-mpt", "mb.mpt"), "Li | LLZO | Li symmetric cell: the tail bends to the real axis"),
        (("other-formats", "nrel-osif", "test_EIS_data_Z1.xlsx"), "capacitive tail of farads"),
        (("other-formats", "zahner", "li-ion-battery.ism"), "a Li-ion battery: diffusion tail"),
    ],
)
def test_real_non_blocking_files_keep_the_default_circuit(corpus, parts, why):
    path = corpus.joinpath(*parts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spectra = eisna.read(path)
    verdicts = [blocking_tail(s) for s in spectra]
    assert verdicts, why
    assert not any(v.blocking for v in verdicts), [v.reason for v in verdicts]


def test_report_says_how_many_spectra_the_automatic_choice_fitted_as_pellets():
    from eisna.report.render import _tracks_html

    html = str(_tracks_html([], {"n_auto_blocking": 5, "reported_circuits": {BLOCKING_CIRCUIT: 5}}))
    assert "Automatic circuit choice: 5 spectra end in the capacitive spike" in html
    assert "Automatic circuit choice" not in str(
        _tracks_html([], {"reported_circuits": {BLOCKING_CIRCUIT: 5}})
    )


def test_the_fit_window_is_the_window_judged():
    spectrum = _pellet()
    assert blocking_tail(spectrum).blocking
    # with fmin above the spike the lowest decade is the grain-boundary arc's low-frequency side
    assert not blocking_tail(spectrum, fmin=300.0).blocking
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = fit_series([spectrum], "auto", fmin=300.0)
    assert series.results[0].circuit_name != BLOCKING_CIRCUIT


def test_one_file_is_one_sample_never_split_by_the_automatic_choice():
    """A cell's interfacial arc that grows out of the window ends in a capacitive tail too: the
    spectra of one file are called blocking only all together, so such a file stays one cell
    fitted with one circuit; the same spectra from two files are two samples."""
    from eisna.errors import MixedSampleWarning
    from eisna.series.choice import file_verdicts

    pellet, cell = _pellet(noise=0.002, seed=5), _interlayer_cell()
    one_file = [cell.with_meta(source="cell.mpt", index=0), pellet.with_meta(source="cell.mpt", index=1)]
    with pytest.warns(MixedSampleWarning, match=r"cell\.mpt: 1 of 2 spectra end in a capacitive.*one sample"):
        verdicts, held = file_verdicts(one_file)
    assert verdicts == [False, False] and held == frozenset({"cell.mpt"})
    series = _fit_auto(one_file)
    assert series.circuit == "symmetric_interlayer"
    assert all(r.circuit_name != BLOCKING_CIRCUIT for r in series.results)
    assert not series.sample_splits
    assert "n_auto_blocking" not in series.kinetics_summary()
    # from two files: the pellet is called blocking (and the cell split off, mixedseries)
    two_files = [one_file[0], pellet.with_meta(source="pellet.mpt", index=0)]
    assert file_verdicts(two_files) == ([False, True], frozenset())
    series = _fit_auto(two_files)
    assert [r.circuit_name for r in series.results].count(BLOCKING_CIRCUIT) == 1
    assert len(series.sample_splits) == 1
