"""Zahner ``.ism`` reader on every corpus file (values from a hex dump of the files)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

import eisna
from eisna.errors import ParseError
from eisna.io import zahner
from eisna.io._registry import find_reader

SERIES = ["000", "025", "050", "075", "100", "125", "150", "175", "200", "225", "250", "275", "300"]
# the "voltage" string of each file ("0.0255V, Ampl: 10mV" ...), V
SERIES_VDC = [
    0.0255,
    0.0505,
    0.0755,
    0.1005,
    0.1250,
    0.1500,
    0.1750,
    0.2000,
    0.2250,
    0.2500,
    0.2750,
    0.3000,
    0.3250,
]


def test_voltage_series(corpus):
    spectra = [eisna.read(corpus / f"other-formats/zahner/{mv}_mvdc.ism")[0] for mv in SERIES]
    assert [s.meta["dc_potential_V"] for s in spectra] == pytest.approx(SERIES_VDC)
    assert all(len(s) == 38 for s in spectra)
    times = [s.timestamp for s in spectra]
    assert times == sorted(times)
    assert times[0] == datetime(2021, 10, 15, 7, 14, 33, 299500)
    assert times[-1] == datetime(2021, 10, 15, 7, 26, 59, 207500)
    first = spectra[0]
    assert first.freq[0] == 100.0 and first.freq[-1] == 500000.0
    # |Z| = 8636.949499198408 Ω, phase = -0.018554562288285732 rad at 100 Hz
    assert abs(first.z[0]) == pytest.approx(8636.949499198408)
    assert np.angle(first.z[0]) == pytest.approx(-0.018554562288285732)
    assert first.meta["I_A"] == pytest.approx(-1.825e-9)
    assert first.meta["amplitude"] == "10mV"
    assert first.meta["technique"] == "PEIS"
    assert first.meta["header"]["time_window"] == "07:14:31 - 07:15:31"
    assert first.meta["n_dropped"] == 0 and first.meta["instrument"] == "Zahner Thales"
    assert spectra[-1].meta["I_A"] == pytest.approx(0.1535)


def test_overlapping_upward_leg(corpus):
    path = corpus / "other-formats/zahner/rc-data.ism"
    assert find_reader(path).NAME == "zahner-ism"
    s = eisna.read(path)[0]
    # 75 points: 1049.3 Hz up to 100 kHz (20 points), then 100 kHz down to 0.2 Hz (55 points)
    assert len(s) == 55 and s.meta["n_overlap"] == 20 and s.meta["n_dropped"] == 20
    assert s.freq[0] == 100000.0 and s.freq[-1] == pytest.approx(0.2)
    assert s.elapsed_s == pytest.approx(31.8685, abs=1e-3)
    assert s.meta["dc_potential_V"] == pytest.approx(0.9995)
    assert s.meta["I_A"] == pytest.approx(10.006e-9)
    assert s.meta["temperature_K"] == pytest.approx(23.8 + 273.15)
    assert s.meta["system"] == "RC HIZ"
    assert s.meta["comments"] == ("First Line", "2", "3", "Last Line")
    full = zahner.read(path, keep_overlap=True)[0]
    assert len(full) == 75 and full.freq[0] == pytest.approx(1049.3)
    assert full.meta["n_overlap"] == 0 and full.elapsed_s == 0.0


@pytest.mark.parametrize(
    ("name", "n", "f0", "f1", "technique"),
    [
        ("500uR_measurement_pro.ism", 160, 1e6, 1.0, "GEIS"),
        ("short_circuit_measurement_pro.ism", 212, 1e6, 1.0, "GEIS"),
        ("ZHIT.ism", 40, 0.1, 5e4, "PEIS"),
        ("drift.ism", 47, 5e4, 0.1, "PEIS"),
        ("li-ion-battery.ism", 128, 5e-4, 5e3, "PEIS"),
    ],
)
def test_other_files(corpus, name, n, f0, f1, technique):
    s = eisna.read(corpus / "other-formats/zahner" / name)[0]
    assert len(s) == n
    assert s.freq[0] == pytest.approx(f0) and s.freq[-1] == pytest.approx(f1)
    assert s.meta["technique"] == technique


def test_simulated_files_have_no_time_or_temperature(corpus):
    s = eisna.read(corpus / "other-formats/zahner/li-ion-battery.ism")[0]
    assert s.timestamp is None and s.elapsed_s is None  # point times are all zero
    assert s.meta["temperature_K"] is None  # "RT"
    z = eisna.read(corpus / "other-formats/zahner/ZHIT.ism")[0]
    assert z.meta["temperature_K"] is None  # "-273.15+-0.0C"
    assert z.meta["system"] == "Simulation"
    d = eisna.read(corpus / "other-formats/zahner/drift.ism")[0]
    assert d.timestamp == datetime(2023, 3, 17, 16, 17, 5, 934000)
    assert abs(d.z[0]) == pytest.approx(41.27260050510183)


def test_truncated(tmp_path, corpus):
    data = (corpus / "other-formats/zahner/drift.ism").read_bytes()
    cut = tmp_path / "cut.ism"
    cut.write_bytes(data[:500])
    with pytest.raises(ParseError, match=r"byte offset .*truncated"):
        eisna.read(cut)
