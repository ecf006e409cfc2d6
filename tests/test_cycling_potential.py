"""Cell voltage of EC-Lab cycling files: ``read_cycling(potential="auto"|"Ewe"|"Ewe-Ece")``.

The corpus file that records the counter electrode in a cycling run is ``mb.issue_218``
(Modulo Bat, Na|NASICON|Na, ``Record Ece``): its ``.mpt`` has ``Ece/V`` and ``Ewe-Ece/V``
columns, its ``.mpr`` stores ``Ece/V``. Expected values come from the raw columns, parsed here
without eisna; the rules are checked on small synthetic exports.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import eisna
from eisna.cli import main
from eisna.errors import MissingColumnError, ParseError, UsageError
from eisna.io import biologic_mpr, biologic_mpt
from eisna.io.neware_nda import CYCLING_COLUMNS

from .conftest import SAMPLES


def _raw_mpt_columns(path: Path) -> dict[str, np.ndarray]:
    """The named columns of an EC-Lab text export, parsed with the standard library and numpy."""
    lines = path.read_bytes().decode("cp1252").replace("\r", "").split("\n")
    n_header = int(re.search(r"Nb header lines\s*:\s*(\d+)", lines[1]).group(1))
    names = lines[n_header - 1].rstrip("\t").split("\t")
    rows = [line.split("\t") for line in lines[n_header:] if line.strip()]
    table = np.array([[float(cell.replace(",", ".")) for cell in row[: len(names)]] for row in rows])
    return {name: table[:, k] for k, name in enumerate(names)}


# ------------------------------------------------------------------ corpus: a file with Ece


def test_mpt_with_ece_gives_ewe_minus_ece(corpus):
    path = corpus / "biologic-mpt" / "mb.issue_218.mpt"
    raw = _raw_mpt_columns(path)
    frame = eisna.read_cycling(path)
    assert frame.attrs["potential"] == "Ewe-Ece"
    assert "Ewe-Ece/V" in frame.attrs["potential_reason"]
    # the export's own Ewe-Ece/V column, and Ewe minus Ece to its 8 printed digits
    np.testing.assert_array_equal(frame["voltage_V"], raw["Ewe-Ece/V"])
    np.testing.assert_allclose(frame["voltage_V"], raw["Ewe/V"] - raw["Ece/V"], rtol=0, atol=1e-7)
    np.testing.assert_array_equal(frame["Ewe_V"], raw["Ewe/V"])
    np.testing.assert_array_equal(frame["Ece_V"], raw["Ece/V"])
    # Ece is not zero in this file: the choice changes voltage_V
    assert np.abs(raw["Ece/V"]).max() > 1e-4


def test_mpt_with_ece_forced_to_ewe(corpus):
    path = corpus / "biologic-mpt" / "mb.issue_218.mpt"
    raw = _raw_mpt_columns(path)
    frame = eisna.read_cycling(path, potential="Ewe")
    assert frame.attrs["potential"] == "Ewe"
    np.testing.assert_array_equal(frame["voltage_V"], raw["Ewe/V"])
    np.testing.assert_array_equal(frame["Ece_V"], raw["Ece/V"])  # kept alongside


def test_mpr_with_ece_gives_ewe_minus_ece(corpus):
    frame = eisna.read_cycling(corpus / "biologic-mpr" / "mb.issue_218.mpr")
    raw = _raw_mpt_columns(corpus / "biologic-mpt" / "mb.issue_218.mpt")  # its text export
    assert frame.attrs["potential"] == "Ewe-Ece"
    assert ".mpr stores Ece" in frame.attrs["potential_reason"]
    assert len(frame) == len(raw["Ewe/V"])
    # float32 in the .mpr, 8 digits in the export
    np.testing.assert_allclose(frame["voltage_V"], raw["Ewe/V"] - raw["Ece/V"], rtol=0, atol=1e-7)
    np.testing.assert_allclose(frame["voltage_V"], raw["Ewe-Ece/V"], rtol=0, atol=1e-7)
    np.testing.assert_allclose(frame["Ece_V"], raw["Ece/V"], rtol=0, atol=1e-8)
    mpt = eisna.read_cycling(corpus / "biologic-mpt" / "mb.issue_218.mpt")
    assert list(frame.columns) == list(mpt.columns)  # a binary file and its export agree


def test_mpr_with_ece_forced_to_ewe(corpus):
    frame = biologic_mpr.read_cycling(corpus / "biologic-mpr" / "mb.issue_218.mpr", potential="Ewe")
    raw = _raw_mpt_columns(corpus / "biologic-mpt" / "mb.issue_218.mpt")
    assert frame.attrs["potential"] == "Ewe"
    np.testing.assert_allclose(frame["voltage_V"], raw["Ewe/V"], rtol=0, atol=1e-8)  # float32 vs 8 digits


@pytest.mark.parametrize(
    "name", ["biologic-mpt/mb.issue_95.mpt", "biologic-mpt/mb.issue_149.mpt", "biologic-mpr/mb.issue_95.mpr"]
)
def test_files_without_ece_keep_ewe_and_their_columns(corpus, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = eisna.read_cycling(corpus / name)
    assert frame.attrs["potential"] == "Ewe"
    assert "Ewe_V" not in frame.columns and "Ece_V" not in frame.columns
    if name.endswith(".mpt"):
        np.testing.assert_array_equal(frame["voltage_V"], _raw_mpt_columns(corpus / name)["Ewe/V"])
    with pytest.raises(MissingColumnError, match=re.escape(name.split("/")[1])):
        eisna.read_cycling(corpus / name, potential="Ewe-Ece")


# ------------------------------------------------------------------ synthetic exports: the rules

_EWE = (3.0, 3.1, 3.2, 3.3)
_ECE = (0.5, 0.4, 0.3, 0.2)


def _mpt(
    tmp_path: Path,
    header: tuple[str, ...] = (),
    *,
    ece: tuple[float, ...] | None = _ECE,
    ewe_ece: tuple[float, ...] | None = None,
    name: str = "cell.mpt",
    ewe_column: str = "Ewe/V",
) -> Path:
    """A four-row Galvanostatic Cycling export with the given settings lines and columns."""
    columns: dict[str, tuple[float, ...]] = {
        "time/s": (0.0, 1.0, 2.0, 3.0),
        ewe_column: _EWE,
        "I/mA": (0.1, 0.1, -0.1, -0.1),
    }
    if ece is not None:
        columns["Ece/V"] = ece
    if ewe_ece is not None:
        columns["Ewe-Ece/V"] = ewe_ece
    columns["cycle number"] = (1.0, 1.0, 1.0, 1.0)
    connection = (
        []
        if any(line.startswith("Electrode connection") for line in header)
        else ["Electrode connection : standard"]
    )
    settings = ["Run on channel : 1 (SN 1)", *connection, *header]
    top = ["EC-Lab ASCII FILE", "", "", "Galvanostatic Cycling with Potential Limitation", "", *settings]
    n_header = len(top) + 1
    top[1] = f"Nb header lines : {n_header}"
    rows = ["\t".join(f"{columns[c][k]:.6E}" for c in columns) for k in range(4)]
    text = "\n".join([*top, "\t".join(columns) + "\t", *rows]) + "\n"
    path = tmp_path / name
    path.write_bytes(text.replace("\n", "\r\n").encode("cp1252"))
    return path


@pytest.mark.parametrize(
    ("header", "line"),
    [
        (("Potential control : Ewe-Ece",), "Potential control : Ewe-Ece"),
        (("Potential control : Ewe", "Record Ece"), "Record Ece"),
        (("Electrode connection : CE to ground",), "Electrode connection : CE to ground"),
    ],
)
def test_auto_takes_ewe_minus_ece_when_the_header_says_ce_is_measured(tmp_path, header, line):
    frame = eisna.read_cycling(_mpt(tmp_path, header))
    assert frame.attrs["potential"] == "Ewe-Ece"
    assert line in frame.attrs["potential_reason"]
    np.testing.assert_allclose(frame["voltage_V"], np.subtract(_EWE, _ECE), rtol=0, atol=1e-12)
    np.testing.assert_allclose(frame["Ewe_V"], _EWE)
    np.testing.assert_allclose(frame["Ece_V"], _ECE)


def test_auto_keeps_ewe_when_nothing_in_the_header_says_so(tmp_path):
    frame = eisna.read_cycling(_mpt(tmp_path, ("Potential control : Ewe",)))
    assert frame.attrs["potential"] == "Ewe"
    assert "header says neither" in frame.attrs["potential_reason"]
    np.testing.assert_allclose(frame["voltage_V"], _EWE)
    np.testing.assert_allclose(frame["Ece_V"], _ECE)  # kept, so that it can be looked at


@pytest.mark.parametrize("ece", [(0.0, 0.0, 0.0, 0.0), (np.nan,) * 4])
def test_auto_keeps_ewe_when_ece_is_all_zero_or_nan(tmp_path, ece):
    frame = eisna.read_cycling(_mpt(tmp_path, ("Potential control : Ewe-Ece",), ece=ece))
    assert frame.attrs["potential"] == "Ewe"
    assert "all zero or NaN" in frame.attrs["potential_reason"]
    np.testing.assert_allclose(frame["voltage_V"], _EWE)


def test_auto_takes_the_exported_ewe_minus_ece_column_first(tmp_path):
    # values that differ from Ewe - Ece show which one was taken
    column = (1.0, 1.5, 2.0, 2.5)
    frame = eisna.read_cycling(_mpt(tmp_path, ("Potential control : Ewe",), ewe_ece=column))
    assert frame.attrs["potential"] == "Ewe-Ece"
    np.testing.assert_allclose(frame["voltage_V"], column)


def test_auto_without_ece_is_ewe_with_the_old_columns(tmp_path):
    frame = eisna.read_cycling(_mpt(tmp_path, ("Potential control : Ewe-Ece",), ece=None))
    assert frame.attrs == {
        "potential": "Ewe",
        "potential_reason": "no Ece column (counter electrode not recorded)",
    }
    # the common cycling table (no start date in this export: no timestamp)
    assert tuple(frame.columns) == tuple(c for c in CYCLING_COLUMNS if c != "timestamp")
    np.testing.assert_allclose(frame["voltage_V"], _EWE)


def test_bt_lab_ecell_is_the_cell_voltage(tmp_path):
    # BT-Lab writes Ecell = Ewe − Ece itself, with no Ewe column
    path = _mpt(tmp_path, ("Potential control : Ewe",), ece=None, ewe_column="Ecell/V")
    for potential in ("auto", "Ewe-Ece"):
        frame = eisna.read_cycling(path, potential=potential)
        assert frame.attrs["potential"] == "Ewe-Ece"
        assert "'Ecell/V'" in frame.attrs["potential_reason"]
        assert "Ewe_V" not in frame.columns
        np.testing.assert_allclose(frame["voltage_V"], _EWE)
    with pytest.raises(MissingColumnError, match=r"cell\.mpt.*'Ewe/V'.*found only BT-Lab's 'Ecell/V'"):
        eisna.read_cycling(path, potential="Ewe")


def test_forced_ewe_minus_ece_without_the_header_line(tmp_path):
    frame = biologic_mpt.read_cycling(_mpt(tmp_path, ("Potential control : Ewe",)), potential="Ewe-Ece")
    assert frame.attrs["potential"] == "Ewe-Ece"
    np.testing.assert_allclose(frame["voltage_V"], np.subtract(_EWE, _ECE), rtol=0, atol=1e-12)


def test_forced_ewe_minus_ece_on_a_file_without_ece_says_what_to_do(tmp_path):
    path = _mpt(tmp_path, ece=None, name="two_electrode.mpt")
    with pytest.raises(MissingColumnError) as caught:
        eisna.read_cycling(path, potential="Ewe-Ece")
    message = str(caught.value)
    assert message.startswith(f"{path}, column 'Ece/V': ")
    assert "expected an 'Ece/V'" in message and "found no such column" in message
    assert "potential='auto' or 'Ewe'" in message and "Record Ece" in message
    assert isinstance(caught.value, ParseError) and isinstance(caught.value, UsageError)


def test_forced_ewe_minus_ece_with_an_empty_ece_column(tmp_path):
    path = _mpt(tmp_path, ece=(np.nan,) * 4)
    with pytest.raises(MissingColumnError, match=r"'Ece/V' holds no finite value"):
        eisna.read_cycling(path, potential="Ewe-Ece")


@pytest.mark.parametrize("value", ["ewe", "Ece", "Ewe - Ece", None])
def test_unknown_potential_is_refused_before_reading(tmp_path, value):
    missing = tmp_path / "never_read.mpt"  # the value is checked before the file is opened
    for read_cycling in (eisna.read_cycling, biologic_mpt.read_cycling, biologic_mpr.read_cycling):
        with pytest.raises(UsageError, match=r"potential must be one of 'auto', 'Ewe', 'Ewe-Ece'"):
            read_cycling(missing, potential=value)


def test_neware_takes_auto_only():
    path = SAMPLES / "nas_cycling.csv"
    frame = eisna.read_cycling(path, potential="auto")
    assert "potential" not in frame.attrs and "Ewe_V" not in frame.columns  # unchanged
    for value in ("Ewe", "Ewe-Ece"):
        with pytest.raises(UsageError, match=rf"nas_cycling\.csv: potential='{value}' applies to EC-Lab"):
            eisna.read_cycling(path, potential=value)


# ------------------------------------------------------------------ CLI and batch


def test_info_prints_the_cell_voltage_and_takes_potential(tmp_path, capsys):
    path = _mpt(tmp_path, ("Record Ece",))
    assert main(["info", str(path)]) == 0
    assert (
        "  cell voltage: Ewe-Ece (Ewe minus 'Ece/V'; the header says 'Record Ece')" in capsys.readouterr().out
    )
    assert main(["info", "--potential", "Ewe", str(path)]) == 0
    assert "  cell voltage: Ewe (asked for (potential='Ewe'))" in capsys.readouterr().out
    bare = _mpt(tmp_path, ece=None, name="bare.mpt")
    assert main(["info", str(bare)]) == 0
    assert "cell voltage" not in capsys.readouterr().out  # files without Ece print what they did
    assert main(["info", "--potential", "Ewe-Ece", str(bare)]) == 2
    assert (
        "column 'Ece/V': potential='Ewe-Ece' needs the counter-electrode potential" in capsys.readouterr().err
    )


def test_batch_potential_needs_cycling(capsys):
    code = main(["batch", str(SAMPLES / "nas_looped.mpt"), "--out", "unused", "--potential", "Ewe"])
    assert code == 2
    assert "--potential Ewe: applies to the --cycling file" in capsys.readouterr().err


def test_batch_passes_potential_to_the_cycling_reader(tmp_path, monkeypatch):
    import eisna.batching

    seen = {}

    def fake_batch(paths, circuit, **kwargs):
        seen.update(kwargs)
        raise UsageError("stop here")

    monkeypatch.setattr(eisna.batching, "batch", fake_batch)
    cycling = _mpt(tmp_path, ("Record Ece",))
    args = [
        "batch",
        str(SAMPLES / "nas_looped.mpt"),
        "--out",
        str(tmp_path / "out"),
        "--cycling",
        str(cycling),
    ]
    assert main([*args, "--potential", "Ewe"]) == 2
    assert seen["cycling_potential"] == "Ewe"
    seen.clear()
    assert main(args) == 2
    assert "cycling_potential" not in seen  # the default of batch(): auto


def test_cycling_context_records_the_potential(tmp_path):
    from eisna.cycling import cycling_context

    path = _mpt(tmp_path, ("Record Ece",))
    context = cycling_context(path, potential="Ewe-Ece")
    record = json.loads(json.dumps(context.to_dict()))
    assert record["potential"] == "Ewe-Ece"
    assert record["potential_reason"] == "asked for; Ewe minus 'Ece/V'"
    np.testing.assert_allclose(context.data["voltage_V"], np.subtract(_EWE, _ECE), rtol=0, atol=1e-12)
    neware = cycling_context(SAMPLES / "nas_cycling.csv").to_dict()
    assert "potential" not in neware  # cycling.json of Neware files is unchanged
