"""Vendor text and table exports of other-formats/: known values typed from each file by hand.

Every expected value below was read from the file in a text editor (or a spreadsheet
program for the workbooks): first point (frequency, Z′, Z″ as the file writes them),
number of points and spectra, and the metadata the header carries.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

import eisna
from eisna.io import autolab_text, chi, novocontrol, parstat, relaxis, table
from eisna.io._registry import find_reader

from .conftest import corpus_file

OTHER = ("other-formats",)

# (file, reader NAME chosen by find_reader, meta format, spectra, points per spectrum,
#  first point (freq, Z', Z'') with Z'' physical, n_dropped of spectrum 0)
KNOWN = [
    ("impedancepy/exampleData.csv", None, "table", 1, 66,
     (3.162299999999999833e-03, 4.949989776405060160e-02, -2.043869854441892481e-02), 0),
    ("impedancepy/exampleDataCHInstruments.txt", "chi", "chi", 1, 73, (9.961e4, 9.891e1, -2.748), 0),
    ("impedancepy/exampleDataParstat.txt", "parstat", "parstat", 1, 31,
     (10000.0, -0.00049816280376104, 0.0175143479976367), 781),
    ("impedancepy/exampleDataPowersuite.txt", "parstat", "parstat", 1, 30, (0.1, 423929.46, -49014.063), 0),
    ("impedancepy/exampleDataAutolab.txt", "autolab", "autolab", 1, 41,
     (10000.0, 0.013785863964281, 0.007191946305823), 0),
    ("nrel-osif/example_EIS_data.txt", "autolab", "autolab", 1, 40,
     (9999.99046325684, 0.000897921601647755, 0.00329376980502424), 0),
    ("nrel-osif/example_EIS_data.xlsx", None, "autolab", 1, 40,
     (9999.990463256836, 0.000724854476661908, 0.0036843748968720747), 0),
    ("nrel-osif/test_EIS_data_Z1.xlsx", None, "autolab", 1,
     161, (0.01, 2.84680059522049, -20.4705421737786), 0),
    ("nrel-osif/test_EIS_data_Z2.xlsx", None, "autolab", 1,
     141, (0.01, 2.92748378809601, -17.6369747476096), 0),
    ("nrel-osif/test_EIS_data_Z3.xlsx", None, "autolab", 1,
     161, (0.01, 2.84680059522049, -20.4705421737786), 0),
    ("pyimpspec/case-fragment.csv", None, "table", 1, 6,
     (7196.856730011521, 112.05775995468218, -35.16622560165986), 0),
    ("pyimpspec/case-multiple-spectra.csv", None, "table", 4, 29,
     (10000.0, 109.00918219439028, -26.55567987651522), 0),
    ("pyimpspec/case-multiple-spectra-reverse.csv", None, "table", 2, 29,
     (1.0, 645.4787001504939, -90.61812830738303), 0),
    # header "f,-Z',-Z''": first row 10000.0,-109.00918219439028,26.55567987651522
    ("pyimpspec/case-negative-real-imaginary.csv", None, "table", 1, 29,
     (10000.0, 109.00918219439028, -26.55567987651522), 0),
    ("pyimpspec/data.xlsx", None, "table", 4, 29, (10000.0, 109.009182194390, -26.5556798765152), 0),
    ("pyimpspec/data.ods", "table", "table", 4, 29, (10000.0, 109.009182194390, -26.5556798765152), 0),
    ("pyimpspec/data.fods", "table", "table", 4, 29, (10000.0, 109.009182194390, -26.5556798765152), 0),
]  # fmt: skip


@pytest.mark.parametrize(("name", "reader", "fmt", "count", "points", "first", "dropped"), KNOWN,
                         ids=[k[0].split("/")[1] for k in KNOWN])  # fmt: skip
def test_known_values(corpus, name, reader, fmt, count, points, first, dropped):
    path = corpus.joinpath(*OTHER, name)
    if reader is not None:
        chosen = find_reader(path)
        assert (chosen.NAME, name) == (reader, name)
    spectra = eisna.read(path)
    assert len(spectra) == count
    assert all(len(s) == points for s in spectra)
    s = spectra[0]
    assert s.meta["format"] == fmt
    assert s.freq[0] == pytest.approx(first[0], rel=1e-12)
    assert s.z[0].real == pytest.approx(first[1], rel=1e-12)
    assert s.z[0].imag == pytest.approx(first[2], rel=1e-12)
    assert s.meta["n_dropped"] == dropped
    assert [t.meta["index"] for t in spectra] == list(range(count))


def test_chi_metadata(corpus):
    s = eisna.read(corpus.joinpath(*OTHER, "impedancepy", "exampleDataCHInstruments.txt"))[0]
    assert s.timestamp == datetime(2020, 2, 20, 15, 55, 8)
    assert s.meta["device"] == "CHI660E"
    assert s.meta["technique"] == "PEIS"
    assert s.meta["Ewe_V"] == 0.0
    assert s.meta["amplitude_V"] == 0.025
    assert s.meta["settings"]["High Frequency (Hz)"] == "2e+6"
    # last row: 1.000e-1, 5.685e+3, -1.586e+4
    assert s.z[-1] == pytest.approx(5.685e3 - 1.586e4j)


def test_parstat_drops_dc_rows_and_keeps_bias(corpus):
    s = eisna.read(corpus.joinpath(*OTHER, "impedancepy", "exampleDataParstat.txt"))[0]
    assert s.meta["dropped"] == {"freq<=0": 781}  # the DC rows written before the sweep
    assert s.elapsed_s == pytest.approx(7639.602)
    assert s.meta["Ewe_V"] == pytest.approx(3.50029397010803)
    assert s.meta["I_A"] == pytest.approx(0.0245747901499271)
    assert s.meta["software"] == "Parstat"
    # last row: 10 Hz, 0.0270946491457229, -0.00399791080333837
    assert s.z[-1] == pytest.approx(0.0270946491457229 - 0.00399791080333837j)


def test_powersuite_cr_cr_lf(corpus):
    s = eisna.read(corpus.joinpath(*OTHER, "impedancepy", "exampleDataPowersuite.txt"))[0]
    assert s.meta["software"] == "PowerSuite"
    assert s.freq[-1] == 2000000.0
    assert s.z[-1] == pytest.approx(-470.54113 - 1397.7358j)


def test_autolab_z60w_and_nova(corpus):
    z60w = eisna.read(corpus.joinpath(*OTHER, "impedancepy", "exampleDataAutolab.txt"))[0]
    assert z60w.meta["software"] == "Z60W"
    assert z60w.meta["points_declared"] == 41
    assert z60w.meta["Ewe_V"] == 0.0  # the Bias column
    assert z60w.meta["header"]["picked"]["z_imag"] == "Z''(b)"
    assert z60w.z[-1] == pytest.approx(0.0345697771923854 - 0.00390292888845954j)  # 0.1 Hz row
    nova = eisna.read(corpus.joinpath(*OTHER, "nrel-osif", "example_EIS_data.txt"))[0]
    assert nova.meta["software"] == "NOVA"
    assert nova.elapsed_s == pytest.approx(13.4097139661437)
    # last row: 40, 1.00000761449337, 0.00886062753967149, 0.0654004646128897 (-Z'')
    assert nova.freq[-1] == pytest.approx(1.00000761449337)
    assert nova.z[-1] == pytest.approx(0.00886062753967149 - 0.0654004646128897j)


def test_pyimpspec_workbook_sheets(corpus):
    spectra = eisna.read(corpus.joinpath(*OTHER, "pyimpspec", "data.xlsx"))
    sheets = [s.meta["header"]["sheet"] for s in spectra]
    assert sheets == ["header-variant-1", "header-variant-2", "header-variant-3", "header-variant-4"]
    picked = [s.meta["header"]["picked"] for s in spectra]
    assert picked[1] == {"freq": "freq", "z_real": "Zre", "z_imag": "-Zim"}
    assert picked[3] == {"freq": "frequency", "z_mod": "|Z|", "phase": "-phase"}
    for s in spectra[1:]:
        np.testing.assert_allclose(s.z, spectra[0].z, rtol=1e-12)
    only = table.read(corpus.joinpath(*OTHER, "pyimpspec", "data.ods"), sheet="header-variant-3")
    assert len(only) == 1 and only[0].meta["header"]["picked"]["z_imag"] == "imaginary"


@pytest.mark.parametrize(
    ("module", "name"),
    [
        (chi, "impedancepy/exampleDataCHInstruments.txt"),
        (parstat, "impedancepy/exampleDataParstat.txt"),
        (parstat, "impedancepy/exampleDataPowersuite.txt"),
        (autolab_text, "impedancepy/exampleDataAutolab.txt"),
        (autolab_text, "nrel-osif/example_EIS_data.txt"),
    ],
)
def test_each_sniffer_claims_only_its_own_files(corpus, module, name):
    heads = {
        n: corpus_file(*OTHER, n).read_bytes()[:4096]
        for n in (
            "impedancepy/exampleDataCHInstruments.txt",
            "impedancepy/exampleDataParstat.txt",
            "impedancepy/exampleDataPowersuite.txt",
            "impedancepy/exampleDataAutolab.txt",
            "nrel-osif/example_EIS_data.txt",
            "impedancepy/exampleData.csv",
            "pyimpspec/case-multiple-spectra.csv",
            "pyimpspec/data.mpt",
        )
    }
    heads["peis.mpt"] = (corpus / "biologic-mpt" / "peis.mpt").read_bytes()[:4096]
    claimed = {n for n, head in heads.items() if module.sniff(head)}
    others = {chi, parstat, autolab_text, novocontrol, relaxis} - {module}
    assert name in claimed
    assert all(m.sniff(heads[n]) is False for m in others for n in claimed)
    assert not {"impedancepy/exampleData.csv", "pyimpspec/data.mpt", "peis.mpt"} & claimed


@pytest.mark.parametrize(
    "name",
    [
        "impedancepy/exampleDataCHInstruments.txt",
        "impedancepy/exampleDataParstat.txt",
        "impedancepy/exampleDataPowersuite.txt",
        "impedancepy/exampleDataAutolab.txt",
        "nrel-osif/example_EIS_data.txt",
        "pyimpspec/data.xlsx",
        "pyimpspec/data.ods",
        "pyimpspec/data.fods",
    ],
)
@pytest.mark.parametrize("fraction", [0.02, 0.3, 0.7])
def test_truncated_copies_read_or_fail_naming_the_file(corpus, tmp_path, name, fraction):
    import warnings

    from eisna.errors import EisnaError

    data = corpus.joinpath(*OTHER, name).read_bytes()
    cut = tmp_path / f"cut_{name.split('/')[1]}"
    cut.write_bytes(data[: int(len(data) * fraction)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            spectra = eisna.read(cut)
        except EisnaError as err:
            assert str(cut) in str(err)
        else:
            assert spectra and all(len(s) > 0 for s in spectra)
