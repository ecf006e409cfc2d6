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
