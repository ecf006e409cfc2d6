"""Layouts seen in real instrument files outside the corpus (benchmarks/audit_foreign_files.py).

Each fixture is a minimal text written here that reproduces one structure found in a public
export: a Gamry clock time with fractional seconds or AM/PM and the GALVEIS tag, a Gamry
record starting with its tag instead of EXPLAIN (Virtual Front Panel), a RelaxIS 3
export (``Data:`` column prefixes, a label line per spectrum), an EC-Lab text export saved
without its header, ``eisna info`` on files holding neither spectra nor cycling rows, and
the EC-Lab log (.mpl), settings (.mps) and loop index (_LOOP.txt) files, which hold no data
and are said by name.
"""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

import eisna
from eisna.cli.info import describe
from eisna.errors import NoImpedanceData

GAMRY = (
    "EXPLAIN\nTAG\t{tag}\nTITLE\tLABEL\tGalvanostatic EIS\tTest Identifier\n"
    "DATE\tLABEL\t{date}\tDate\nTIME\tLABEL\t{clock}\tTime\nNOTES\tNOTES\t1\tNotes...\n\t\n"
    "ZCURVE\tTABLE\n\tPt\tTime\tFreq\tZreal\tZimag\tZsig\tZmod\tZphz\tIdc\tVdc\tIERange\n"
    "\t#\ts\tHz\tohm\tohm\tV\tohm\t°\tA\tV\t#\n"
    "\t0\t1.5\t100000\t0.047\t0.17\t1\t0.176\t74.5\t0.53\t1.46\t12\n"
    "\t1\t2.5\t100\t0.026\t-0.0048\t1\t0.027\t-10.3\t0.50\t1.46\t12\n"
)


def _write(tmp_path: Path, name: str, text: str, encoding: str = "cp1252") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("date", "clock", "expected"),
    [
        ("10/25/2024", "21:09:58.727375", datetime(2024, 10, 25, 21, 9, 58, 727375)),
        ("10/25/2024", "21:09:58,5", datetime(2024, 10, 25, 21, 9, 58, 500000)),
        ("10/25/2024", "2:29:15 PM", datetime(2024, 10, 25, 14, 29, 15)),
        ("10/25/2024", "12:05:00 AM", datetime(2024, 10, 25, 0, 5, 0)),
        ("25.1.2024", "11:02:08", datetime(2024, 1, 25, 11, 2, 8)),
    ],
)
def test_gamry_clock_times_with_fractions_and_am_pm_keep_the_start(tmp_path, date, clock, expected):
    path = _write(tmp_path, "galv.DTA", GAMRY.format(tag="GALVEIS", date=date, clock=clock))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "not a date and time (anonymised?)" warning
        (spectrum,) = eisna.read(path)
    assert spectrum.timestamp == expected
    assert spectrum.meta["technique"] == "GEIS"
    np.testing.assert_array_equal(spectrum.freq, [100000.0, 100.0])
    np.testing.assert_array_equal(spectrum.z, [0.047 + 0.17j, 0.026 - 0.0048j])


RELAXIS = (
    "RelaxIS 3.0 Spectrum export\n"
    "Date: 12/16/2025 2:29:15 PM\n"
    "Data: Frequency\tData: Z'\tData: Z''\tFit: Z'\tFit: Z''\n"
    "DC=-0.08, TM=33.7, J=-5E-6\tModel: Unassigned Spectra\t(WE/RE Spectrum) cell_C01.mpr_1\t\t\n"
    "0.1\t1800\t-8000\t1.0\t-1.0\n"
    "1000\t1500\t-500\t1.0\t-1.0\n"
    "DC=0.25, TM=90.5, J=0\tModel: RC\t(WE/RE Spectrum) cell_C01.mpr_2\t\t\n"
    "0.1\t2800\t-9000\t1.0\t-1.0\n"
    "1000\t2500\t-600\t1.0\t-1.0\n"
)


def test_relaxis_export_with_data_prefixes_and_label_lines(tmp_path):
    path = _write(tmp_path, "export_RelaxIS.txt", RELAXIS, "utf-8")
    first, second = eisna.read(path)
    # the Data: columns, not the Fit: columns; Z'' is the physical imaginary part
    np.testing.assert_array_equal(first.freq, [0.1, 1000.0])
    np.testing.assert_array_equal(first.z, [1800 - 8000j, 1500 - 500j])
    np.testing.assert_array_equal(second.z, [2800 - 9000j, 2500 - 600j])
    assert [s.meta["name"] for s in (first, second)] == ["cell_C01.mpr_1", "cell_C01.mpr_2"]
    assert [s.meta["Ewe_V"] for s in (first, second)] == [-0.08, 0.25]
    assert second.meta["settings"]["Model"] == "RC"
    assert [s.meta["index"] for s in (first, second)] == [0, 1]
    # the Date: line is when the export was written, not when the spectrum was measured
    assert first.timestamp is None


