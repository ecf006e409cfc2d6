"""Neware readers: .nda/.ndax through fastnda, BTSDA CSV/XLSX by hand, against the real corpus."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import eisna
from eisna.errors import EisnaError, NoImpedanceData, ParseError, TruncatedDataWarning
from eisna.io import neware_csv, neware_nda
from eisna.io._registry import find_reader

from .conftest import corpus_file

COMMON = ["time_s", "voltage_V", "current_A", "capacity_Ah", "cycle", "step", "step_type", "timestamp"]

# file → (rows, time_s, voltage_V, current_A, step_type, timestamp of the first record)
# The binaries store UTC; voltages are float32, hence the odd digits.
BINARY_FIRST_ROWS = {
    "neware-nda/2-1-6_61[07005012].nda": (
        15567,
        0.463075,
        4.0297885,
        -1.6997675,
        "Pulse",
        "2016-04-19 12:21:01.483",
    ),
    "neware-nda/TestFile.nda": (6670, 0.01, 3.8819923, 0.0, "Rest", "2024-05-27 08:02:53.970"),
    "neware-nda/nda_v22.nda": (1380, 0.0, 1.8105, 0.0, "Rest", "2015-10-14 03:28:30"),
    "neware-nda/nda_v8.nda": (21, 0.0, 2.1217, 0.0, "Rest", "2015-09-16 04:08:43"),
    "neware-nda/new_nda_file.nda": (439, 0.0, -0.0911, 0.0, "CC_DChg", "2020-03-25 11:16:50"),
    "neware-ndax/123456789012_Unit27_Example_Data_File.ndax": (
        301,
        0.0,
        2.9829915,
        0.0,
        "Rest",
        "2024-11-18 12:43:45.422",
    ),
    "neware-ndax/46_1_5_60_ZZZZZZZZTEST_20250924092922.ndax": (
        84,
        0.0,
        2.9000835,
        0.0,
        "Rest",
        "2025-09-24 09:29:55.074",
    ),
    "neware-ndax/TESTCELL0001-Test_Data_Collection_Ndc17.ndax": (
        80,
        0.0,
        3.5871816,
        0.0,
        "Rest",
        "2025-09-24 14:20:56.575",
    ),
    "neware-ndax/ZZZZZZZZTEST.ndax": (301, 0.0, 1.1174555, 0.0, "Rest", "2025-09-11 14:51:28.254"),
    "neware-ndax/interp-test.ndax": (333, 0.0, 0.000210111, 0.0, "Rest", "2025-06-17 08:26:39.383"),
    "neware-ndax/scrubbed_ndc2.ndax": (28, 0.0, -3.3883, 0.0, "Rest", "2023-09-28 10:39:45"),
    "neware-ndax/test.ndax": (1464, 0.0, 3.4666, 0.0, "Rest", "2024-02-01 20:24:23"),
    "neware-ndax/test_2.ndax": (108563, 0.0, 0.19987924, 0.0, "Rest", "2025-03-26 08:22:55.474"),
}

# text exports: Date is naive local time
CSV_FIRST_ROWS = {
    "neware-csv/interp-test.csv": (333, 0.0, 0.0002, 0.0, "Rest", "2025-06-17 09:26:39.383"),
    "neware-csv/neware_uio.csv": (9065, 0.0, 2.9170, 0.0, "Rest", "2022-05-18 16:27:52"),
    "neware-csv/nw_regular_export_ife_example.csv": (9295, 0.0, 4.3185, 0.0, "Rest", "2026-03-06 12:37:25"),
}


def _check_first_row(df: pd.DataFrame, expected: tuple, *, utc: bool) -> None:
    rows, time_s, volt, cur, step_type, stamp = expected
    assert len(df) == rows
    assert list(df.columns[: len(COMMON)]) == COMMON
    first = df.iloc[0]
    assert first["time_s"] == pytest.approx(time_s, abs=1e-6)
    assert first["voltage_V"] == pytest.approx(volt, rel=1e-6, abs=1e-9)
    assert first["current_A"] == pytest.approx(cur, rel=1e-6, abs=1e-12)
    assert first["step_type"] == step_type
    assert (first["cycle"], first["step"]) == (1, 1)
    want = pd.Timestamp(stamp, tz="UTC" if utc else None)
    assert first["timestamp"] == want


# ---------------------------------------------------------------------------------------------
# .nda / .ndax
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(BINARY_FIRST_ROWS))
def test_binary_matches_fastnda_and_first_row(corpus: Path, name: str) -> None:
    import fastnda

    path = corpus / name
    df = eisna.read_cycling(path)
    raw = fastnda.read(path)
    assert len(df) == raw.height  # same record count as fastnda itself
    # unit conversion mA → A, mAh → Ah, total time → time_s
    np.testing.assert_allclose(df["current_A"], raw["current_mA"].to_numpy() / 1000, rtol=1e-6)
    np.testing.assert_allclose(
        df["capacity_Ah"], raw["capacity_mAh"].to_numpy() / 1000, rtol=1e-6, atol=1e-15
    )
    np.testing.assert_allclose(df["time_s"], raw["total_time_s"].to_numpy())
    assert df["timestamp"].dt.tz is not None
    _check_first_row(df, BINARY_FIRST_ROWS[name], utc=True)


def test_nda_picked_by_content_and_aux_kept(corpus: Path) -> None:
    path = corpus / "neware-nda" / "TestFile.nda"
    assert find_reader(path, need="read_cycling") is neware_nda
    df = eisna.read_cycling(path)
    assert df["aux_temperature_degC"].iloc[0] == pytest.approx(23.0314, abs=1e-3)
    assert set(df["cycle"]) == {1, 2, 3}
    assert {"CC_Chg", "CC_DChg", "Rest"} <= set(df["step_type"])


def test_empty_ndax_gives_empty_frame_with_columns(corpus: Path) -> None:
    df = eisna.read_cycling(corpus / "neware-ndax" / "empty.ndax")
    assert len(df) == 0
    assert list(df.columns[: len(COMMON)]) == COMMON


def test_sniff_nda_and_ndax(corpus: Path) -> None:
    for path in sorted((corpus / "neware-nda").iterdir()) + sorted((corpus / "neware-ndax").iterdir()):
        assert neware_nda.sniff(path.read_bytes()[:4096]), path.name
    assert not neware_nda.sniff(b"PK\x03\x04\x14\x00xl/workbook.xml")  # an xlsx is no ndax
    assert not neware_nda.sniff(b"EC-Lab ASCII FILE\n")


def test_mislabelled_nda_is_read_by_content(corpus: Path, tmp_path: Path) -> None:
    alias = tmp_path / "run.bin"
    alias.write_bytes((corpus / "neware-nda" / "nda_v8.nda").read_bytes())
    df = eisna.read_cycling(alias)
    assert len(df) == 21
    assert df["voltage_V"].iloc[0] == pytest.approx(2.1217, rel=1e-6)


@pytest.mark.parametrize("name", ["neware-nda/new_nda_file.nda", "neware-ndax/test.ndax"])
def test_read_binary_raises_no_impedance(corpus: Path, name: str) -> None:
    with pytest.raises(NoImpedanceData, match=r"(?s)new_nda_file|test\.ndax.*eisna\.read_cycling"):
        eisna.read(corpus / name)


@pytest.mark.parametrize(
    ("name", "cut", "match"),
    [
        ("neware-nda/new_nda_file.nda", 3000, "Could not find start of data"),
        ("neware-nda/new_nda_file.nda", 20, "fastnda could not decode"),
        ("neware-ndax/test.ndax", 20000, "not a zip file"),
    ],
)
def test_truncated_binary_raises_parse_error(
    corpus: Path, tmp_path: Path, name: str, cut: int, match: str
) -> None:
    bad = tmp_path / f"cut{Path(name).suffix}"
    bad.write_bytes((corpus / name).read_bytes()[:cut])
    with pytest.raises(ParseError, match=match) as info:
        eisna.read_cycling(bad)
    assert str(bad) in str(info.value)


def test_corrupt_binary_raises_parse_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    nda = tmp_path / "noise.nda"
    nda.write_bytes(b"NEWARE" + rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(ParseError, match=r"noise\.nda: fastnda could not decode"):
        eisna.read_cycling(nda)
    other = tmp_path / "noise2.nda"
    other.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ParseError, match=r"noise2\.nda.*expected the magic 'NEWARE'"):
        neware_nda.read_cycling(other)
    with pytest.raises(ParseError, match=r"noise2\.nda"):
        eisna.read_cycling(other)


# ---------------------------------------------------------------------------------------------
# BTSDA CSV / XLSX
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CSV_FIRST_ROWS))
def test_csv_first_row_and_count(corpus: Path, name: str) -> None:
    path = corpus / name
    assert find_reader(path, need="read_cycling") is neware_csv
    df = eisna.read_cycling(path)
    _check_first_row(df, CSV_FIRST_ROWS[name], utc=False)


def test_csv_agrees_with_ndax_twin(corpus: Path) -> None:
    import fastnda

    csv = eisna.read_cycling(corpus / "neware-csv" / "interp-test.csv")
    ndax = eisna.read_cycling(corpus / "neware-ndax" / "interp-test.ndax")
    assert len(csv) == fastnda.read(corpus / "neware-ndax" / "interp-test.ndax").height == 333
    # the CSV holds mV rounded to 0.1 mV and µA as integers
    np.testing.assert_allclose(csv["voltage_V"], ndax["voltage_V"], atol=0.05e-3 + 1e-9)
    np.testing.assert_allclose(csv["current_A"], ndax["current_A"], atol=0.5e-6)
    np.testing.assert_allclose(csv["time_s"], ndax["time_s"], atol=1e-3)
    assert (csv["step_type"] == ndax["step_type"]).all()
    # the export writes local time (+1 h here), the binary UTC
    offset = csv["timestamp"] - ndax["timestamp"].dt.tz_localize(None)
    assert set(offset) == {pd.Timedelta(hours=1)}


def test_flat_csv_units_and_long_durations(corpus: Path) -> None:
    df = eisna.read_cycling(corpus / "neware-csv" / "neware_uio.csv")
    last = df.iloc[-1]
    assert last["time_s"] == 144 * 3600 + 2 * 60 + 18  # "144:02:18"
    assert last["step_time_s"] == 3600 + 27 * 60  # "01:27:00"
    assert last["current_A"] == pytest.approx(0.00099171)
    assert last["capacity_Ah"] == pytest.approx(0.00143796)
    assert last["step_type"] == "CC_Chg"  # "CC Chg" in the export
    assert (df.loc[df["step_type"] == "CC_DChg", "current_A"] < 0).all()


def test_nested_csv_yields_signed_record_rows(corpus: Path) -> None:
    df = eisna.read_cycling(corpus / "neware-csv" / "nw_regular_export_ife_example.csv")
    assert df["cycle"].max() == 20 and df["cycle"].is_monotonic_increasing
    assert set(df["step"]) == {1, 2, 3, 4, 5}
    dchg = df[df["step_type"] == "CC_DChg"]
    assert (dchg["current_A"] < 0).all() and dchg["current_A"].min() == pytest.approx(-0.5)
    assert (df.loc[df["step_type"] == "CC_Chg", "capacity_Ah"] >= 0).all()
    # the merged first cycle + step line labels the first records (Rest, step 1)
    assert df.iloc[:10]["step_type"].eq("Rest").all()


def _write_csv(tmp_path: Path, text: str, name: str = "x.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


HEADER = (
    "DataPoint,Cycle Index,Step Index,Step Type,Time,Total Time,"
    "Current({i}),Voltage({v}),Capacity({q}),Date,\n"
)


@pytest.mark.parametrize(
    ("units", "row", "expected"),
    [
        (
            ("A", "V", "Ah"),
            "1,1,2,CC DChg,00:00:05,25:00:00,-0.5,3.5,0.25,2024-01-02 03:04:05,",
            (90000.0, -0.5, 3.5, -0.25),
        ),
        (
            ("mA", "mV", "mAh"),
            "1,1,2,CC Chg,00:00:05,1-01:00:00,500,3500,250,2024-01-02 03:04:05,",
            (90000.0, 0.5, 3.5, 0.25),
        ),
        (
            ("µA", "mV", "mAs"),
            "1,1,2,CC Chg,00:00:05,1d 01:00:00.500,500000,3500,3600000,2024-01-02 03:04:05,",
            (90000.5, 0.5, 3.5, 1.0),
        ),
    ],
)
def test_flat_csv_unit_choices(tmp_path: Path, units: tuple, row: str, expected: tuple) -> None:
    i, v, q = units
    path = _write_csv(tmp_path, HEADER.format(i=i, v=v, q=q) + row + "\n", encoding="cp1252")
    df = eisna.read_cycling(path)
    time_s, cur, volt, cap = expected
    got = df.iloc[0]
    assert got["time_s"] == pytest.approx(time_s)
    assert got["current_A"] == pytest.approx(cur)
    assert got["voltage_V"] == pytest.approx(volt)
    assert got["capacity_Ah"] == pytest.approx(cap)
    assert got["timestamp"] == pd.Timestamp("2024-01-02 03:04:05")


def test_parse_duration_forms() -> None:
    assert neware_csv.parse_duration("144:02:18") == 518538
    assert neware_csv.parse_duration("00:00:03.250") == 3.25
    assert neware_csv.parse_duration("2-01:00:00") == 2 * 86400 + 3600
    assert neware_csv.parse_duration(dt.timedelta(hours=30)) == 108000
    assert neware_csv.parse_duration(dt.time(1, 2, 3)) == 3723
    assert neware_csv.parse_duration(dt.datetime(1899, 12, 31, 6)) == 30 * 3600  # Excel day 1 + 6 h
    assert neware_csv.parse_duration(1.5, "min") == 90
    assert np.isnan(neware_csv.parse_duration(""))
    with pytest.raises(ValueError, match="could not convert"):
        neware_csv.parse_duration("soon")


def _interp_test_xlsx(corpus: Path, path: Path) -> Path:
    """The first 40 records of interp-test.csv as BTSDA writes an .xlsx (time and date cells)."""
    import openpyxl

    source = corpus / "neware-csv" / "interp-test.csv"
    table = pd.read_csv(source, encoding="cp1252", dtype=str, keep_default_na=False).iloc[:40, :31]
    book = openpyxl.Workbook()
    book.active.title = "test"
    book.active.append(["Start time", "2025-06-17"])
    sheet = book.create_sheet("record")
    sheet.append(list(table.columns))
    for values in table.itertuples(index=False):
        cells: list = [float(x) if x.replace(".", "", 1).replace("-", "", 1).isdigit() else x for x in values]
        cells[4] = dt.timedelta(seconds=neware_csv.parse_duration(values[4]))  # a time cell
        cells[20] = dt.datetime.fromisoformat(values[20])  # a date cell
        sheet.append(cells)
    book.save(path)
    return path


def test_xlsx_export_reads_like_its_csv(corpus: Path, tmp_path: Path) -> None:
    source = corpus / "neware-csv" / "interp-test.csv"
    xlsx = _interp_test_xlsx(corpus, tmp_path / "interp-test.xlsx")
    got = eisna.read_cycling(xlsx)
    want = eisna.read_cycling(source).iloc[:40]
    assert len(got) == 40
    for col in ("time_s", "voltage_V", "current_A", "capacity_Ah", "step_time_s"):
        np.testing.assert_allclose(got[col], want[col], err_msg=col)
    assert (got["timestamp"] == want["timestamp"]).all()
    with pytest.raises(NoImpedanceData, match=r"eisna\.read_cycling"):
        eisna.read(xlsx)


@pytest.mark.parametrize("name", ["interp-test.dat", "interp-test"])
def test_renamed_xlsx_export_is_read_by_content(corpus: Path, tmp_path: Path, capsys, name: str) -> None:
    """A BTSDA .xlsx renamed .dat or saved without an extension is still cycling data."""
    from eisna.cli import main

    xlsx = _interp_test_xlsx(corpus, tmp_path / "interp-test.xlsx")
    renamed = tmp_path / "renamed" / name
    renamed.parent.mkdir()
    renamed.write_bytes(xlsx.read_bytes())
    assert find_reader(renamed, need="read_cycling") is neware_csv
    got, want = eisna.read_cycling(renamed), eisna.read_cycling(xlsx)
    assert len(got) == 40
    pd.testing.assert_frame_equal(got, want)
    # (.dat is the table reader's extension: it finds no impedance columns in the record sheet)
    with pytest.raises(
        NoImpedanceData, match=r"eisna\.read_cycling" if name == "interp-test" else "no impedance"
    ):
        eisna.read(renamed)
    assert main(["info", str(renamed)]) == 0
    out = capsys.readouterr().out
    assert "  format: neware-csv" in out and "  cycling rows: 40\n" in out


def test_renamed_synthetic_xlsx_export_is_read_by_content(tmp_path: Path) -> None:
    """The same without the corpus: a flat record sheet in mA, V and mAh."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "record"
    rows = [
        HEADER.format(i="mA", v="V", q="mAh").rstrip(",\n").split(","),
        [1, 1, 1, "Rest", "00:00:00", "00:00:00", 0.0, 3.70, 0.0, dt.datetime(2024, 1, 2, 3, 4, 5)],
        [2, 1, 2, "CC_Chg", "00:00:10", "00:00:10", 2.5, 3.75, 0.0069, dt.datetime(2024, 1, 2, 3, 4, 15)],
    ]
    for row in rows:
        book.active.append(row)
    path = tmp_path / "export"
    book.save(path.with_suffix(".xlsx"))
    path.with_suffix(".xlsx").rename(path)
    got = eisna.read_cycling(path)
    np.testing.assert_allclose(got["time_s"], [0.0, 10.0])
    np.testing.assert_allclose(got["voltage_V"], [3.70, 3.75])
    np.testing.assert_allclose(got["current_A"], [0.0, 0.0025])
    assert list(got["step_type"]) == ["Rest", "CC_Chg"]
    assert got["timestamp"].iloc[1] == pd.Timestamp("2024-01-02 03:04:15")


