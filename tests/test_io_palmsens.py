"""PalmSens ``.pssession`` reader on every corpus file."""

from __future__ import annotations

from datetime import datetime

import pytest

import eisna
from eisna.errors import MetadataWarning, NoImpedanceData, ParseError
from eisna.io._registry import find_reader


def test_one_spectrum(corpus):
    path = corpus / "other-formats/palmsens/eis_5freq.pssession"
    assert find_reader(path).NAME == "palmsens-pssession"
    spectra = eisna.read(path)
    assert len(spectra) == 1
    s = spectra[0]
    assert len(s) == 5
    # ZIm is stored as -Z'': 32.340022 in the file
    assert s.freq[0] == 200000.0 and s.z[0] == pytest.approx(569.666 - 32.340022j)
    assert s.freq[-1] == pytest.approx(19.999998) and s.z[-1] == pytest.approx(10603.932 - 405.591j)
    # TimeStamp 638895739666773365 ticks (local), UTCTimeStamp two hours earlier
    assert s.timestamp == datetime(2025, 7, 31, 15, 52, 46, 677336)
    assert s.meta["timestamp_utc"] == "2025-07-31T13:52:46.677336"
    assert s.meta["channel"] == "CH 7: 5 freqs"
    assert s.meta["device"] == "ES4HR20B0008" and s.meta["instrument"] == "PalmSens EmStat4"
    assert s.meta["dc_potential_V"] == 0.0
    assert s.meta["software_version"] == "5.11.1006.0"


def test_three_channels_four_scans(corpus):
    spectra = eisna.read(corpus / "other-formats/palmsens/eis_3ch_4scan_5freq.pssession")
    assert len(spectra) == 12
    assert [s.meta["index"] for s in spectra] == list(range(12))
    channels = [s.meta["channel"] for s in spectra]
    assert (
        channels
        == ["CH 3: E dc scan at 5 freqs"] * 4
        + ["CH 5: E dc scan at 5 freqs"] * 4
        + ["CH 8: E dc scan at 5 freqs"] * 4
    )
    assert [s.meta["scan"] for s in spectra[:4]] == ["E=0.000 V", "E=0.200 V", "E=0.400 V", "E=0.600 V"]
    assert [s.meta["dc_potential_V"] for s in spectra[:4]] == pytest.approx([0.0, 0.2, 0.4, 0.6])
    assert all(len(s) == 5 for s in spectra)
    assert spectra[0].z[0] == pytest.approx(566.383 - 32.318376j)
    assert spectra[5].z[0] == pytest.approx(560.412 - 22.296718j)
    assert spectra[11].z[-1] == pytest.approx(10567.941 - 376.368j)
    assert spectra[11].timestamp == datetime(2025, 7, 31, 15, 54, 28, 922140)


def test_pyimpspec_measured_dataset(corpus):
    with pytest.warns(MetadataWarning, match="plot copy differs"):
        spectra = eisna.read(corpus / "other-formats/pyimpspec/data.pssession")
    assert len(spectra) == 1 and len(spectra[0]) == 29
    assert spectra[0].z[0] == pytest.approx(109.00918219439 - 26.5556798765152j)
    assert spectra[0].meta["instrument"] == "PalmSens PalmSens4"
    assert spectra[0].timestamp == datetime(2023, 8, 22, 12, 33, 39, 532290)


def test_errors(tmp_path):
    bad = tmp_path / "cut.pssession"
    bad.write_bytes('{"Type":"PalmSens.DataFiles.SessionFile","Measurements":[{'.encode("utf-16"))
    with pytest.raises(ParseError, match="invalid JSON"):
        eisna.read(bad)
    empty = tmp_path / "empty.pssession"
    empty.write_bytes('{"Type":"PalmSens.DataFiles.SessionFile","Measurements":[]}'.encode("utf-16"))
    with pytest.raises(NoImpedanceData, match="no impedance spectrum"):
        eisna.read(empty)
