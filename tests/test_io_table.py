"""Generic impedance tables: column names, delimiters, decimal comma, signs and units."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import eisna
from eisna.errors import NoImpedanceData, ParseError
from eisna.io import table


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("ec_lab_names.csv", "freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n1000,10,1\n100,12,3\n10,20,8\n"),
        ("primes.csv", "Frequency (Hz),Z' (Ohm),-Z'' (Ohm)\n1000,10,1\n100,12,3\n10,20,8\n"),
        ("physical.tsv", "f/Hz\tZreal\tZimag\n1000\t10\t-1\n100\t12\t-3\n10\t20\t-8\n"),
        ("comments.txt", "# exported by X\n# 2024-01-01\nfreq Zre Zim\n1e3 10 -1\n1e2 12 -3\n1e1 20 -8\n"),
        ("semicolon_comma.csv", "Frequency;Re(Z);-Im(Z)\n1000,0;10,0;1,0\n100;12;3\n10;20;8\n"),
        ("unicode.csv", "frequency,Z′,Z″\n1000,10,-1\n100,12,-3\n10,20,-8\n"),
        ("headerless.csv", "1000,10,-1\n100,12,-3\n10,20,-8\n"),
        ("trailing_delimiter.csv", "freq,Z',Z'',\n1000,10,-1,\n100,12,-3,\n10,20,-8,\n"),
    ],
    ids=lambda v: v if isinstance(v, str) and "\n" not in v else "",
)
def test_names_and_delimiters(tmp_path, name, text):
    spectra = eisna.read(_write(tmp_path, name, text))
    assert len(spectra) == 1
    np.testing.assert_array_equal(spectra[0].freq, [1000.0, 100.0, 10.0])
    np.testing.assert_array_equal(spectra[0].z, [10 - 1j, 12 - 3j, 20 - 8j])
    assert spectra[0].meta["format"] == "table"


def test_modulus_and_phase(tmp_path):
    path = _write(tmp_path, "polar.csv", "Freq,|Z|,Phase\n1000,10,-30\n100,20,-60\n")
    z = eisna.read(path)[0].z
    np.testing.assert_allclose(z, [10 * np.exp(-1j * np.pi / 6), 20 * np.exp(-1j * np.pi / 3)])


def test_real_part_without_an_imaginary_column_takes_modulus_and_phase(tmp_path):
    # an unrecognised Im column (a mangled header) beside Re Z, |Z| and phase: the modulus and
    # phase are used (it used to fail with KeyError 'z_imag')
    text = "freq/Hz,Re(Z)/Ohm,-I?(Z)/Ohm,|Z|/Ohm,Phase(Z)/deg\n1000,8.66,5,10,-30\n100,10,17.3,20,-60\n"
    z = table.read(_write(tmp_path, "mangled.csv", text))[0].z
    np.testing.assert_allclose(z, [10 * np.exp(-1j * np.pi / 6), 20 * np.exp(-1j * np.pi / 3)])


def test_units_scale_values(tmp_path):
    path = _write(tmp_path, "units.csv", "freq/kHz,Z'/kOhm,-Z''/kOhm\n1,10,1\n0.1,12,3\n")
    s = eisna.read(path)[0]
    np.testing.assert_array_equal(s.freq, [1000.0, 100.0])
    np.testing.assert_array_equal(s.z, [10000 - 1000j, 12000 - 3000j])


def test_explicit_columns_and_sign(tmp_path):
    path = _write(tmp_path, "odd.csv", "a,b,c,d\n5,1000,10,1\n6,100,12,3\n")
    s = table.read(path, columns={"freq": "b", "z_real": 2, "z_imag": "d"}, imag_sign=-1)[0]
    np.testing.assert_array_equal(s.freq, [1000.0, 100.0])
    np.testing.assert_array_equal(s.z, [10 - 1j, 12 - 3j])
    with pytest.raises(ParseError, match=r"odd\.csv.*column 'x' for 'freq' not found"):
        table.read(path, columns={"freq": "x", "z_real": "c", "z_imag": "d"})


def test_sweeps_are_split_and_zero_freq_dropped(tmp_path):
    text = "freq,Zre,Zim\n0,1,1\n1000,10,-1\n100,12,-3\n10,20,-8\n1000,11,-1\n100,13,-3\n10,21,-8\n"
    spectra = eisna.read(_write(tmp_path, "two.csv", text))
    assert [len(s) for s in spectra] == [3, 3]
    assert spectra[1].z[0] == 11 - 1j
    assert spectra[0].meta["n_dropped"] == 1


def test_no_impedance_columns_lists_columns(tmp_path):
    path = _write(tmp_path, "cycling.csv", "time,voltage,current\n1,2,3\n4,5,6\n")
    with pytest.raises(NoImpedanceData, match=r"cycling\.csv.*\['time', 'voltage', 'current'\]"):
        eisna.read(path)


def test_neware_csv_is_not_an_impedance_table(corpus):
    path = corpus / "neware-csv" / "interp-test.csv"
    assert not table.sniff(path.read_bytes()[:4096])
    with pytest.raises(NoImpedanceData, match=r"interp-test\.csv.*'DataPoint'"):
        table.read(path)


def test_bad_number_and_empty(tmp_path):
    path = _write(tmp_path, "bad.csv", "freq,Zre,Zim\n1000,10,-1\n\n100,1x2,-3\n")
    with pytest.raises(ParseError, match=r"bad\.csv, line 4, column 'Zre': expected a number, found '1x2'"):
        eisna.read(path)
    with pytest.raises(ParseError, match=r"empty\.csv.*empty"):
        table.read(_write(tmp_path, "empty.csv", "\n"))
    with pytest.raises(ParseError, match=r"words\.txt: no numeric data rows"):
        table.read(_write(tmp_path, "words.txt", "just some words\nand more\n"))


def test_find_columns():
    found = table.find_columns(["time/s", "freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm", "|Z|/Ohm", "Phase(Z)/deg"])
    assert found == {"freq": (1, 1), "z_real": (2, 1), "z_imag": (3, -1), "z_mod": (4, 1), "phase": (5, 1)}


# ---------------------------------------------------------------------------
# Alias table, signs, units, splits, drops, workbooks, vendor text
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "role", "sign", "unit"),
    [
        ("Z' (Ω)", "z_real", 1, "Ω"),
        ("Zs'[ohm]", "z_real", 1, "ohm"),
        ("Zre (ohms)", "z_real", 1, "ohms"),
        ("Re(Z)/Ohm", "z_real", 1, "Ohm"),
        ("Zreal", "z_real", 1, ""),
        ("-Z'", "z_real", -1, ""),
        ("-Z'' (Ω)", "z_imag", -1, "Ω"),
        ("-Im(Z)/Ohm", "z_imag", -1, "Ohm"),
        ("Zimg", "z_imag", 1, ""),
        ("Zs''[ohm]", "z_imag", 1, "ohm"),
        ('Z"/ohm', "z_imag", 1, "ohm"),
        ("Z''(b)", "z_imag", 1, "b"),
        ("|Z|/Ohm", "z_mod", 1, "Ohm"),
        ("Z/ohm", "z_mod", 1, "ohm"),
        ("Mod", "z_mod", 1, ""),
        ("Phase(Z)/deg", "phase", 1, "deg"),
        ("-Phase (°)", "phase", -1, "°"),
        ("phase (rad)", "phase", 1, "rad"),
        ("Freq.[Hz]", "freq", 1, "Hz"),
        ("Frequency (Hz)", "freq", 1, "Hz"),
        ("freq/kHz", "freq", 1, "kHz"),
        ("time/s", "time", 1, "s"),
        ("Time (s)", "time", 1, "s"),
        ("Elapsed Time (s)", "time", 1, "s"),
        ("loop_index", "split", 1, ""),
        ("cycle number", "split", 1, ""),
        ("Temp.[K]", "temperature", 1, "K"),
        ("T (°C)", "temperature", 1, "°C"),
        ("Potential (V)", "potential", 1, "V"),
        ("<I>/mA", "current", 1, "mA"),
        ("Capacity/mA.h", None, 1, "mA.h"),
    ],
)
def test_alias_table(name, role, sign, unit):
    from eisna.io.table_aliases import parse_name

    parsed = parse_name(name)
    assert (parsed.role(), parsed.sign, parsed.unit) == (role, sign, unit)


def test_ec_lab_csv_loop_index_elapsed_and_drops(tmp_path):
    rows = ["time/s,freq/Hz,|Z|/Ohm,Phase(Z)/deg,loop_index"]
    rows += ["0.0,0,0,0,0", "1.5,1000,10,-10,0", "2.5,100,20,-30,0", "3.0,0,0,0,0"]
    rows += ["60.0,1000,11,-11,1", "61.0,100,21,-31,1", "62.0,10,0,0,1"]
    spectra = eisna.read(_write(tmp_path, "eclab.csv", "\n".join(rows) + "\n"))
    assert [len(s) for s in spectra] == [2, 2]
    assert [s.elapsed_s for s in spectra] == [1.5, 60.0]
    assert [s.meta["cycle"] for s in spectra] == [0, 1]
    # as in the EC-Lab readers, a dropped row counts with the next spectrum: row 0, then rows 3 and 6
    assert [s.meta["n_dropped"] for s in spectra] == [1, 2]
    assert spectra[1].meta["dropped"] == {"freq<=0": 1, "|Z|=0": 1}
    np.testing.assert_allclose(spectra[0].z[0], 10 * np.exp(-1j * np.deg2rad(10)))


def test_blank_line_and_repeated_header_split_spectra(tmp_path):
    text = "f,Z',Z''\n100,1,-1\n10,2,-2\n\n100,3,-3\n10,4,-4\nf,Z',Z''\n100,5,-5\n10,6,-6\n"
    spectra = eisna.read(_write(tmp_path, "blocks.csv", text))
    assert [s.z[0] for s in spectra] == [1 - 1j, 3 - 3j, 5 - 5j]


def test_imaginary_sign_from_the_values(tmp_path):
    # "Zim" holds -Z'' here: capacitive arcs have Z'' < 0, so mostly positive values mean -Z''
    text = "Frequency,Zre,Zim\n1000,10,1\n100,12,3\n10,20,8\n5,25,6\n1,30,-0.5\n"
    s = eisna.read(_write(tmp_path, "positive.csv", text))[0]
    np.testing.assert_array_equal(s.z.imag, [-1.0, -3.0, -8.0, -6.0, 0.5])
    assert s.meta["header"]["imag_sign"]["sign"] == -1
    assert s.meta["header"]["imag_sign"]["from"].startswith("values")
    s = table.read(_write(tmp_path, "positive2.csv", text), imag_sign=1)[0]
    assert s.z.imag[0] == 1.0


def test_phase_in_radians_by_unit_and_by_values(tmp_path):
    by_unit = "freq,|Z|,phase (rad)\n1000,10,-0.5\n100,20,-1.0\n"
    z = eisna.read(_write(tmp_path, "rad.csv", by_unit))[0].z
    np.testing.assert_allclose(z, [10 * np.exp(-0.5j), 20 * np.exp(-1.0j)])
    by_values = "freq,Mod,Phase\n1000,10,-0.5\n100,20,-1.0\n"
    s = eisna.read(_write(tmp_path, "rad2.csv", by_values))[0]
    np.testing.assert_allclose(s.z, [10 * np.exp(-0.5j), 20 * np.exp(-1.0j)])
    assert s.meta["header"]["phase_unit"].startswith("rad")


def test_not_finite_rows_are_dropped_and_counted(tmp_path):
    text = "freq,Zre,Zim\n1000,10,-1\n100,,-3\n50,inf,-3\n,12,-3\n10,20,-8\n"
    s = eisna.read(_write(tmp_path, "holes.csv", text))[0]
    np.testing.assert_array_equal(s.freq, [1000.0, 10.0])
    assert s.meta["n_dropped"] == 3
    assert s.meta["dropped"] == {"freq not finite": 1, "Z not finite": 2}


def test_metadata_block_above_the_table(tmp_path):
    text = (
        "Instrument: X 1000\nDate: 2024-05-01 10:00\nArea (cm2) = 0.5\nSettings 1, 2, 3\n\n"
        "Frequency (Hz)\tZ' (Ohm)\t-Z'' (Ohm)\n1000\t10\t1\n100\t12\t3\n"
    )
    s = eisna.read(_write(tmp_path, "meta_above.txt", text))[0]
    np.testing.assert_array_equal(s.z, [10 - 1j, 12 - 3j])
    assert s.meta["header"]["header_line"] == 5


def test_workbook_sheets_and_decimal_comma_cells(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "notes"
    notes.append(["operator", "me"])
    data = book.create_sheet("EIS")
    data.append(["Sample LLZO"])
    data.append([])
    data.append(["Frequency (Hz)", "Z' (Ω)", "-Z'' (Ω)", "Time (s)"])
    data.append([1000, 10, 1, 5])
    data.append(["100", "12,5", "3", 6])
    data.append([])
    data.append([1000, 11, 1, 65])
    data.append([100, 13, 3, 66])
    path = tmp_path / "book.xlsx"
    book.save(path)
    spectra = eisna.read(path)
    assert [s.elapsed_s for s in spectra] == [5.0, 65.0]
    np.testing.assert_array_equal(spectra[0].z, [10 - 1j, 12.5 - 3j])
    assert spectra[0].meta["header"]["sheet"] == "EIS"
    assert spectra[0].meta["header"]["sheets_without_impedance"] == ["notes"]
    with pytest.raises(ParseError, match=r"book\.xlsx: sheet 'nope' not found"):
        table.read(path, sheet="nope")


NOVOCONTROL = """Novocontrol WinDETA ASCII export
Freq.[Hz]\tZs'[ohm]\tZs''[ohm]\tTemp.[°C]
1.0000E+07\t1.2000E+03\t-2.0000E+02\t25.1
1.0000E+05\t5.0000E+03\t-1.5000E+03\t24.9
1.0000E+03\t9.0000E+03\t-5.0000E+02\t25.0
1.0000E+07\t6.0000E+02\t-1.0000E+02\t50.0
1.0000E+05\t2.5000E+03\t-7.0000E+02\t50.2
1.0000E+03\t4.5000E+03\t-2.0000E+02\t49.8
"""


def test_novocontrol_temperature_series(tmp_path):
    from eisna.io import novocontrol
    from eisna.io._registry import find_reader

    path = _write(tmp_path, "pellet.txt", NOVOCONTROL)
    assert find_reader(path) is novocontrol
    spectra = eisna.read(path)
    assert [len(s) for s in spectra] == [3, 3]
    assert [s.meta["temperature_K"] for s in spectra] == [298.15, 323.15]
    assert spectra[0].meta["format"] == "novocontrol"
    np.testing.assert_array_equal(spectra[1].z[0], 600 - 100j)


def test_novocontrol_temperature_from_file_name(tmp_path):
    text = "Freq.[Hz]\tZs'[ohm]\tZs''[ohm]\n1e6\t100\t-10\n1e3\t400\t-50\n"
    s = eisna.read(_write(tmp_path, "NASICON_pellet_373K.txt", text))[0]
    assert s.meta["temperature_K"] == 373.0 and s.meta["temperature_from"] == "file name"
    s = eisna.read(_write(tmp_path, "pellet-80C.txt", text))[0]
    assert s.meta["temperature_K"] == 353.15
    s = eisna.read(_write(tmp_path, "pellet_-20C.txt", text))[0]
    assert s.meta["temperature_K"] == 253.15


# Built from RelaxIS's documented export options (no public example file was found).
RELAXIS = """RelaxIS 3 - Spectrum export
Spectrum:\tLLZO 25 °C
Temperature [K]:\t298.15
Potential [V]:\t0.1
Frequency [Hz]\tZ' [Ohm]\tZ'' [Ohm]
1000000\t512.3\t-80.1
1000\t900.5\t-300.2