CV_HEADERLESS = (
    "\nmode\tox/red\terror\tcontrol changes\tNs changes\tcounter inc.\ttime/s\tEwe/V\tI/mA\t"
    "cycle number\t\n"
    "2\t0\t0\t1\t0\t0\t0.0508\t-0.39181\t-4.0969\t0\n"
    "2\t0\t0\t1\t0\t0\t1.0508\t-0.39972\t-0.0339\t0\n"
    "2\t1\t0\t1\t0\t0\t2.0508\t-0.39969\t0.0117\t1\n"
)


def test_ec_lab_export_without_header_is_known_as_ec_lab(tmp_path):
    from eisna.io import biologic_mpt
    from eisna.io._registry import find_reader

    for name in ("ca_noheader.mpt", "ca_noheader.txt"):
        path = _write(tmp_path, name, CV_HEADERLESS)
        assert find_reader(path) is biologic_mpt
        with pytest.raises(NoImpedanceData, match=rf"{name}: no impedance data: expected a 'freq/Hz'"):
            eisna.read(path)
        frame = eisna.read_cycling(path)
        np.testing.assert_allclose(frame["time_s"], [0.0508, 1.0508, 2.0508])
        np.testing.assert_allclose(frame["voltage_V"], [-0.39181, -0.39972, -0.39969])
        np.testing.assert_allclose(frame["current_A"], [-4.0969e-3, -0.0339e-3, 0.0117e-3])


def test_plain_table_with_time_columns_is_not_taken_for_ec_lab(tmp_path):
    from eisna.io import table
    from eisna.io._registry import find_reader

    path = _write(tmp_path, "rest.txt", "time /s\tI /mA\tE /V\n0.0\t0.0\t3.0\n60.0\t0.0\t3.0005\n")
    assert find_reader(path) is table


def test_info_gives_the_impedance_reason_when_no_cycling_reader_knows_the_file(tmp_path):
    path = _write(tmp_path, "rest.txt", "time /s\tI /mA\tE /V\n0.0\t0.0\t3.0\n60.0\t0.0\t3.0005\n")
    with pytest.raises(NoImpedanceData) as caught:
        describe(str(path))
    message = str(caught.value)
    assert message.startswith(f"{path}: no impedance columns")
    assert "['time /s', 'I /mA', 'E /V']" in message
    assert message.endswith("It holds no cycling data either.")
    assert "no reader recognises" not in message


def test_info_says_both_reasons_for_an_ec_lab_export_of_neither(tmp_path):
    text = "time/s\tEwe/V\t\n907.63\t0.0244\n907.64\t0.0871\n"
    path = _write(tmp_path, "gcpl_voltage_only.txt", text)
    with pytest.raises(NoImpedanceData) as caught:
        describe(str(path))
    message = str(caught.value)
    assert "no impedance data: expected a 'freq/Hz' column" in message
    assert "Not cycling data either: cycling data needs the columns ['I/mA']" in message


CV_WITH_START = (
    "EC-Lab ASCII FILE\nNb header lines : 6\n\nCyclic Voltammetry Advanced\n"
    "Acquisition started on : 07/29/2020 10:31:01\n"
    "mode\tox/red\terror\ttime/s\tEwe/V\t<I>/mA\tcycle number\t\n"
    "2\t0\t0\t3.289600104471901E+000\t8.7869531E-001\t-2.604324994466466E-003\t1\n"
    "2\t0\t0\t3.955800087642274E+000\t8.1211144E-001\t-7.623703322329901E-003\t1\n"
)


def test_info_on_cycling_rows_prints_no_pandas_nanosecond_warning(tmp_path):
    path = _write(tmp_path, "cv.mpt", CV_WITH_START)
    lines = describe(str(path))
    assert "  cycling rows: 2" in lines
    assert "  start time: 2020-07-29 10:31:01" in lines
    assert not [line for line in lines if "nanosecond" in line]


OCV_EXPORT = (
    "EC-Lab ASCII FILE\nNb header lines : 6\n\nOpen Circuit Voltage\n"
    "Acquisition started on : 01/16/2020 14:13:34\n"
    "mode\terror\ttime/s\tEwe/V\t\n"
    "3\t0\t0.000000000000000E+000\t2.5594452E-001\n"
    "3\t0\t5.999999848427251E+001\t2.6079172E-001\n"
)


def _cycling_rows(tmp_path, name, text, voltage_V, current_A):
    """``read_cycling`` of ``text`` saved as ``name``, its voltages and currents checked."""
    frame = eisna.read_cycling(_write(tmp_path, name, text))
    np.testing.assert_allclose(frame["voltage_V"], voltage_V)
    np.testing.assert_allclose(frame["current_A"], current_A)
    return frame


