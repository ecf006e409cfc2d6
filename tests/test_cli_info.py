"""``eisna info``, run in-process, against values known from the corpus files."""

from __future__ import annotations

import pytest

from eisna.cli import main


def test_info_on_multi_spectrum_file(corpus, capsys):
    path = corpus / "biologic-mpt" / "geis.mpt"
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == str(path)
    assert "  format: biologic-mpt" in out
    assert "  technique: GEIS" in out
    assert "  spectra: 61; points per spectrum: 39–41" in out
    assert "  frequency range: 0.1998 Hz – 1e+06 Hz" in out
    # "Acquisition started on : 03/03/2021 20:40:41.000"; time/s runs on to 45354.45 s
    assert "  start time: 2021-03-03 20:40:41\n" in out
    assert "  first spectrum at: 2021-03-04 09:16:35.454 (t = 45354.5 s)" in out
    assert "cycling rows" not in out


def test_info_on_several_files(corpus, capsys):
    folder = corpus / "biologic-mpt"
    paths = [folder / "peis.issue_225.with_ece.mpt", folder / "mb.issue_95.de.mpt", folder / "ex1.mpt"]
    assert main(["info", *map(str, paths)]) == 0
    out = capsys.readouterr().out
    assert "  spectra: 1; points per spectrum: 32" in out
    assert "  frequency range: 1.002 Hz – 2e+05 Hz" in out
    assert "  start time: 2025-08-01 11:42:36.840" in out
    # the Modulo Bat file without EIS: no spectra, 33 cycling rows
    expected = (
        "  spectra: none (no impedance data)\n  cycling rows: 33\n  start time: 2022-12-08 14:36:53.355\n"
    )
    assert expected in out
    # anonymised date: unknown start, the warning printed once
    assert "  spectra: 2; points per spectrum: 59" in out
    assert out.count("warning: cannot read the start date") == 1


def test_info_on_bad_file_reports_and_continues(corpus, tmp_path, capsys):
    bad = tmp_path / "broken.mpt"
    bad.write_bytes(b"EC-Lab ASCII FILE\nNb header lines : 70\n")
    good = corpus / "biologic-mpt" / "zir.mpt"
    assert main(["info", str(bad), str(good)]) == 1
    captured = capsys.readouterr()
    assert f"eisna: error: {bad}" in captured.err
    assert "no data rows" in captured.err
    assert "  spectra: 1; points per spectrum: 1" in captured.out
    assert "  frequency range: 1.002e+04 Hz – 1.002e+04 Hz" in captured.out


@pytest.mark.parametrize("argv", [["info"], ["info", "--nope"]])
def test_info_bad_usage(argv, capsys):
    assert main(argv) == 2


def test_info_names_the_format_the_spectra_were_read_as(corpus, capsys):
    # an .xlsx is picked by extension (neware-csv) and handed to the table reader, which
    # recognises the Autolab NOVA sheet: info names that, not the extension's reader
    from eisna.cli import main

    assert main(["info", str(corpus / "other-formats/nrel-osif/example_EIS_data.xlsx")]) == 0
    out = capsys.readouterr().out
    assert "  format: autolab\n" in out
    assert "neware" not in out


# ------------------------------------------------ what the reader decided (stop 19: abstime, readaudit)


def test_info_on_an_absolute_time_export_says_the_date_order_and_why(corpus, tmp_path, capsys):
    from datetime import datetime

    from .test_io_biologic_abstime import _absolute

    source = corpus / "biologic-mpt" / "geis.mpt"
    text, _ = _absolute(source.read_bytes(), datetime(2021, 3, 3, 20, 40, 41), "DMY")
    path = tmp_path / "geis.mpt"
    path.write_bytes(text)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    # the same start and first spectrum as the elapsed export (test_info_on_multi_spectrum_file)
    assert "  start time: 2021-03-03 20:40:41\n" in out
    assert "  first spectrum at: 2021-03-04 09:16:35.454 (t = 45354.5 s)\n" in out
    expected = (
        "  time format: absolute (dates and clock times in time/s)\n"
        "  date order: DMY; the day first (DD/MM/YYYY) reading starts closest after "
        "'Acquisition started on : 03/03/2021 20:40:41.000'\n"
        "  time origin: Acquisition started on (t = 0 s)\n"
    )
    assert expected in out
    assert main(["info", str(source)]) == 0  # the elapsed original: nothing of the sort
    out = capsys.readouterr().out
    assert "time format" not in out and "date order" not in out and "time origin" not in out


def test_info_on_an_absolute_time_export_without_header_date(tmp_path, capsys):
    from .test_io_biologic_abstime import _small

    # day first: 5 Mar, 6 Mar, 7 Feb goes back; month first: May 3, Jun 3, Jul 2 runs forward
    rows = ["05/03/2023 10:00:00.0000", "06/03/2023 10:00:00.0000", "07/02/2023 09:00:00.0000"]
    path = tmp_path / "back.mpt"
    path.write_bytes(_small(rows, None))
    assert main(["info", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[5:] == [
        "  start time: 2023-05-03 10:00:00",
        "  first spectrum at: 2023-05-03 10:00:00 (t = 0 s)",
        "  time format: absolute (dates and clock times in time/s)",
        "  date order: MDY; the time runs forward only when read month first (MM/DD/YYYY)",
        "  time origin: first data row (t = 0 s)",
    ]


def test_info_says_a_cut_last_line_and_a_wrong_header_count(tmp_path, capsys):
    head = (
        "EC-Lab ASCII FILE\nNb header lines : 5\n\nPotentio Electrochemical Impedance Spectroscopy\n\n"
        "freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\ttime/s\t\n"
    )  # the names are on line 6
    rows = (
        "1.0000000E+005\t1.0000000E+001\t1.0000000E+000\t1.000000000000000E+000\n"
        "1.0000000E+004\t1.2000000E+001\t3.0000000E+000\t2.000000000000000E+000\n"
        "1.0000000E+003\t1.5000000E+001\t5.0000000E+000\t3.0000"  # copied while EC-Lab wrote it
    )
    path = tmp_path / "off.mpt"
    path.write_bytes((head + rows).encode("cp1252"))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "  spectra: 1; points per spectrum: 2\n" in out
    assert "  cut last line: 1 left out of the spectra\n" in out
    assert (
        "  header lines: 5 declared ('Nb header lines'), which is wrong; the column names were found "
        "within two lines of it\n"
    ) in out
    path.write_bytes((head.replace(": 5", ": 6") + rows[: rows.rindex("\n")] + "\n").encode("cp1252"))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "  spectra: 1; points per spectrum: 2\n" in out
    assert "cut last line" not in out and "header lines" not in out


def test_info_says_a_cut_last_line_of_cycling_rows(corpus, tmp_path, capsys):
    import re

    from .test_io_variants import cut_in_the_last_date

    src = corpus / "neware-csv" / "nw_regular_export_ife_example.csv"
    path = cut_in_the_last_date(src, tmp_path / "cut.csv")
    assert main(["info", str(src)]) == 0
    whole = capsys.readouterr().out
    rows = int(re.search(r"cycling rows: (\d+)", whole)[1])  # type: ignore[index]
    assert "cut last line" not in whole
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"  cycling rows: {rows - 1}\n" in out
    assert "  cut last line: 1 left out of the cycling rows\n" in out