Spectrum:\tLLZO 40 °C
Temperature [K]:\t313.15
Potential [V]:\t0.1
Frequency [Hz]\tZ' [Ohm]\tZ'' [Ohm]
1000000\t300.0\t-40.0
1000\t600.0\t-200.0
"""


def test_relaxis_two_spectra_with_their_own_metadata(tmp_path):
    from eisna.io import relaxis
    from eisna.io._registry import find_reader

    path = _write(tmp_path, "export.txt", RELAXIS)
    assert find_reader(path) is relaxis
    spectra = eisna.read(path)
    assert [s.meta["name"] for s in spectra] == ["LLZO 25 °C", "LLZO 40 °C"]
    assert [s.meta["temperature_K"] for s in spectra] == [298.15, 313.15]
    assert [s.meta["index"] for s in spectra] == [0, 1]
    assert spectra[0].meta["Ewe_V"] == 0.1
    np.testing.assert_array_equal(spectra[1].z, [300 - 40j, 600 - 200j])


def test_plain_txt_table_is_not_claimed_by_a_vendor_reader(tmp_path):
    from eisna.io._registry import find_reader

    path = _write(tmp_path, "plain.txt", "freq Zre Zim\n1e3 10 -1\n1e2 12 -3\n")
    assert find_reader(path) is table


def test_zip_bomb_workbook_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "bomb.ods"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("content.xml", b"<a>" + b" " * 20_000_000 + b"</a>")
    with pytest.raises(ParseError, match=r"bomb\.ods: the workbook expands to 20000007 bytes"):
        eisna.read(path)


def test_a_sentence_naming_the_columns_is_not_the_header(tmp_path):
    text = "Note: frequency sweep, |Z| and phase recorded\nfreq\tZ'\tZ''\n1000\t10\t-1\n100\t12\t-3\n"
    s = eisna.read(_write(tmp_path, "sentence.txt", text))[0]
    assert s.meta["header"]["header_line"] == 1
    np.testing.assert_array_equal(s.z, [10 - 1j, 12 - 3j])