def test_ocv_export_is_cycling_data_at_zero_current(tmp_path):
    frame = _cycling_rows(tmp_path, "rest_01_OCV_C13.mpt", OCV_EXPORT, [0.25594452, 0.26079172], [0.0, 0.0])
    np.testing.assert_allclose(frame["time_s"], [0.0, 59.99999848427251])
    assert list(frame["step_type"]) == ["OCV", "OCV"]
    assert frame["timestamp"].iloc[0] == datetime(2020, 1, 16, 14, 13, 34)


def test_a_non_rest_export_without_current_still_says_what_is_missing(tmp_path):
    text = OCV_EXPORT.replace("Open Circuit Voltage", "Chronopotentiometry")
    path = _write(tmp_path, "cp_no_current.mpt", text)
    with pytest.raises(eisna.ParseError, match=r"cycling data needs the columns \['I/mA'\]"):
        eisna.read_cycling(path)


CONSTANT_CURRENT = (
    "EC-Lab ASCII FILE\nNb header lines : 6\n\nConstant Current\n"
    "Acquisition started on : 10/09/2024 13:36:20.501\n"
    "mode\tox/red\ttime/s\tcontrol/mA\t<Ewe/V>\tI/mA\t(Q-Qo)/mA.h\tNs\t\n"
    "3\t1\t7.004999823038816E+001\t0.0\t2.7996334E-003\t0.0\t2.19E-008\t0\n"
    "1\t1\t8.004999797776691E+001\t1.0E-002\t1.1801375E-002\t7.1624932E-003\t2.23E-008\t1\n"
)


def test_average_written_around_the_unit_is_the_potential(tmp_path):
    voltage_V, current_A = [2.7996334e-3, 1.1801375e-2], [0.0, 7.1624932e-6]
    frame = _cycling_rows(tmp_path, "cstc_02_CstC_C01.mpt", CONSTANT_CURRENT, voltage_V, current_A)
    np.testing.assert_array_equal(frame["step"], [0, 1])


EC_LAB_LOG = (
    "EC-Lab LOG FILE\n\nPotentio Electrochemical Impedance Spectroscopy\n\n"
    "Acquisition started on : 06/15/2023 16:30:52.260\nSaved on :\n\tFile : run_C01.mpr\n"
    "fi                  5.000               \nunit fi             MHz                 \n"
)
EC_LAB_SETTINGS = (
    "EC-LAB SETTING FILE\n\nNumber of linked techniques : 1\n\nTechnique : 1\n"
    "Potentio Electrochemical Impedance Spectroscopy\nfi                  100.000             \n"
)

EC_LAB_LOOPS = "VMP EXPERIMENT LOOP INDEXES\r\n0\r\n9\r\n18\r\n"


@pytest.mark.parametrize(
    ("name", "text", "what"),
    [
        ("run_C01.mpl", EC_LAB_LOG, "EC-Lab log file (.mpl)"),
        ("programme.mps", EC_LAB_SETTINGS, "EC-Lab settings file (.mps)"),
        ("renamed.txt", EC_LAB_LOG, "EC-Lab log file (.mpl)"),  # not taken for a plain table
        ("run_02_GEIS_C05_LOOP.txt", EC_LAB_LOOPS, "EC-Lab loop index file (_LOOP.txt)"),
    ],
)
@pytest.mark.parametrize("reader", [eisna.read, eisna.read_cycling])
def test_ec_lab_companion_files_are_named_and_pointed_to_the_data(tmp_path, name, text, what, reader):
    path = _write(tmp_path, name, text)
    with pytest.raises(eisna.errors.UnsupportedFormatError) as info:
        reader(path)
    message = str(info.value)
    assert name in message
    assert what in message
    assert ".mpr" in message and ".mpt" in message  # what to read instead
    assert "no reader recognises" not in message


VFP_RECORD = (
    "VFP600\r\nTAG\tVFP600\r\nCTRLMODE\tIQUANT\t1\tControl Mode\r\n"
    "FREQ\tQUANT\t1.50000E+1\tAcquisition Frequency (Hz)\r\nVFPCURVE\tTABLE\r\n"
    "\tVoltage\tCurrent\r\n\tV\tA\r\n\t0.029996\t5.303752E-11\r\n\t0.029981\t5.419374E-11\r\n"
)


def test_gamry_record_starting_with_its_tag_is_known_as_gamry(tmp_path):
    path = _write(tmp_path, "vfp.dta", VFP_RECORD)
    with pytest.raises(NoImpedanceData, match=r"vfp\.dta: Gamry VFP600 holds no impedance table"):
        eisna.read(path)


def test_foreign_text_under_the_gamry_extension_still_asks_for_explain(tmp_path):
    path = _write(tmp_path, "other.dta", "VFP600\nCTRLMODE\tIQUANT\t1\n")  # no TAG line after it
    with pytest.raises(eisna.errors.ParseError, match="starting with 'EXPLAIN'"):
        eisna.read(path)
