"""EC-Lab ``.mpt`` reader on every real corpus file, plus edited copies for the cases no file shows.

Expected values were read from the files themselves (the raw text of the first impedance
row, the header's ``Acquisition started on`` and the ``time/s`` of that row), not from
the reader.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

import eisna
from eisna.errors import MetadataWarning, NoCyclingData, NoImpedanceData, ParseError
from eisna.io import biologic_mpt

MPT = ("biologic-mpt",)


def _num(text: str) -> float:
    return float(text.replace(",", "."))


@dataclass(frozen=True)
class Known:
    """What a corpus file holds, typed in from the file's text."""

    name: str
    points: list[int]
    freq: str  # first impedance row: freq/Hz, Re(Z)/Ohm, -Im(Z)/Ohm as written
    re: str
    neg_im: str
    start: datetime | None = None
    time_s: str | None = None  # time/s of the first impedance row
    techniques: tuple[str | None, ...] = ("PEIS",)


KNOWN = [
    Known(
        "ex1.mpt",
        [59, 59],
        "2.0001948E+005",
        "4.2890558E+002",
        "3.7231183E+002",
        None,
        "1.312524303488701E+004",
    ),
    Known(
        "exampleDataBioLogic.mpt",
        [43],
        "1.0003201E+003",
        "6.5470886E+001",
        "3.8998979E-001",
        datetime(2018, 2, 4, 10, 2, 46),
        "7.836904905780102E-001",
    ),
    Known(
        "geis.issue_149.mpt",
        [21] * 4,
        "1.9999814E+005",
        "1.0078821E+001",
        "-2.1745603E+000",
        datetime(2024, 1, 10, 11, 2, 29, 886000),
        "6.151519854509388E+001",
        ("GEIS",),
    ),
    Known(
        "geis.mpt",
        [41] * 60 + [39],
        "1.0000186E+006",
        "-4.2986954E+001",
        "8.0752533E+001",
        datetime(2021, 3, 3, 20, 40, 41),
        "4.535445450116240E+004",
        ("GEIS",),
    ),
    # 16 full sweeps 10 kHz -> 100 Hz (SOURCES.md counts the 13 distinct `z cycle` values;
    # the counter resets mid-sweep at data row 134, so sweeps are cut per impedance step)
    Known(
        "mb.issue_149.mpt",
        [13] * 16,
        "1,0002226E+004",
        "1,9658588E+001",
        "1,0001298E+001",
        datetime(2024, 1, 10, 11, 2, 29, 886000),
        "1,169148555077409E+002",
    ),
    Known(
        "mb.issue_223.mpt",
        [19] * 4,
        "1.0003202E+003",
        "3.2711428E-001",
        "1.0895800E-001",
        datetime(2025, 7, 30, 9, 24, 35, 408000),
        "3.072308810678078E+001",
        ("PEIS", "GEIS", "PEIS", "GEIS"),
    ),
    Known(
        "peis.issue_149.mpt",
        [21] * 4,
        "1.9999814E+005",
        "1.2753284E+001",
        "9.6167845E-001",
        datetime(2024, 1, 10, 11, 2, 29, 886000),
        "8.034147426584968E+001",
    ),
    Known(
        "peis.issue_225.with_ece.mpt",
        [32],
        "1.9999814E+005",
        "1.2273843E+000",
        "1.1151811E-001",
        datetime(2025, 8, 1, 11, 42, 36, 840000),
        "2.833530001196777E+000",
    ),
    Known(
        "peis.mpt",
        [32],
        "1.9999814E+005",
        "1.0512296E+001",
        "7.3047662E-001",
        datetime(2021, 3, 2, 16, 17, 59),
        "4.481567263361649E+002",
    ),
    Known(
        "vsp_peis_with.mpt",
        [70] * 32,
        "1.0000186E+006",
        "1.0578955E+001",
        "-1.7952957E+001",
        None,
        "9.024693951179367E+004",
        (None,),
    ),
    Known(
        "zir.mpt",
        [1],
        "1.0019531E+004",
        "1.0407059E+005",
        "9.3853563E+004",
        datetime(2018, 3, 26, 12, 10, 53),
        "4.320298865059699E+004",
        ("ZIR",),
    ),
    # Modulo Bat: 8 PEIS sweeps between plating steps (data row 98 is the first with freq > 0)
    Known(
        "mb.mpt",
        [70] * 8,
        "1.0000186E+006",
        "1.3542760E+002",
        "4.1891501E+002",
        datetime(2021, 8, 23, 11, 44, 40, 646000),
        "1.332575728440745E+003",
    ),
    Known(
        "mb.old.mpt",
        [70] * 8,
        "1.0000186E+006",
        "1.3542760E+002",
        "4.1891501E+002",
        datetime(2021, 8, 23, 11, 44, 40, 646000),
        "1.332575728440745E+003",
    ),
    Known(
        "peis.issue_225.ewe_ece.mpt",
        [32],
        "1.9999814E+005",
        "1.2292420E+000",
        "1.1167378E-001",
        datetime(2025, 8, 1, 11, 43, 59, 820000),
        "3.020527796790702E+000",
    ),
]

