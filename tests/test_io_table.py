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
