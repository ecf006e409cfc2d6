"""Gamry ``.DTA`` reader on every corpus file, plus edited copies for cases no file shows."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

import eisna
from eisna.errors import MetadataWarning, NoImpedanceData
from eisna.io import gamry
from eisna.io._registry import find_reader

# (relative path, points, first freq Hz, first Z Ω, last freq Hz, last Z Ω, timestamp,
#  area cm², VDC V, aborted), typed from the files' text
KNOWN = [
    (
        "gamry-parser/eispot_data.dta",
        10,
        10000.0,
        224.6075 - 3.767681j,
        0.5,
        226.885 - 7.053867j,
        datetime(2016, 5, 11, 17, 47, 3),
        1.0,
        1.3,
        False,
    ),
    (
        "gamry-parser/eispot_data_curveaborted.dta",
        5,
        10000.0,
        224.6075 - 3.767681j,
        100.0,
        226.2954 - 6.136346j,
        datetime(2016, 5, 11, 17, 47, 3),
        1.0,
        1.3,
        True,
    ),
    (
        "impedancepy/exampleDataGamry.DTA",
        72,
        200015.6,
        825.8584 - 1367.239j,
        0.0158898,
        17007.49 - 6635.557j,
        datetime(2018, 4, 23, 16, 43, 15),
        1.0,
        -0.05,
        False,
    ),
    (
        "impedancepy/exampleDataGamryABORT.DTA",
        72,
        200015.6,
        825.8584 - 1367.239j,
        0.0158898,
        17007.49 - 6635.557j,
        datetime(2020, 3, 18, 16, 54, 44),
        1.0,
        0.0,
        True,
    ),
    (
        "pyimpspec/data.dta",
        29,
        10000.0,
        109.00918219439 - 26.5556798765152j,
        1.0,
        645.478700150494 - 90.618128307383j,
        datetime(2022, 1, 1, 0, 0, 1),
        1.0,
        0.0,
        False,
    ),
]


@pytest.mark.parametrize("known", KNOWN, ids=[k[0] for k in KNOWN])
def test_corpus_file(corpus, known):
    rel, n, f0, z0, f1, z1, when, area, vdc, aborted = known
    path = corpus / "other-formats" / rel
    assert find_reader(path).NAME == "gamry-dta"
    spectra = eisna.read(path)
    assert len(spectra) == 1
    s = spectra[0]
    assert len(s) == n
    assert s.freq[0] == pytest.approx(f0) and s.z[0] == pytest.approx(z0)
    assert s.freq[-1] == pytest.approx(f1) and s.z[-1] == pytest.approx(z1)
    assert s.timestamp == when
    assert s.meta["area_cm2"] == pytest.approx(area)
    assert s.meta["dc_potential_V"] == pytest.approx(vdc)
    assert s.meta["aborted"] is aborted
    assert s.meta["technique"] == "PEIS" and s.meta["tag"] == "EISPOT"
    assert s.meta["curve"] == "ZCURVE" and s.meta["n_dropped"] == 0
    assert s.meta["instrument"].startswith("Gamry")


def test_example_metadata(corpus):
    s = eisna.read(corpus / "other-formats/impedancepy/exampleDataGamry.DTA")[0]
    assert s.meta["device"] == "REF3000-34128"
    assert s.meta["software_version"] == "7.05"
    assert s.meta["dc_vs_eoc"] is True
    assert s.meta["eoc_V"] == pytest.approx(-0.2919803)
    # the OCVCURVE table (387 rows) is not a spectrum
    assert s.meta["impedance_columns"] == ("Zreal", "Zimag")


def test_drift_corrected(corpus):
    path = corpus / "other-formats/pyimpspec/drift-corrected-data.dta"
    with pytest.warns(MetadataWarning, match="DD-M-YYYY"):
        s = eisna.read(path)[0]
    assert len(s) == 55
    assert s.timestamp is None
    assert s.meta["drift_corrected"] is True
    assert s.meta["impedance_columns"] == ("ZrealDrCor", "ZimagDrCor")
    assert s.meta["area_cm2"] == pytest.approx(0.02)
    assert s.freq[0] == pytest.approx(100078.1)
    assert s.z[-1] == pytest.approx(163521.3 - 207613.7j)
    with pytest.warns(MetadataWarning):
        raw = gamry.read(path, drift_corrected=False)[0]
    assert raw.meta["drift_corrected"] is False
    assert raw.z[-1] == pytest.approx(163443.2 - 207897.9j)


def test_several_curves_galvanostatic_and_no_curve(tmp_path, corpus):
    text = (corpus / "other-formats/gamry-parser/eispot_data.dta").read_text("latin-1")
    text = text.replace("TAG\tEISPOT", "TAG\tEISGALV").replace(
        "VDC\tPOTEN\t1.30000E+000\tF", "IDC\tQUANT\t1.00000E-003\tF"
    )
    table = text[text.index("ZCURVE") :]
    path = tmp_path / "two.DTA"
    path.write_text(text + table.replace("ZCURVE", "ZCURVE2"), "latin-1")
    spectra = eisna.read(path)
    assert [s.meta["curve"] for s in spectra] == ["ZCURVE", "ZCURVE2"]
    assert [s.meta["index"] for s in spectra] == [0, 1]
    assert spectra[0].meta["technique"] == "GEIS"
    assert spectra[0].meta["dc_current_A"] == pytest.approx(1e-3)
    no_curve = tmp_path / "ocv.DTA"
    no_curve.write_text(text[: text.index("ZCURVE")], "latin-1")
    with pytest.raises(NoImpedanceData, match="no impedance table"):
        eisna.read(no_curve)


def test_zero_frequency_row_counted(tmp_path, corpus):
    text = (corpus / "other-formats/gamry-parser/eispot_data.dta").read_text("latin-1")
    path = tmp_path / "zero.DTA"
    path.write_text(text.replace("\t1\t3\t5000\t", "\t1\t3\t0\t"), "latin-1")
    s = eisna.read(path)[0]
    assert len(s) == 9 and s.meta["n_dropped"] == 1
    np.testing.assert_allclose(s.freq[:2], [10000.0, 1000.0])


def test_empty_curve_skipped_with_warning(tmp_path, corpus):
    from eisna.errors import MetadataWarning

    text = (corpus / "other-formats/gamry-parser/eispot_data_curveaborted.dta").read_text("latin-1")
    table = text[text.index("ZCURVE") : text.index("EXPERIMENTABORTED")]
    empty = "\n".join(table.splitlines()[:3]).replace("ZCURVE", "ZCURVE0") + "\n"
    path = tmp_path / "first_empty.DTA"
    path.write_text(text.replace("ZCURVE\tTABLE", empty + "ZCURVE\tTABLE", 1), "latin-1")
    with pytest.warns(MetadataWarning, match="ZCURVE0 holds no point"):
        spectra = eisna.read(path)
    assert len(spectra) == 1 and spectra[0].meta["curve"] == "ZCURVE" and len(spectra[0]) == 5