# Cycling only: ``read`` says "no impedance data", ``read_cycling`` gives the rows.
NO_IMPEDANCE = {"mb.issue_95.de.mpt": 33, "mb.issue_95.mpt": 33, "mb.issue_218.mpt": 3564}


def _read(path: Path) -> list[eisna.Spectrum]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetadataWarning)
        return eisna.read(path)


def test_every_corpus_mpt_is_listed(corpus):
    names = {p.name for p in (corpus / "biologic-mpt").glob("*.mpt")}
    assert names == {k.name for k in KNOWN} | set(NO_IMPEDANCE)


@pytest.mark.parametrize(("name", "rows"), sorted(NO_IMPEDANCE.items()))
def test_cycling_only_corpus_file(corpus, name, rows):
    path = corpus / "biologic-mpt" / name
    with pytest.raises(NoImpedanceData, match=re.escape(name) + r".*freq/Hz"):
        _read(path)
    frame = eisna.read_cycling(path)
    assert len(frame) == rows
    assert frame["time_s"].iloc[0] == 0.0


@pytest.mark.parametrize("known", KNOWN, ids=[k.name for k in KNOWN])
def test_corpus_file(corpus, known):
    path = corpus / "biologic-mpt" / known.name
    spectra = _read(path)
    assert [len(s) for s in spectra] == known.points
    first = spectra[0]
    assert first.freq[0] == _num(known.freq)
    assert first.z[0].real == _num(known.re)
    assert first.z[0].imag == -_num(known.neg_im)  # EC-Lab writes -Im(Z)
    assert first.elapsed_s == _num(known.time_s)
    if known.start is None:
        assert all(s.timestamp is None for s in spectra)
    else:
        assert first.timestamp == known.start + timedelta(seconds=_num(known.time_s))
        times = [s.timestamp for s in spectra]
        assert times == sorted(times)
    techniques = tuple(s.meta["technique"] for s in spectra)
    assert techniques == (known.techniques * len(spectra))[: len(spectra)]
    assert [s.meta["index"] for s in spectra] == list(range(len(spectra)))
    assert {s.meta["format"] for s in spectra} == {"biologic-mpt"}
    assert {s.meta["source"] for s in spectra} == {str(path)}


def test_anonymised_date_warns_and_gives_no_timestamp(corpus):
    path = corpus / "biologic-mpt" / "ex1.mpt"
    with pytest.warns(MetadataWarning, match=r"ex1\.mpt.*xx/xx/xxxx"):
        spectra = eisna.read(path)
    assert [s.timestamp for s in spectra] == [None, None]
    assert spectra[1].elapsed_s == pytest.approx(1.460242710907612e4, rel=1e-15)
    assert [s.meta["cycle"] for s in spectra] == [1, 2]
    assert spectra[1].z[0] == complex(4.1834854e2, -3.8373511e2)