def test_renamed_workbooks_that_are_no_neware_export(corpus: Path, tmp_path: Path) -> None:
    """A generic impedance workbook renamed .dat is still an impedance table; a renamed .xls
    says it is one; a ZIP that is no workbook is not claimed."""
    from eisna.errors import UnsupportedFormatError

    source = corpus / "other-formats" / "pyimpspec" / "data.xlsx"
    renamed = tmp_path / "data.dat"
    renamed.write_bytes(source.read_bytes())
    got, want = eisna.read(renamed), eisna.read(source)
    assert len(got) == len(want) > 0
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a.freq, b.freq)
        np.testing.assert_array_equal(a.z, b.z)
    with pytest.raises(ParseError, match=r"data\.dat: no sheet has a Neware record header"):
        eisna.read_cycling(renamed)
    old = tmp_path / "old.dat"
    old.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(600))
    with pytest.raises(ParseError, match=r"old\.dat: legacy Excel \.xls files are not supported"):
        eisna.read_cycling(old)
    archive = tmp_path / "notes.dat"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("notes.txt", "no workbook")
    assert not neware_csv.sniff_fallback(archive.read_bytes()[:4096])
    with pytest.raises(UnsupportedFormatError):
        eisna.read_cycling(archive)


def test_nested_xlsx_export_reads_like_its_csv(corpus: Path, tmp_path: Path) -> None:
    import csv

    import openpyxl

    source = corpus / "neware-csv" / "nw_regular_export_ife_example.csv"
    with source.open(encoding="cp1252", newline="") as fh:
        lines = [row for _, row in zip(range(400), csv.reader(fh), strict=False)]
    head = tmp_path / "head.csv"  # the same 400 lines as CSV, to compare with
    head.write_text("\n".join(",".join(r) for r in lines) + "\n", encoding="cp1252")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "record"
    for row in lines:  # numbers as numbers, as Excel stores them; empty leading cells stay empty
        sheet.append(
            [float(x) if x.replace(".", "", 1).replace("-", "", 1).isdigit() else (x or None) for x in row]
        )
    xlsx = tmp_path / "nested.xlsx"
    book.save(xlsx)
    got, want = eisna.read_cycling(xlsx), eisna.read_cycling(head)
    assert len(got) == len(want) > 300  # record rows only: the cycle and step rows are skipped
    for col in ("time_s", "voltage_V", "current_A", "capacity_Ah", "cycle", "step"):
        np.testing.assert_allclose(got[col].astype(float), want[col].astype(float), err_msg=col)
    assert (got["step_type"] == want["step_type"]).all()


