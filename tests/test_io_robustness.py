"""Bad input of every kind: each reader raises an EisnaError that names the file, never anything else.

Damaged copies of real corpus files are made in ``tmp_path``; the corpus stays untouched.
"""

from __future__ import annotations

import random
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eisna
from eisna.errors import EisnaError, ParseError, TruncatedDataWarning
from eisna.io import biologic_mpt, table

from .conftest import CORPUS

# small files of every kind (kept small so that many mutations run quickly)
SAMPLES = (
    "biologic-mpt/peis.mpt",
    "biologic-mpt/zir.mpt",
    "biologic-mpt/mb.issue_95.de.mpt",
    "biologic-mpt/mb.issue_223.mpt",
    "biologic-mpr/zir.mpr",
    "biologic-mpr/peis.mpr",
    "biologic-mpr/mb.issue_223.mpr",
    "neware-nda/nda_v8.nda",
    "neware-ndax/scrubbed_ndc2.ndax",
    "neware-ndax/123456789012_Unit27_Example_Data_File.ndax",
    "neware-csv/interp-test.csv",
)
EXTENSIONS = (".mpt", ".mpr", ".nda", ".ndax", ".csv", ".txt")


def _expect_error_naming(path: Path, func=eisna.read) -> EisnaError:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(EisnaError) as info:
            func(path)
    assert str(path) in str(info.value)
    return info.value


@pytest.mark.parametrize("suffix", EXTENSIONS)
def test_empty_file(tmp_path, suffix):
    _expect_error_naming(_write(tmp_path / f"empty{suffix}", b""))


@pytest.mark.parametrize("suffix", EXTENSIONS)
def test_random_bytes(tmp_path, suffix):
    noise = random.Random(suffix).randbytes(5000)
    _expect_error_naming(_write(tmp_path / f"noise{suffix}", noise))


@pytest.mark.parametrize("name", SAMPLES, ids=lambda n: n.split("/")[1])
def test_truncated_copy(corpus, tmp_path, name):
    src = corpus / name
    data = src.read_bytes()
    cut = _write(tmp_path / f"cut_{src.name}", data[: len(data) // 3 + 7])
    if name in ("biologic-mpt/peis.mpt", "biologic-mpt/mb.issue_223.mpt"):
        # issue 14: the rows before the cut are read; the cut row is dropped and said
        with pytest.warns(TruncatedDataWarning, match=f"{cut}: the file looks truncated: the last line"):
            spectra = eisna.read(cut)
        assert spectra[-1].meta["truncated"] is True
        assert spectra[-1].meta["dropped"]["cut last line"] == 1
        return
    if name == "biologic-mpt/mb.issue_95.de.mpt":  # cycling only: the rows before the cut are read
        with pytest.warns(TruncatedDataWarning, match="the last line has no line end"):
            assert len(eisna.read_cycling(cut)) > 0
        return
    error = _expect_error_naming(cut)
    if src.suffix in (".mpt", ".mpr"):
        assert isinstance(error, ParseError)


def test_header_without_data(corpus, tmp_path):
    data = (corpus / "biologic-mpt" / "zir.mpt").read_bytes()
    header = data[: data.index(b"Loss Angle(Delta)/deg\t") + 22]
    _expect_error_naming(_write(tmp_path / "header_only.mpt", header))
    _expect_error_naming(_write(tmp_path / "header_only.csv", b"freq,Zre,Zim\n"))


def test_wrong_extension_is_read_by_content(corpus, tmp_path):
    src = corpus / "biologic-mpt" / "peis.mpt"
    renamed = _write(tmp_path / "peis.csv", src.read_bytes())
    spectra = eisna.read(renamed)
    assert spectra[0].meta["format"] == "biologic-mpt"
    assert len(spectra[0]) == 32
    # binary formats too: an .mpr called .txt, an .ndax called .csv
    mpr = _write(tmp_path / "peis_mpr.txt", (corpus / "biologic-mpr" / "peis.mpr").read_bytes())
    assert eisna.read(mpr)[0].meta["format"] == "biologic-mpr"
    ndax = _write(tmp_path / "test_ndax.csv", (corpus / "neware-ndax" / "test.ndax").read_bytes())
    assert len(eisna.read_cycling(ndax)) == 1464
    # and a table with an EC-Lab extension is refused by the EC-Lab reader, naming the file
    fake = _write(tmp_path / "table.mpt", b"freq,Zre,Zim\n1000,1,-1\n")
    assert "not an EC-Lab ASCII export" in str(_expect_error_naming(fake))


# ---------------------------------------------------------------- mutated corpus bytes


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


_CACHE: dict[str, bytes] = {}


def _sample(name: str) -> bytes:
    if name not in _CACHE:
        _CACHE[name] = (CORPUS / name).read_bytes()
    return _CACHE[name]


mutation = st.one_of(
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.floats(0, 1), st.just(0)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 64)),
)


def _mutate(data: bytes, mutations: list[tuple[str, float, int]]) -> bytes:
    buf = bytearray(data)
    for kind, where, value in mutations:
        i = min(int(where * len(buf)), max(len(buf) - 1, 0))
        if kind == "flip" and buf:
            buf[i] = value
        elif kind == "truncate":
            del buf[i:]
        elif kind == "insert":
            buf[i:i] = bytes([value]) * (1 + value % 7)
        elif kind == "delete":
            del buf[i : i + value]
    return bytes(buf)


def _check_read(name: str, data: bytes, funcs) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(name).name
        path.write_bytes(data)
        for func in funcs:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    func(path)
                except EisnaError as err:
                    assert str(path) in str(err)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SAMPLES), mutations=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_corpus_bytes_raise_only_eisna_errors(name, mutations):
    if not CORPUS.is_dir():
        pytest.skip(f"real-file corpus not found at {CORPUS}")
    _check_read(name, _mutate(_sample(name), mutations), (eisna.read, eisna.read_cycling))


MPT_SAMPLES = (*(n for n in SAMPLES if n.endswith(".mpt")), "biologic-mpt/geis.issue_149.mpt")


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(MPT_SAMPLES), mutations=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_mpt_direct_reader_raises_only_eisna_errors(name, mutations):
    """The .mpt and table readers themselves (without the registry's safety net)."""
    if not CORPUS.is_dir():
        pytest.skip(f"real-file corpus not found at {CORPUS}")
    data = _mutate(_sample(name), mutations)
    _check_read(name, data, (biologic_mpt.read, biologic_mpt.read_cycling))
    _check_read("table.csv", data, (table.read,))