def test_month_first_dates_and_milliseconds(corpus):
    # 02/04/2018 is 4 February (month first); 08/01/2025 11:42:36.840 keeps its milliseconds
    one = _read(corpus / "biologic-mpt" / "exampleDataBioLogic.mpt")[0]
    assert (one.timestamp.month, one.timestamp.day) == (2, 4)
    mpt = biologic_mpt.load(corpus / "biologic-mpt" / "peis.issue_225.with_ece.mpt")
    assert mpt.start == datetime(2025, 8, 1, 11, 42, 36, 840000)


def test_time_runs_on_across_linked_techniques_and_zero_freq_rows_dropped(corpus):
    spectra = _read(corpus / "biologic-mpt" / "geis.mpt")
    # the first 29 rows have freq/Hz = 0 (time-domain points before the sweep)
    assert spectra[0].meta["n_dropped"] == 29
    assert sum(s.meta["n_dropped"] for s in spectra) == 29
    assert spectra[0].timestamp == datetime(2021, 3, 4, 9, 16, 35, 454501)  # the next day
    last = spectra[-1]
    assert last.meta["cycle"] == 61
    assert last.z[0] == complex(-4.7567795e1, -9.1927498e1)
    assert last.elapsed_s == pytest.approx(4.834424065152300e4, rel=1e-15)
    assert spectra[0].meta["area_cm2"] == pytest.approx(1.130)


def test_three_line_header_has_no_metadata(corpus):
    spectra = _read(corpus / "biologic-mpt" / "vsp_peis_with.mpt")
    assert len(spectra) == 32
    last = spectra[-1]
    assert last.meta["cycle"] == 32
    assert last.z[0] == complex(2.4462095e1, 2.2232359e1)
    assert last.elapsed_s == pytest.approx(1.219782481173093e6, rel=1e-15)
    meta = spectra[0].meta
    assert meta["device"] is None and meta["software_version"] is None and meta["area_cm2"] is None


def test_cp1252_and_trailing_tab(corpus):
    mpt = biologic_mpt.load(corpus / "biologic-mpt" / "peis.mpt")
    assert mpt.encoding == "cp1252"
    assert "Cs/µF" in mpt.columns
    assert mpt.header["Electrode surface area"] == "0.001 cm²"
    assert len(mpt.columns) == 30  # 30 names, then a trailing tab
    assert "" not in mpt.columns


def test_header_wider_than_data_rows(corpus):
    mpt = biologic_mpt.load(corpus / "biologic-mpt" / "peis.issue_225.with_ece.mpt")
    names = list(mpt.columns)
    assert len(names) == 61
    assert names[-1] == "Rwe-ce/Ohm"
    assert "Ewe-Ece/V" not in names


def test_decimal_comma_in_data_and_header(corpus):
    path = corpus / "biologic-mpt" / "mb.issue_149.mpt"
    mpt = biologic_mpt.load(path)
    assert mpt.decimal == ","
    assert mpt.header["Ewe ctrl range"] == "min = 3,00 V, max = 4,50 V"
    spectra = _read(path)
    for s in spectra:  # every cut is a whole sweep
        assert s.freq[0] == 10002.226
        assert s.freq[-1] == 99.968163
    de = biologic_mpt.load(corpus / "biologic-mpt" / "mb.issue_95.de.mpt")
    assert de.decimal == ","
    assert de.area_cm2 == pytest.approx(0.001)  # "0,001 cm²"


def test_meta_values(corpus):
    path = corpus / "biologic-mpt" / "peis.issue_225.with_ece.mpt"
    meta = _read(path)[0].meta
    assert meta["device"] == "VMP3 (SN 0858)"
    assert meta["software_version"] == "11.61"
    assert meta["area_cm2"] == pytest.approx(1.131)  # "113.100 mm²"
    assert meta["cycle"] == 1
    assert meta["n_dropped"] == 0
    # means of <Ewe>/V and <I>/mA over the 32 rows, computed independently
    assert meta["Ewe_V"] == pytest.approx(-0.03043989621875, rel=1e-12)
    assert meta["I_A"] == pytest.approx(1.09089176935e-4, rel=1e-9)
    assert meta["header"]["Device"] == "VMP3 (SN 0858)"
    assert meta["header"]["Mode"] == "Multi sine"


