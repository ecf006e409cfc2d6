"""Vendor readers called directly (without the registry's safety net) on damaged corpus files
raise only eisna errors, each naming the file."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eisna.errors import EisnaError
from eisna.io import (
    autolab_dfr,
    elchemea_i2b,
    gamry,
    ivium,
    json_table,
    p00,
    palmsens,
    versastudio,
    zahner,
    zview,
)

from .conftest import CORPUS

SAMPLES = {
    "other-formats/impedancepy/exampleDataGamryABORT.DTA": gamry,
    "other-formats/pyimpspec/drift-corrected-data.dta": gamry,
    "other-formats/impedancepy/exampleDataZPlot_noComments.z": zview,
    "other-formats/palmsens/eis_5freq.pssession": palmsens,
    "other-formats/zahner/rc-data.ism": zahner,
    "other-formats/pyimpspec/data.idf": ivium,
    "other-formats/pyimpspec/data.dfr": autolab_dfr,
    "other-formats/impedancepy/exampleDataVersaStudio.par": versastudio,
    "other-formats/pyimpspec/data.P00": p00,
    "other-formats/pyimpspec/data.i2b": elchemea_i2b,
    "other-formats/pyimpspec/data.json": json_table,
}

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


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(SAMPLES)), mutations=st.lists(mutation, min_size=1, max_size=4))
def test_damaged_files_raise_only_eisna_errors(name, mutations):
    if not CORPUS.is_dir():
        pytest.skip(f"real-file corpus not found at {CORPUS}")
    data = _mutate((CORPUS / name).read_bytes(), mutations)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(name).name
        path.write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                SAMPLES[name].read(path)
            except EisnaError as err:
                assert str(path) in str(err)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_empty_file(tmp_path, name):
    path = tmp_path / Path(name).name
    path.write_bytes(b"")
    with pytest.raises(EisnaError) as info:
        SAMPLES[name].read(path)
    assert str(path) in str(info.value)


def test_versastudio_cut_inside_the_first_row_is_a_clear_error(tmp_path):
    # Found by the mutation test: a file cut before the "Z Real" field of its only row
    # raised KeyError instead of an EisnaError naming the file.
    name = "other-formats/impedancepy/exampleDataVersaStudio.par"
    if not CORPUS.is_dir():
        pytest.skip(f"real-file corpus not found at {CORPUS}")
    text = (CORPUS / name).read_bytes().decode("latin-1")
    start = text.index("\n", text.index("Definition=")) + 1
    cut = text[:start] + "0,0,0,-3.282372E-06,1.812,-0.002441444,5,53,0,100000\n"
    path = tmp_path / "cut.par"
    path.write_bytes(cut.encode("latin-1"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(EisnaError) as info:
            versastudio.read(path)
    assert str(path) in str(info.value)
