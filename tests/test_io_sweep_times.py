"""The acquisition times within a sweep (``meta["sweep_duration_s"]``, ``meta["point_time_s"]``)."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

import eisna
from eisna.io._sweep import sweep_times
from eisna.spectrum import Spectrum, time_at_frequency

from .conftest import SAMPLES, corpus_file


def _mpt_columns(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """freq/Hz and time/s of every data row of an EC-Lab text export, parsed here on its own."""
    lines = path.read_bytes().decode("cp1252").splitlines()
    n_header = next(int(x.split(":")[1]) for x in lines[:5] if x.startswith("Nb header lines"))
    names = [c.strip() for c in lines[n_header - 1].split("\t")]
    rows = [ln.split("\t") for ln in lines[n_header:] if ln.strip()]
    col = {name: j for j, name in enumerate(names)}

    def number(cell: str) -> float:
        return float(cell.replace(",", "."))

    return (
        np.array([number(r[col["freq/Hz"]]) for r in rows]),
        np.array([number(r[col["time/s"]]) for r in rows]),
    )


def test_sweep_times_of_rows():
    t = np.array([100.0, 101.5, 104.0, 110.0, np.nan])
    out = sweep_times(t, np.array([1, 2, 3]))
    assert out["sweep_duration_s"] == pytest.approx(8.5)
    assert out["point_time_s"] == pytest.approx((0.0, 2.5, 8.5))
    assert sweep_times(None) == {}
    assert sweep_times(t, np.array([2, 4])) == {}  # last point without a time: no known span
    assert sweep_times(np.zeros(5)) == {}  # placeholder zeros: no sweep at all


def test_time_at_frequency_interpolates_in_log_f():
    freq = np.array([1e4, 1e3, 1e2, 10.0])
    times = np.array([0.0, 1.0, 3.0, 30.0])
    assert time_at_frequency(freq, times, np.sqrt(1e3 * 1e2)) == pytest.approx(2.0)  # half a decade
    assert time_at_frequency(freq, times, 1e3) == pytest.approx(1.0)
    assert time_at_frequency(freq, times, 1e6) == pytest.approx(0.0)  # above the sweep: its start
    assert time_at_frequency(freq, times, 0.1) == pytest.approx(30.0)  # below: its end
    assert time_at_frequency(freq, np.full(4, np.nan), 1e3) is None


def test_spectrum_keeps_point_times_through_select_and_pickle():
    freq = np.geomspace(1e5, 1.0, 6)
    times = (0.0, 0.5, 1.0, 2.0, 6.0, 30.0)
    s = Spectrum(freq, np.ones(6) * (10 - 1j), meta={"sweep_duration_s": 30.0, "point_time_s": times})
    assert s.measured_after_s(float(freq[3])) == pytest.approx(2.0)
    low = s.select(fmax=float(freq[2]))
    assert low.meta["point_time_s"] == pytest.approx(times[2:])
    assert low.measured_after_s(float(freq[4])) == pytest.approx(6.0)
    assert low.meta["sweep_duration_s"] == 30.0  # the span of the acquisition, not of the selection
    back = pickle.loads(pickle.dumps(s))
    assert back.meta["point_time_s"] == pytest.approx(times)
    assert Spectrum(freq, np.ones(6)).measured_after_s(10.0) is None


def test_looped_sample_sweeps_span_their_time_column():
    path = SAMPLES / "nas_looped.mpt"
    freq, time_s = _mpt_columns(path)
    spectra = eisna.read(path)
    n = freq.size // len(spectra)
    for k, s in enumerate(spectra):
        rows = slice(k * n, (k + 1) * n)
        assert s.meta["sweep_duration_s"] == pytest.approx(time_s[rows][-1] - time_s[rows][0], abs=1e-9)
        assert np.allclose(np.array(s.meta["point_time_s"]) + s.elapsed_s, time_s[rows], atol=1e-9)


@pytest.mark.parametrize("name", ["peis.mpt", "geis.mpt", "vsp_peis_with.mpt", "exampleDataBioLogic.mpt"])
def test_corpus_sweep_duration_is_last_minus_first_time(corpus, name):
    path = corpus_file("biologic-mpt", name)
    if not path.exists():
        pytest.skip(f"{path} not in the corpus")
    freq, time_s = _mpt_columns(path)
    spectra = eisna.read(path)
    assert spectra
    for s in spectra:
        first = np.flatnonzero(np.isclose(time_s, s.elapsed_s, rtol=0, atol=1e-6))
        assert first.size == 1, "the first point's time/s is one row of the file"
        j0 = int(first[0])
        j1 = j0 + len(s) - 1 + int(s.meta.get("n_dropped") or 0)
        # the spectrum's last point is the row its duration points at, with its frequency
        last = np.flatnonzero(np.isclose(time_s, s.elapsed_s + s.meta["sweep_duration_s"], rtol=0, atol=1e-6))
        assert last.size >= 1 and int(last[0]) <= j1
        assert freq[j0] == pytest.approx(s.freq[0])
        assert freq[int(last[0])] == pytest.approx(s.freq[-1])
        assert s.meta["sweep_duration_s"] == pytest.approx(time_s[int(last[0])] - time_s[j0], abs=1e-6)


@pytest.mark.parametrize("stem", ["peis", "geis", "vsp_peis_with"])
def test_corpus_mpr_and_mpt_twins_agree_on_the_sweep(corpus, stem):
    mpt, mpr = corpus_file("biologic-mpt", f"{stem}.mpt"), corpus_file("biologic-mpr", f"{stem}.mpr")
    if not (mpt.exists() and mpr.exists()):
        pytest.skip(f"{stem}.mpt/.mpr twins not both in the corpus")
    text, binary = eisna.read(mpt), eisna.read(mpr)
    assert len(text) == len(binary)
    for a, b in zip(text, binary, strict=True):
        assert b.meta["sweep_duration_s"] == pytest.approx(a.meta["sweep_duration_s"], abs=1e-3)
        assert len(b.meta["point_time_s"]) == len(b)


def test_table_with_a_time_column_keeps_the_sweep(tmp_path):
    path = tmp_path / "eis.csv"
    path.write_text(
        "Frequency (Hz),Z' (Ohm),-Z'' (Ohm),Time (min)\n1000,10,1,0\n100,12,3,0.5\n10,20,8,2\n1,30,2,12\n",
        encoding="utf-8",
    )
    (s,) = eisna.read(path)
    assert s.meta["sweep_duration_s"] == pytest.approx(720.0)  # minutes read as such
    assert s.meta["point_time_s"] == pytest.approx((0.0, 30.0, 120.0, 720.0))
    assert s.measured_after_s(10.0) == pytest.approx(120.0)


def test_table_without_times_has_no_sweep(tmp_path):
    path = tmp_path / "eis.csv"
    path.write_text("Frequency (Hz),Z' (Ohm),-Z'' (Ohm)\n1000,10,1\n100,12,3\n10,20,8\n", encoding="utf-8")
    (s,) = eisna.read(path)
    assert "sweep_duration_s" not in s.meta and "point_time_s" not in s.meta
    assert s.measured_after_s(100.0) is None


@pytest.mark.parametrize(
    "relative",
    [
        "zahner/drift.ism",
        "gamry-parser/eispot_data.dta",
        "impedancepy/exampleDataGamry.DTA",
        "impedancepy/exampleDataVersaStudio.par",
        "impedancepy/exampleDataParstat.txt",
        "nrel-osif/example_EIS_data.txt",
        "impedancepy/Circuit1_EIS_1.z",
        "impedancepy/exampleDataZPlot.z",
    ],
)
def test_other_formats_keep_their_point_times(corpus, relative):
    path = corpus_file("other-formats", relative)
    if not path.exists():
        pytest.skip(f"{path} not in the corpus")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # placeholder areas and the like: not what is tested here
        spectra = eisna.read(path)
    for s in spectra:
        times = np.asarray(s.meta["point_time_s"])
        assert times.size == len(s) and times[0] == 0.0
        assert np.all(np.diff(times) >= 0), "a sweep's clock runs forward"
        assert s.meta["sweep_duration_s"] == pytest.approx(times[-1]) and times[-1] > 0
    if path.suffix == ".z":  # ZPlot: the Time(Sec) column, read here from the text
        lines = path.read_text(encoding="latin-1").splitlines()
        head = next(i for i, ln in enumerate(lines) if "Time(Sec)" in ln)
        column = lines[head].split().index("Time(Sec)")
        rows = [ln.split() for ln in lines[head + 1 :]]
        values = [float(r[column]) for r in rows if len(r) > column and r[0][0].isdigit()]
        assert spectra[0].elapsed_s == pytest.approx(values[0])
        assert spectra[0].meta["sweep_duration_s"] == pytest.approx(values[-1] - values[0])


@pytest.mark.parametrize(
    "relative", ["impedancepy/exampleDataAutolab.txt", "pyimpspec/data.P00", "pyimpspec/data.mpt"]
)
def test_time_columns_of_zeros_give_no_sweep(corpus, relative):
    path = corpus_file("other-formats", relative)
    if not path.exists():
        pytest.skip(f"{path} not in the corpus")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (s,) = eisna.read(path)
    assert "sweep_duration_s" not in s.meta
    assert s.measured_after_s(float(s.freq[0])) is None