def test_modulo_bat_uses_ewe_and_i_aliases(corpus):
    spectra = _read(corpus / "biologic-mpt" / "mb.issue_223.mpt")
    assert [s.meta["cycle"] for s in spectra] == [0, 1, 2, 3]  # z cycle
    assert spectra[0].meta["Ewe_V"] == pytest.approx(3.6968449999999997, rel=1e-9)
    assert spectra[0].meta["I_A"] == pytest.approx(-3.068689926315789e-4, rel=1e-9)


def test_modulus_phase_agree_with_re_im(corpus):
    path = corpus / "biologic-mpt" / "mb.issue_223.mpt"
    mpt = biologic_mpt.load(path)
    keep = mpt.columns["freq/Hz"] > 0
    polar = mpt.columns["|Z|/Ohm"][keep] * np.exp(1j * np.deg2rad(mpt.columns["Phase(Z)/deg"][keep]))
    rect = mpt.columns["Re(Z)/Ohm"][keep] - 1j * mpt.columns["-Im(Z)/Ohm"][keep]
    np.testing.assert_allclose(polar, rect, rtol=1e-5)


# ----------------------------------------------------------- edited copies in tmp_path


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


def test_only_modulus_and_phase_columns(corpus, tmp_path):
    src = corpus / "biologic-mpt" / "peis.mpt"
    data = src.read_bytes().replace(b"Re(Z)/Ohm\t-Im(Z)/Ohm", b"Re(Zx)/Ohm\t-Im(Zx)/Ohm")
    out = tmp_path / "polar.mpt"
    out.write_bytes(data)
    polar, rect = _read(out)[0], _read(src)[0]
    np.testing.assert_allclose(polar.z, rect.z, rtol=2e-6)
    assert polar.z[0].imag < 0


def test_crlf_and_lf_give_the_same_spectra(corpus, tmp_path):
    src = corpus / "biologic-mpt" / "ex1.mpt"  # written with CRLF
    assert b"\r\n" in src.read_bytes()[:40]
    lf = tmp_path / "ex1_lf.mpt"
    lf.write_bytes(src.read_bytes().replace(b"\r\n", b"\n"))
    a, b = _read(src), _read(lf)
    assert len(a) == len(b) == 2
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.z, y.z)
        np.testing.assert_array_equal(x.freq, y.freq)


def test_utf8_and_utf16_copies_read_the_same(corpus, tmp_path):
    src = corpus / "biologic-mpt" / "peis.mpt"
    text = src.read_bytes().decode("cp1252")
    expected = _read(src)[0]
    for encoding in ("utf-8", "utf-16"):
        copy = tmp_path / f"peis_{encoding}.mpt"
        copy.write_bytes(text.encode(encoding))
        assert biologic_mpt.load(copy).encoding == encoding
        assert "Cs/µF" in biologic_mpt.load(copy).columns
        np.testing.assert_array_equal(_read(copy)[0].z, expected.z)


def test_columns_in_any_order_with_aliases(corpus, tmp_path):
    src = corpus / "biologic-mpt" / "peis.mpt"
    lines = _lines(src)
    n = 70
    order = list(range(30))[::-1]  # reverse every column
    out_lines = lines[: n - 1]
    for line in lines[n - 1 :]:
        if not line.strip():
            continue
        fields = line.rstrip(b"\r").split(b"\t")[:30]
        out_lines.append(b"\t".join(fields[j] for j in order) + b"\t")
    data = b"\n".join(out_lines).replace(b"<Ewe>/V", b"Ecell/V").replace(b"<I>/mA", b"I/mA")
    out = tmp_path / "reordered.mpt"
    out.write_bytes(data)
    a, b = _read(src)[0], _read(out)[0]
    np.testing.assert_array_equal(a.z, b.z)
    assert b.meta["Ewe_V"] == a.meta["Ewe_V"]
    assert b.meta["I_A"] == a.meta["I_A"]