def test_legacy_xls_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(600))
    with pytest.raises(ParseError, match=r"old\.xls: legacy Excel \.xls files are not supported"):
        eisna.read_cycling(path)


def test_tab_separated_text_export(tmp_path: Path) -> None:
    text = HEADER.format(i="mA", v="V", q="mAh").replace(",", "\t")
    text += "1\t1\t1\tCC Chg\t00:00:01\t00:00:01\t2.5\t3.7\t0.5\t2024-01-02 03:04:05\t\n"
    path = _write_csv(tmp_path, text, "export.txt")
    assert neware_csv.sniff(path.read_bytes())
    got = eisna.read_cycling(path).iloc[0]
    assert (got["current_A"], got["voltage_V"], got["capacity_Ah"]) == (0.0025, 3.7, 0.0005)


def test_xlsx_without_record_sheet(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["freq", "zre", "zim"])
    path = tmp_path / "other.xlsx"
    book.save(path)
    with pytest.raises(ParseError, match=r"other\.xlsx: no sheet has a Neware record header"):
        neware_csv.read_cycling(path)


def test_sniff_claims_only_neware_exports(corpus: Path) -> None:
    for path in sorted((corpus / "neware-csv").iterdir()):
        assert neware_csv.sniff(path.read_bytes()[:4096]), path.name
    generic = b"freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n1000,10,5\n"
    assert not neware_csv.sniff(generic)
    assert not neware_csv.sniff(b"DataPoint,Frequency,Zre\n1,2,3\n")  # no cycling columns
    assert not neware_csv.sniff(b"PK\x03\x04")
    assert not neware_csv.sniff(b"")
    if (mpt := corpus_file("biologic-mpt", "peis.mpt")).exists():
        assert not neware_csv.sniff(mpt.read_bytes()[:4096])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (HEADER.format(i="A", v="V", q="Ah"), "no record rows"),
        (
            HEADER.format(i="A", v="V", q="Ah") + "1,1,1,Rest,00:00:00,00:00:00,0,3.1\n",
            r"line 2: the row has 8 cells",
        ),
        (
            HEADER.format(i="A", v="V", q="Ah")
            + "1,1,1,Rest,00:00:00,00:00:00,0,three,0,2024-01-02 03:04:05,\n",
            r"line 2, column 'Voltage\(V\)': expected a number, found 'three'",
        ),
        (
            HEADER.format(i="A", v="V", q="Ah") + "1,1,1,Rest,00:00:00,later,0,3.1,0,2024-01-02 03:04:05,\n",
            r"line 2, column 'Total Time': expected a duration",
        ),
        (
            HEADER.format(i="GA", v="V", q="Ah")
            + "1,1,1,Rest,00:00:00,00:00:00,0,3.1,0,2024-01-02 03:04:05,\n",
            r"column 'Current\(GA\)': unknown or missing unit 'ga'",
        ),
        (
            "DataPoint,Cycle Index,Step Index,Step Type,Total Time,Voltage(V)\n1,1,1,Rest,00:00:00,3.1\n",
            r"bad\.csv, line 1: no current column",
        ),
    ],
)
def test_bad_csv_raises_parse_error(tmp_path: Path, text: str, match: str) -> None:
    path = _write_csv(tmp_path, text, "bad.csv")
    with pytest.raises(ParseError, match=match) as info:
        eisna.read_cycling(path)
    assert "bad.csv" in str(info.value)


