"""Ivium, Autolab FRA, VersaStudio, .P00, Elchemea .i2b and JSON readers on the corpus files."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

import eisna
from eisna.errors import MetadataWarning, NoImpedanceData, ParseError
from eisna.io._registry import find_reader

PYIMPSPEC = ("other-formats", "pyimpspec")


@pytest.mark.parametrize(
    ("name", "fmt", "z0", "z_last"),
    [
        # typed from the files' text: first and last rows (10 kHz and 1 Hz)
        ("data.idf", "ivium", 109.009 - 26.5557j, 645.479 - 90.6181j),
        (
            "data.dfr",
            "autolab-dfr",
            109.00918219439028 - 26.55567987651522j,
            645.4787001504939 - 90.61812830738303j,
        ),
        (
            "data.i2b",
            "elchemea-i2b",
            109.00918219439028 - 26.55567987651522j,
            645.4787001504939 - 90.61812830738303j,
        ),
        ("data.json", "json", 109.0091821944 - 26.5556798765j, 645.4787001505 - 90.6181283074j),
    ],
)
def test_pyimpspec_single_spectrum(corpus, name, fmt, z0, z_last):
    path = corpus.joinpath(*PYIMPSPEC, name)
    assert fmt == find_reader(path).NAME
    spectra = eisna.read(path)
    assert len(spectra) == 1
    s = spectra[0]
    assert len(s) == 29 and s.meta["n_dropped"] == 0 and s.meta["format"] == fmt
    assert s.freq[0] == 10000.0 and s.freq[-1] == 1.0
    assert s.z[0] == pytest.approx(z0, rel=1e-12) and s.z[-1] == pytest.approx(z_last, rel=1e-12)


def test_ivium_metadata_and_dataset(corpus):
    s = eisna.read(corpus.joinpath(*PYIMPSPEC, "data.idf"))[0]
    assert s.meta["technique"] == "PEIS"  # Technique=Constant E
    assert s.meta["title"] == "Test"
    assert s.meta["dc_potential_V"] == 0.0 and s.meta["area_cm2"] == 1.0
    assert s.timestamp is None  # starttime= is empty in this file
    spectra = eisna.read(corpus.joinpath(*PYIMPSPEC, "data.ids"))
    assert len(spectra) == 2  # the dataset holds two measurements
    assert [s.meta["index"] for s in spectra] == [0, 1]
    for s in spectra:
        assert len(s) == 29 and s.z[0] == pytest.approx(109.009 - 26.5557j)


def test_dfr_trailer(corpus):
    s = eisna.read(corpus.joinpath(*PYIMPSPEC, "data.dfr"))[0]
    assert s.meta["version"] == "8.0"
    assert s.meta["file_dates"] == ("13.07.2022 22:32:00", "12.11.2018 22:33:00")
    assert s.timestamp is None


def test_p00(corpus):
    path = corpus.joinpath(*PYIMPSPEC, "data.P00")
    assert find_reader(path).NAME == "p00"
    with pytest.warns(MetadataWarning, match="DD.MM.YYYY"):
        spectra = eisna.read(path)
    s = spectra[0]
    assert len(s) == 29
    # " 10.000e+03  10.900e+01  26.556e+00  59.300e+00  30.981e-02  18.311e-08" (-Z'' column)
    assert s.freq[0] == 10000.0 and s.z[0] == pytest.approx(109.0 - 26.556j)
    assert s.freq[-1] == 1.0 and s.z[-1] == pytest.approx(645.5 - 90.618j)
    assert s.meta["Ewe_V"] == pytest.approx(0.30981) and s.meta["I_A"] == pytest.approx(18.311e-8)
    assert s.meta["title"] == "Some title"


def test_p00_date_and_errors(tmp_path, corpus):
    text = corpus.joinpath(*PYIMPSPEC, "data.P00").read_text("latin-1")
    dated = tmp_path / "dated.P00"
    dated.write_text(text.replace("DD.MM.YYYY HH:MM:SS", "03.02.2021 10:20:30", 1), "latin-1")
    s = eisna.read(dated)[0]
    assert s.elapsed_s == pytest.approx(59.3)
    assert s.timestamp == datetime(2021, 2, 3, 10, 21, 29, 300000)
    cut = tmp_path / "cut.P00"
    cut.write_text("\n".join(text.splitlines()[:20]), "latin-1")
    with pytest.raises(ParseError, match="announces 29 rows"):
        eisna.read(cut)


def test_i2b_comments_and_truncation(tmp_path, corpus):
    path = corpus.joinpath(*PYIMPSPEC, "data.i2b")
    s = eisna.read(path)[0]
    assert s.meta["comments"] == ("Some metadata", "can be stored", "here in the first", "few lines")
    cut = tmp_path / "cut.i2b"
    cut.write_text("\n".join(path.read_text().splitlines()[:12]) + "\n")
    with pytest.raises(ParseError, match="announces 29 rows"):
        eisna.read(cut)


def test_json_variants(tmp_path):
    records = tmp_path / "records.json"
    records.write_text(
        '[{"freq": 1000, "Z\'": 10, "-Z\'\'": 1}, {"freq": 0, "Z\'": 12, "-Z\'\'": 3},'
        ' {"freq": 10, "Z\'": 20, "-Z\'\'": 8}]'
    )
    s = eisna.read(records)[0]
    np.testing.assert_array_equal(s.freq, [1000.0, 10.0])
    np.testing.assert_array_equal(s.z, [10 - 1j, 20 - 8j])
    assert s.meta["n_dropped"] == 1
    lists = tmp_path / "lists.json"
    lists.write_text('{"Frequency (Hz)": [1, 2], "Zre": [3, 4], "Zim": [-5, -6]}')
    assert eisna.read(lists)[0].z.tolist() == [3 - 5j, 4 - 6j]
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"freq": [1, 2], "voltage": [3, 4]}')
    with pytest.raises(ParseError, match="expected frequency, real and imaginary columns"):
        eisna.read(wrong)


def test_versastudio(corpus):
    path = corpus / "other-formats/impedancepy/exampleDataVersaStudio.par"
    assert find_reader(path).NAME == "versastudio-par"
    spectra = eisna.read(path)
    assert len(spectra) == 1
    s = spectra[0]
    # Segment1 rows 0,0,…,100000,…,55.31571,4.575431,… and 0,60,…,0.02154435,…,1516.313,-122.8279
    assert len(s) == 61
    assert s.freq[0] == 100000.0 and s.z[0] == pytest.approx(55.31571 + 4.575431j)
    assert s.freq[-1] == pytest.approx(0.02154435) and s.z[-1] == pytest.approx(1516.313 - 122.8279j)
    # DateAcquired=Thursday, July 19, 2018; TimeAcquired=9:40:30 AM; Elapsed Time(s) 1.812
    assert s.timestamp == datetime(2018, 7, 19, 9, 40, 31, 812000)
    assert s.elapsed_s == pytest.approx(1.812)
    assert s.meta["technique"] == "PEIS" and s.meta["action"] == "Potentiostatic EIS"
    assert s.meta["area_cm2"] == 1.0 and s.meta["dc_potential_V"] == 0.0
    assert s.meta["dc_versus"] == "vs Ref"
    assert s.meta["I_A"] == pytest.approx(-3.282372e-6)
    assert s.meta["instrument"] == "Princeton Applied Research VersaSTAT4"
    assert s.meta["device"] == "16334007" and s.meta["software_version"] == "2.52.3.0"


def test_versastudio_without_impedance(tmp_path, corpus):
    text = (corpus / "other-formats/impedancepy/exampleDataVersaStudio.par").read_text("utf-8")
    path = tmp_path / "cv.par"
    path.write_text(text.replace("Frequency(Hz)", "Scan(V)"), "utf-8")
    with pytest.raises(NoImpedanceData, match="no segment"):
        eisna.read(path)


@pytest.mark.parametrize(
    ("relative", "format_line", "instrument_line"),
    [
        (
            "other-formats/impedancepy/exampleDataGamry.DTA",
            "  format: gamry-dta (Gamry Framework .DTA)",
            "  instrument: Gamry (REF3000-34128)",
        ),
        (
            "other-formats/zahner/rc-data.ism",
            "  format: zahner-ism (Zahner Thales .ism)",
            "  instrument: Zahner Thales",
        ),
        (
            "other-formats/palmsens/eis_5freq.pssession",
            "  format: palmsens-pssession (PalmSens PSTrace/MultiTrace .pssession)",
            "  instrument: PalmSens EmStat4",
        ),
    ],
)
def test_info_names_format_and_instrument(corpus, relative, format_line, instrument_line):
    from eisna.cli.info import describe

    lines = describe(str(corpus / relative))
    assert format_line in lines
    assert instrument_line in lines