def test_bare_column_line_and_bt_lab_magic(corpus, tmp_path):
    src = corpus / "biologic-mpt" / "peis.mpt"
    lines = _lines(src)
    bare = tmp_path / "bare.mpt"
    bare.write_bytes(b"\n".join(lines[69:]))
    assert biologic_mpt.sniff(bare.read_bytes()[:4096])
    spectrum = _read(bare)[0]
    np.testing.assert_array_equal(spectrum.z, _read(src)[0].z)
    assert spectrum.timestamp is None
    bt = tmp_path / "bt.mpt"
    bt.write_bytes(src.read_bytes().replace(b"EC-Lab ASCII FILE", b"BT-Lab ASCII FILE", 1))
    assert biologic_mpt.sniff(bt.read_bytes()[:100])
    assert len(_read(bt)[0]) == 32


def test_sniff():
    assert biologic_mpt.sniff(b"EC-Lab ASCII FILE\r\nNb header lines : 61")
    assert not biologic_mpt.sniff(b"BIO-LOGIC MODULAR FILE\x1a")
    assert not biologic_mpt.sniff(b"freq,Zre,Zim\n1,2,3\n")
    assert not biologic_mpt.sniff(b"NEWARE")


def test_no_impedance_and_cycling(corpus):
    path = corpus / "biologic-mpt" / "mb.issue_95.de.mpt"
    with pytest.raises(NoImpedanceData, match=r"mb\.issue_95\.de\.mpt.*freq/Hz.*'Ewe/V'"):
        eisna.read(path)
    frame = eisna.read_cycling(path)
    assert list(frame.columns) == [
        "time_s",
        "voltage_V",
        "current_A",
        "capacity_Ah",
        "cycle",
        "step",
        "step_type",
        "timestamp",
    ]
    assert len(frame) == 33
    assert frame["voltage_V"].iloc[0] == 2.3278546
    last = frame.iloc[-1]
    assert last["time_s"] == _num("3,000019924211665E+001")
    assert last["voltage_V"] == _num("2,3260789E+000")
    assert last["current_A"] == pytest.approx(_num("-6,4980278E+001") / 1000, rel=1e-15)
    assert last["capacity_Ah"] == pytest.approx(_num("9,731169646453858E-002") / 1000, rel=1e-15)
    assert last["step"] == 2
    assert frame["step_type"].value_counts().to_dict() == {"CC": 22, "Rest": 11}
    assert frame["timestamp"].iloc[0] == datetime(2022, 12, 8, 14, 36, 53, 355000)


def test_modulo_bat_with_eis_also_reads_as_cycling(corpus):
    frame = eisna.read_cycling(corpus / "biologic-mpt" / "mb.issue_149.mpt")
    assert len(frame) == 564
    assert set(frame["step_type"]) == {"Rest", "CC", "PEIS"}


def test_impedance_only_file_has_no_cycling_data(corpus):
    with pytest.raises(NoCyclingData, match=r"peis\.mpt.*PEIS"):
        eisna.read_cycling(corpus / "biologic-mpt" / "peis.mpt")


# ----------------------------------------------------------------------------- errors


@pytest.fixture
def peis_bytes(corpus) -> bytes:
    return (corpus / "biologic-mpt" / "peis.mpt").read_bytes()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _cut_after(marker: bytes):
    return lambda data: data[: data.index(marker) + len(marker)]