def test_truncated_corpus_csv(corpus: Path, tmp_path: Path) -> None:
    data = (corpus / "neware-csv" / "neware_uio.csv").read_bytes()
    path = tmp_path / "cut.csv"
    path.write_bytes(data[:5000])
    # read up to the cut, like the binary readers: the cut line 26 is left out and said
    with pytest.warns(TruncatedDataWarning, match=r"cut\.csv, line 26: the file looks truncated"):
        frame = eisna.read_cycling(path)
    whole = eisna.read_cycling(corpus / "neware-csv" / "neware_uio.csv")
    assert len(frame) == 24  # records on lines 2..25
    pd.testing.assert_frame_equal(frame, whole.iloc[:24], check_like=False)
    assert frame.attrs == {"truncated": True, "dropped": {"cut last line": 1}}


def test_non_neware_csv_falls_through(tmp_path: Path) -> None:
    path = _write_csv(tmp_path, "a,b\n1,2\n", "plain.csv")
    with pytest.raises(EisnaError, match=r"plain\.csv"):
        neware_csv.read_cycling(path)


def test_chinese_gbk_export(tmp_path: Path) -> None:
    text = (
        "记录序号,循环序号,工步序号,工步类型,工步时间,总时间,电流(mA),电压(V),容量(mAh),系统时间\n"
        "1,1,1,恒流放电,00:00:01,26:00:01,-12.5,3.7,0.1,2024-01-02 03:04:05\n"
    )
    path = _write_csv(tmp_path, text, "zh.csv", encoding="gbk")
    assert neware_csv.sniff(path.read_bytes())
    got = eisna.read_cycling(path).iloc[0]
    assert (got["time_s"], got["current_A"], got["voltage_V"]) == (93601.0, -0.0125, 3.7)
    assert got["capacity_Ah"] == pytest.approx(-1e-4)
    assert got["step_type"] == "CC_DChg"