# a cut last row and non-finite Z are read, dropped and said since issue 14: tests/test_truncation.py
DAMAGED = [
    (
        "bad.mpt",
        lambda b: b.replace(b"1.0351303E+001", b"1.03x1303E+001"),
        ParseError,
        r"bad\.mpt, line 72, column 'Re\(Z\)/Ohm': expected a number, found '1\.03x",
    ),
    (
        "nofreq.mpt",
        lambda b: b.replace(b"freq/Hz", b"frequency"),
        NoImpedanceData,
        r"nofreq\.mpt.*'freq/Hz'.*\['frequency', 'Re\(Z\)/Ohm'",
    ),
    (
        "noz.mpt",
        lambda b: b.replace(b"Re(Z)/Ohm\t-Im(Z)/Ohm\t|Z|/Ohm", b"A\tB\tC"),
        ParseError,
        r"noz\.mpt, line 70: expected impedance columns",
    ),
    ("header_cut.mpt", lambda b: b[:1500], ParseError, r"line 51: no data rows after the 70-line header"),
    ("nodata.mpt", _cut_after(b"dq/mA.h\t\n"), ParseError, r"nodata\.mpt, line 70: no data rows"),
    (
        "extra.mpt",
        lambda b: b.replace(b"1.0351303E+001", b"1.0351303E+001\t5"),
        ParseError,
        r"line 72: expected 30 tab-separated fields.*found 31",
    ),
    (
        "nb.mpt",
        lambda b: b.replace(b"Nb header lines : 70", b"Nb header lines : 7x"),
        ParseError,
        r"nb\.mpt, line 2: expected 'Nb header lines : N'",
    ),
    (
        "bool.mpt",
        lambda b: b.replace(b"1.0351303E+001", b"True"),
        ParseError,
        r"bool\.mpt, line 72, column 'Re\(Z\)/Ohm': expected a number, found 'True'",
    ),
    (  # a date in the first row makes the column absolute: the numbers after it are the damage
        "absolute_time.mpt",
        lambda b: b.replace(b"4.481567263361649E+002", b"03/02/2021 16:25:27.156"),
        ParseError,
        r"line 72, column 'time/s': expected a date and time like the first row "
        r"\('03/02/2021 16:25:27.156'\), found '4.485337004874018E\+002'.*Time format : Elapsed",
    ),
    (
        "date_among_numbers.mpt",
        lambda b: b.replace(b"4.485337004874018E+002", b"03/02/2021 16:25:27.533"),
        ParseError,
        r"line 72, column 'time/s': expected a number, found '03/02/2021.*A date among numbers",
    ),
    (
        "huge_nb.mpt",
        lambda b: b.replace(b"Nb header lines : 70", b"Nb header lines : 7" + b"0" * 8),
        ParseError,
        r"line 102: no data rows after the 700000000-line header; the file ends at line 102",
    ),
]


@pytest.mark.parametrize(("name", "edit", "error", "pattern"), DAMAGED, ids=[d[0] for d in DAMAGED])
def test_damaged_copy(peis_bytes, tmp_path, name, edit, error, pattern):
    path = _write(tmp_path, name, edit(peis_bytes))
    with pytest.raises(error, match=pattern):
        eisna.read(path)


def test_empty_and_not_mpt(tmp_path):
    with pytest.raises(ParseError, match=r"empty\.mpt.*empty"):
        biologic_mpt.read(_write(tmp_path, "empty.mpt", b"  \n"))
    with pytest.raises(ParseError, match=r"other\.mpt, line 1: not an EC-Lab ASCII export"):
        biologic_mpt.read(_write(tmp_path, "other.mpt", b"hello\tworld\n1\t2\n"))


def test_start_date_out_of_range_warns(peis_bytes, tmp_path):
    data = peis_bytes.replace(b"03/02/2021 16:17:59.000", b"12/31/9999 23:59:59.000")
    path = _write(tmp_path, "y9999.mpt", data)
    with pytest.warns(MetadataWarning, match=r"y9999\.mpt, line 71: .*leaves the datetime range"):
        spectra = eisna.read(path)
    assert spectra[0].timestamp is None
    assert spectra[0].elapsed_s == pytest.approx(448.1567263361649)