def test_read_of_non_neware_table_is_handed_on(tmp_path: Path) -> None:
    import importlib.util

    path = _write_csv(tmp_path, "freq,zre,zim\n1000,10,-5\n100,12,-6\n", "imp.csv")
    if importlib.util.find_spec("eisna.io.table") is None:
        with pytest.raises(ParseError, match=r"imp\.csv.*not a Neware BTSDA export"):
            neware_csv.read(path)
    else:
        from eisna.io import table

        assert len(neware_csv.read(path)) == len(table.read(path))


def test_ndax_is_a_zip_with_ndc(corpus: Path) -> None:
    # guards the sniff assumption: member names sit in the first 4 KiB
    with zipfile.ZipFile(corpus / "neware-ndax" / "test_2.ndax") as archive:
        assert "data.ndc" in archive.namelist()


def test_impossible_binary_timestamps_become_nat() -> None:
    from eisna.errors import MetadataWarning

    unix_s = np.array([1.7e9, 1e15, np.nan])
    with pytest.warns(MetadataWarning, match=r"bad\.nda: 1 record\(s\) have impossible timestamps"):
        stamps = neware_nda._timestamps(Path("bad.nda"), unix_s)
    assert stamps[0] == pd.Timestamp(1.7e9, unit="s", tz="UTC")
    assert stamps[1:].isna().all()


@pytest.mark.parametrize(
    "name", ["neware-ndax/test.ndax", "neware-nda/nda_v22.nda", "neware-csv/interp-test.csv"]
)
def test_mutated_neware_bytes_raise_only_eisna_errors(corpus: Path, tmp_path: Path, name: str) -> None:
    import warnings

    rng = np.random.default_rng(2026)
    data = (corpus / name).read_bytes()
    outcomes = set()
    for trial in range(12):
        mutated = bytearray(data)
        for _ in range(int(rng.integers(1, 8))):
            k = int(rng.integers(len(mutated)))
            if trial % 3 == 0:
                mutated[k] = int(rng.integers(256))
            elif trial % 3 == 1:
                del mutated[k : k + int(rng.integers(1, 300))]
            else:
                mutated = mutated[: max(k, 1)]
        path = tmp_path / f"m{trial}{Path(name).suffix}"
        path.write_bytes(bytes(mutated))
        for func in (eisna.read, eisna.read_cycling):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    func(path)
                    outcomes.add("ok")
                except EisnaError as err:
                    assert path.name in str(err)
                    outcomes.add(type(err).__name__)
    assert "NoImpedanceData" in outcomes  # read() of a Neware file that still parses
