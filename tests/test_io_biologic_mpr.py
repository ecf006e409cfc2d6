"""Tests of the EC-Lab binary reader (``eisna.io.biologic_mpr``) on the real-file corpus."""

from __future__ import annotations

import struct
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

import eisna.io
from eisna.errors import (
    EisnaError,
    MetadataWarning,
    NoCyclingData,
    NoImpedanceData,
    ParseError,
    TruncatedDataWarning,
)
from eisna.io import biologic_mpr
from eisna.io.biologic_mpr import UnknownColumnWarning, read, read_cycling, read_mpr, sniff
from eisna.io.neware_nda import CYCLING_COLUMNS

# name, spectra, points per spectrum (one value when all equal), first point from the .mpt twin
# (freq/Hz, Re(Z)/Ohm, -Im(Z)/Ohm, time/s), acquisition start from the LOG module, technique.
EXPECTED = [
    (
        "geis.issue_149.mpr",
        4,
        (21,),
        (1.9999814e5, 1.0078821e1, -2.1745603, 61.51519854509388),
        "2024-01-10T11:02:29.886",
        "GEIS",
    ),
    (
        "geis.mpr",
        61,
        (41,) * 60 + (39,),
        (1.0000186e6, -4.2986954e1, 8.0752533e1, 45354.4545011624),
        "2021-03-03T20:40:41",
        "GEIS",
    ),
    (
        "mb.issue_149.mpr",
        16,
        (13,),
        (1.0002226e4, 1.9658588e1, 1.0001298e1, 116.9148555077409),
        "2024-01-10T11:02:29.886",
        "PEIS",
    ),
    (
        "mb.mpr",  # Modulo Bat with column IDs 123-126; first EIS row is line 98 of mb.mpt
        8,
        (70,),
        (1.0000186e6, 1.3542760e2, 4.1891501e2, 1.332575728440745e3),
        "2021-08-23T11:44:40.646",
        "PEIS",
    ),
    (
        "mb.issue_223.mpr",
        4,
        (19,),
        (1.0003202e3, 3.2711428e-1, 1.0895800e-1, 30.72308810678078),
        "2025-07-30T09:24:35.408",
        "PEIS",
    ),
    (
        "peis.issue_149.mpr",
        4,
        (21,),
        (1.9999814e5, 1.2753284e1, 9.6167845e-1, 80.34147426584968),
        "2024-01-10T11:02:29.886",
        "PEIS",
    ),
    (
        "peis.issue_225.with_ece.mpr",
        1,
        (32,),
        (1.9999814e5, 1.2273843, 1.1151811e-1, 2.833530001196777),
        "2025-08-01T11:42:36.840",
        "PEIS",
    ),
    (
        "peis.issue_225.ewe_ece.mpr",
        1,
        (32,),
        (1.9999814e5, 1.2292420, 1.1167378e-1, 3.020527796790702),
        "2025-08-01T11:43:59.820",
        "PEIS",
    ),
    (
        "peis.mpr",
        1,
        (32,),
        (1.9999814e5, 1.0512296e1, 7.3047662e-1, 448.1567263361649),
        "2021-03-02T16:17:59",
        "PEIS",
    ),
    (
        "vsp_peis_with.mpr",
        32,
        (70,),
        (1.0000186e6, 1.0578955e1, -1.7952957e1, 90246.93951179367),
        None,
        "PEIS",
    ),
    (
        "zir.mpr",
        1,
        (1,),
        (1.0019531e4, 1.0407059e5, 9.3853563e4, 43202.98865059699),
        "2018-03-26T12:10:53",
        "ZIR",
    ),
]
IMPEDANCE_FILES = [row[0] for row in EXPECTED]


def _mpr(corpus: Path, name: str) -> Path:
    return corpus / "biologic-mpr" / name


# ---------------------------------------------------------------------------
# Reference spectra from the .mpt twin
# ---------------------------------------------------------------------------
def _mpt_table(path: Path) -> dict[str, np.ndarray]:
    """Tiny independent .mpt parser: columns aligned from the left, decimal comma allowed."""
    lines = path.read_bytes().decode("cp1252").replace("\r", "").split("\n")
    n_header = int(lines[1].split(":")[1])
    names = lines[n_header - 1].split("\t")
    rows = [line.replace(",", ".").split("\t") for line in lines[n_header:] if line.strip()]
    width = len(rows[0])
    table: dict[str, np.ndarray] = {}
    for j, name in enumerate(names[:width]):
        if name and name not in table:
            table[name] = np.array([float(r[j]) for r in rows])
    return table


# ---------------------------------------------------------------------------
# Corpus: values
# ---------------------------------------------------------------------------
def test_sniff() -> None:
    assert sniff(b"BIO-LOGIC MODULAR FILE\x1a    ")
    assert not sniff(b"EC-Lab ASCII FILE\r\n")
    assert biologic_mpr.NAME == "biologic-mpr" and biologic_mpr.EXTENSIONS == (".mpr",)


@pytest.mark.parametrize(("name", "count", "points", "first", "start", "technique"), EXPECTED)
def test_corpus_values(corpus, name, count, points, first, start, technique) -> None:
    spectra = read(_mpr(corpus, name))
    assert len(spectra) == count
    sizes = tuple(len(s) for s in spectra)
    assert sizes == (points * count if len(points) == 1 else points)
    s0 = spectra[0]
    freq, re, minus_im, time_s = first
    assert s0.freq[0] == pytest.approx(freq, rel=1e-6)
    assert s0.z[0].real == pytest.approx(re, rel=1e-5)
    assert s0.z[0].imag == pytest.approx(-minus_im, rel=1e-5)  # physical sign: Z″ = −(−Im)
    assert s0.elapsed_s == pytest.approx(time_s, abs=1e-6)
    assert s0.meta["technique"] == technique
    if start is None:
        assert s0.timestamp is None
    else:
        expected = datetime.fromisoformat(start) + timedelta(seconds=time_s)
        assert abs((s0.timestamp - expected).total_seconds()) < 1e-3
    for k, s in enumerate(spectra):
        assert s.meta["index"] == k
        assert s.meta["format"] == "biologic-mpr"
        assert s.meta["technique"] in ("PEIS", "GEIS", "ZIR")
        assert s.meta["source"] == str(_mpr(corpus, name))
        assert np.all(s.freq > 0)


@pytest.mark.parametrize("name", IMPEDANCE_FILES)
def test_mpr_matches_mpt_twin(corpus, name) -> None:
    from eisna.io import biologic_mpt

    spectra = read(_mpr(corpus, name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetadataWarning)
        reference = biologic_mpt.read(corpus / "biologic-mpt" / name.replace(".mpr", ".mpt"))
    assert len(spectra) == len(reference)
    for s, t in zip(spectra, reference, strict=True):
        assert len(s) == len(t)
        np.testing.assert_allclose(s.freq, t.freq, rtol=1e-6)
        scale = np.abs(t.z).max()
        np.testing.assert_allclose(s.z.real, t.z.real, rtol=1e-5, atol=1e-6 * scale)
        np.testing.assert_allclose(s.z.imag, t.z.imag, rtol=1e-5, atol=1e-6 * scale)
        assert s.elapsed_s == pytest.approx(t.elapsed_s, abs=1e-6)
        assert (s.timestamp is None) == (t.timestamp is None)
        if s.timestamp is not None and t.timestamp is not None:
            assert abs((s.timestamp - t.timestamp).total_seconds()) < 1.0
        for key in ("index", "cycle", "n_dropped"):
            assert s.meta[key] == t.meta[key], key
        if t.meta["technique"] is not None:  # a 3-line .mpt header names no technique
            assert s.meta["technique"] == t.meta["technique"]
        assert s.meta["Ewe_V"] == pytest.approx(t.meta["Ewe_V"], rel=1e-6, abs=1e-9)
        assert s.meta["I_A"] == pytest.approx(t.meta["I_A"], rel=1e-6, abs=1e-15)
        if t.meta.get("area_cm2"):
            assert s.meta["area_cm2"] == pytest.approx(t.meta["area_cm2"], rel=1e-6)


def test_geis_drops_zero_frequency_rows(corpus) -> None:
    spectra = read(_mpr(corpus, "geis.mpr"))
    # the first 29 rows of cycle 1 are time-domain points with freq = 0
    assert spectra[0].meta["n_dropped"] == 29
    assert sum(s.meta["n_dropped"] for s in spectra) == 2528 - 2499
    assert [s.meta["cycle"] for s in spectra] == list(range(1, 62))


def test_metadata(corpus) -> None:
    s = read(_mpr(corpus, "peis.issue_225.with_ece.mpr"))[0]
    assert s.meta["device"] == "VMP3 (SN 0858)"
    assert s.meta["software_version"] == "11.61"
    assert s.meta["area_cm2"] == pytest.approx(1.131, rel=1e-6)  # 113.100 mm² in the header
    assert s.meta["Ewe_V"] == pytest.approx(-0.0303, abs=5e-4)
    assert s.meta["header"]["settings"]["electrolyte"] == "2.0M Zn(ClO4)2 in water"
    assert s.meta["header"]["settings"]["characteristic_mass_g"] == pytest.approx(1.390e-3)
    g = read(_mpr(corpus, "geis.mpr"))[0]
    assert g.meta["area_cm2"] == pytest.approx(1.13, rel=1e-6)
    assert g.meta["header"]["settings"]["characteristic_mass_g"] == pytest.approx(5.544e-3)
    assert g.meta["header"]["settings"]["electrode_material"] == "LFP MBE3"
    assert g.meta["header"]["settings"]["comments"] == "25°C"
    assert g.meta["device"] == "VMP3 (SN 1083)"
    p = read(_mpr(corpus, "peis.mpr"))[0]
    assert p.meta["device"] == "SP-240 (SN 0200)"
    assert p.meta["software_version"] == "11.33"
    assert p.meta["I_A"] == pytest.approx(np.mean(read_mpr(_mpr(corpus, "peis.mpr")).data["<I>/mA"]) / 1e3)


def test_loop_module_and_no_log(corpus) -> None:
    mpr = read_mpr(_mpr(corpus, "peis.issue_149.mpr"))
    assert mpr.loop_index == (0, 21, 42, 63, 84)
    assert [m.name for m in mpr.modules] == ["VMP Set", "VMP data", "VMP LOG", "VMP loop"]
    vsp = read_mpr(_mpr(corpus, "vsp_peis_with.mpr"))
    assert [m.name for m in vsp.modules] == ["VMP Set", "VMP ExtDev", "VMP data"]
    assert vsp.start is None and vsp.version is None
    spectra = read(_mpr(corpus, "vsp_peis_with.mpr"))
    assert all(s.timestamp is None and s.elapsed_s is not None for s in spectra)
    assert spectra[0].meta["software_version"] is None


def test_modulo_bat_peis_geis(corpus) -> None:
    spectra = read(_mpr(corpus, "mb.issue_223.mpr"))
    assert [s.meta["technique"] for s in spectra] == ["PEIS", "GEIS", "PEIS", "GEIS"]
    assert [s.meta["cycle"] for s in spectra] == [0, 1, 2, 3]  # the z cycle
    mpr = read_mpr(_mpr(corpus, "mb.issue_223.mpr"))
    assert mpr.mb_sequences == ("Rest", "PEIS", "Rest", "GEIS", "Rest", "PEIS", "Rest", "GEIS", "Rest")
    assert "Energy we/W.h" in mpr.columns  # ID 880, unknown to older readers
    mb149 = read_mpr(_mpr(corpus, "mb.issue_149.mpr"))
    assert mb149.mb_sequences == ("Rest", "CC", "PEIS", "Loop")
    # z cycle resets mid-run, so sweeps are cut on contiguous impedance steps: 16 x 13 points
    sweeps = read(_mpr(corpus, "mb.issue_149.mpr"))
    assert [len(s) for s in sweeps] == [13] * 16
    assert [s.meta["cycle"] for s in sweeps][:6] == [0, 1, 2, 3, 1, 2]
    assert all(s.freq[0] == pytest.approx(10002.2256, rel=1e-6) for s in sweeps)


def test_flag_byte_unpacked(corpus) -> None:
    mpr = read_mpr(_mpr(corpus, "mb.issue_223.mpr"))
    table = _mpt_table(corpus / "biologic-mpt" / "mb.issue_223.mpt")
    for name in (
        "mode",
        "ox/red",
        "error",
        "control changes",
        "Ns changes",
        "counter inc.",
        "Ns",
        "half cycle",
        "z cycle",
        "I Range",
    ):
        np.testing.assert_array_equal(mpr.data[name], table[name].astype(int), err_msg=name)


def test_no_impedance_and_cycling(corpus) -> None:
    path = _mpr(corpus, "00_test_02_MB_C01.mpr")
    with pytest.raises(NoImpedanceData, match=r"00_test_02_MB_C01\.mpr"):
        read(path)
    with pytest.raises(NoImpedanceData):
        eisna.io.read(path)
    frame = read_cycling(path)
    assert tuple(frame.columns) == CYCLING_COLUMNS  # the common cycling table, with timestamp
    assert len(frame) == 11
    raw = read_mpr(path)
    np.testing.assert_allclose(frame["voltage_V"], raw.data["Ewe/V"])
    np.testing.assert_allclose(frame["current_A"], raw.data["I/mA"] / 1e3)
    expected = raw.start + timedelta(seconds=float(raw.data["time/s"][0]))
    assert abs((frame["timestamp"].iloc[0] - expected).total_seconds()) < 1e-3
    assert (frame["cycle"] == 0).all() and (frame["step"] == 0).all()


def test_cycling_of_modulo_bat_matches_mpt(corpus) -> None:
    frame = read_cycling(_mpr(corpus, "mb.issue_149.mpr"))
    table = _mpt_table(corpus / "biologic-mpt" / "mb.issue_149.mpt")
    assert len(frame) == 564
    np.testing.assert_allclose(frame["time_s"], table["time/s"], rtol=1e-12)
    np.testing.assert_allclose(frame["voltage_V"], table["Ewe/V"], rtol=1e-6)
    np.testing.assert_allclose(frame["current_A"], table["I/mA"] / 1e3, rtol=1e-6, atol=1e-15)
    np.testing.assert_allclose(frame["capacity_Ah"], table["(Q-Qo)/mA.h"] / 1e3, rtol=1e-6, atol=1e-15)
    np.testing.assert_array_equal(frame["step"], table["Ns"].astype(int))
    assert set(frame["step_type"]) == {"Rest", "CC", "PEIS"}
    np.testing.assert_array_equal(frame["cycle"], table["cycle number"].astype(int))


@pytest.mark.parametrize("name", ["mb.issue_149", "mb.issue_223"])
def test_cycling_frame_equals_mpt_reader(corpus, name) -> None:
    from eisna.io import biologic_mpt

    frame = read_cycling(_mpr(corpus, f"{name}.mpr"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetadataWarning)
        reference = biologic_mpt.read_cycling(corpus / "biologic-mpt" / f"{name}.mpt")
    assert list(frame.columns) == list(reference.columns)
    for column in ("time_s", "voltage_V", "current_A", "capacity_Ah"):
        np.testing.assert_allclose(frame[column], reference[column], rtol=1e-6, atol=1e-12, err_msg=column)
    for column in ("cycle", "step", "step_type"):
        assert frame[column].tolist() == reference[column].tolist(), column
    assert (frame["timestamp"] - reference["timestamp"]).abs().max().total_seconds() < 1e-3


def test_impedance_file_has_no_cycling_data(corpus) -> None:
    with pytest.raises(NoCyclingData, match=r"peis\.mpr.*impedance spectra \(PEIS\)"):
        read_cycling(_mpr(corpus, "peis.mpr"))


def test_dispatch_through_eisna_read(corpus) -> None:
    spectra = eisna.io.read(_mpr(corpus, "peis.mpr"))
    assert len(spectra) == 1 and len(spectra[0]) == 32


def _module(name: str, block: bytes, version: int) -> bytes:
    """An old-layout (pre-11.50) module: MODULE, names, length, version, date, data."""
    head = b"MODULE" + name.encode().ljust(10) + name.encode().ljust(25)
    return head + struct.pack("<II", len(block), version) + b"01/02/03" + block


def test_old_v0_data_layout_with_byte_ids(tmp_path) -> None:
    # The oldest layout (docs/file-formats): u1 column IDs at offset 5, rows from offset 100.
    freq = np.array([1000.0, 100.0, 10.0, 0.0, 1000.0, 100.0], dtype="<f4")
    re_z = np.array([10.0, 12.0, 20.0, 0.0, 11.0, 13.0], dtype="<f4")
    minus_im = np.array([1.0, 3.0, 8.0, 0.0, 1.5, 3.5], dtype="<f4")
    time_s = np.arange(6, dtype="<f8") * 10.0
    cycle = np.array([1, 1, 1, 1, 2, 2], dtype="<f8")
    ids = bytes([32, 37, 38, 4, 24])
    rows = np.empty(6, dtype=[("f", "<f4"), ("r", "<f4"), ("i", "<f4"), ("t", "<f8"), ("c", "<f8")])
    rows["f"], rows["r"], rows["i"], rows["t"], rows["c"] = freq, re_z, minus_im, time_s, cycle
    data = (struct.pack("<IB", 6, len(ids)) + ids).ljust(100, b"\0") + rows.tobytes()
    raw = b"BIO-LOGIC MODULAR FILE\x1a".ljust(48) + b"\0" * 4
    raw += _module("VMP Set", bytes([0x1D]) + b"\0" * 40, 0) + _module("VMP data", data, 0)
    path = tmp_path / "old.mpr"
    path.write_bytes(raw)
    spectra = read(path)
    assert [len(s) for s in spectra] == [3, 2]
    np.testing.assert_array_equal(spectra[1].z, [11.0 - 1.5j, 13.0 - 3.5j])
    assert spectra[0].meta["technique"] == "PEIS" and spectra[0].meta["n_dropped"] == 0
    assert spectra[1].meta["n_dropped"] == 1 and spectra[1].elapsed_s == 40.0
    assert spectra[0].timestamp is None  # no LOG module


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------
def _copy(tmp_path: Path, data: bytes, name: str = "bad.mpr") -> Path:
    target = tmp_path / name
    target.write_bytes(data)
    return target


# issue 14: a cut before the first complete record is refused; later cuts are read (below)
@pytest.mark.parametrize("cut", [10, 60, 80, 120, 3000, 6950, 7314, 7400])
def test_truncated_files_raise_parse_error(corpus, tmp_path, cut) -> None:
    raw = _mpr(corpus, "peis.mpr").read_bytes()
    path = _copy(tmp_path, raw[:cut], f"cut_{cut}.mpr")
    with pytest.raises(ParseError, match=rf"cut_{cut}\.mpr.*byte offset \d+") as info:
        read(path)
    assert info.value.offset is not None and 0 <= info.value.offset <= len(raw)


def _cut_reads(path: Path, full_z: np.ndarray, full_freq: np.ndarray) -> list:
    with pytest.warns(TruncatedDataWarning, match=rf"{path.name}: the file looks truncated") as record:
        spectra = read(path)
    assert all(str(path) in str(w.message) for w in record if issubclass(w.category, TruncatedDataWarning))
    z = np.concatenate([s.z for s in spectra])
    freq = np.concatenate([s.freq for s in spectra])
    # every point read before the cut equals the full read, in order
    np.testing.assert_array_equal(z, full_z[: z.size])
    np.testing.assert_array_equal(freq, full_freq[: freq.size])
    assert spectra[-1].meta["truncated"] is True
    assert all(s.meta["truncated"] is False for s in spectra[:-1])
    return spectra


@pytest.mark.parametrize(
    "name", ["peis.mpr", "peis.issue_149.mpr", "mb.issue_223.mpr", "vsp_peis_with.mpr", "geis.mpr"]
)
def test_cut_inside_the_data_module_reads_the_complete_records(corpus, tmp_path, name) -> None:
    src = _mpr(corpus, name)
    raw = src.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = read(src)
        mpr = read_mpr(src)
    full_z = np.concatenate([s.z for s in full])
    full_freq = np.concatenate([s.freq for s in full])
    data = next(m for m in mpr.modules if m.name == "VMP data")
    start = data.offset + biologic_mpr._data_start(data)
    stop = data.offset + data.length
    record = (stop - start) // mpr.n_rows
    n_read = []
    for fraction in (0.02, 0.37, 0.5, 0.83, 0.999):
        cut = start + int(fraction * (stop - start))
        if (cut - start) // record == 0 or cut >= stop:
            continue
        path = _copy(tmp_path, raw[:cut], f"cut_{cut}_{name}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MetadataWarning.__base__)  # other notices of the file
            try:
                spectra = _cut_reads(path, full_z, full_freq)
            except NoImpedanceData:  # a Modulo Bat file cut before its first impedance step
                assert name.startswith("mb.") and fraction < 0.1
                continue
        n_read.append(sum(len(s) for s in spectra))
    assert n_read == sorted(n_read) and n_read[-1] < full_z.size + 1
    assert len(n_read) >= 3


def test_cut_inside_the_data_module_peis_by_hand(corpus, tmp_path) -> None:
    raw = _mpr(corpus, "peis.mpr").read_bytes()
    # records start at 6908 + 0x196 = 7314 and are 110 bytes long: 15 complete records before 9000
    path = _copy(tmp_path, raw[:9000], "cut.mpr")
    expected = r"cut\.mpr: .*inside the data module .*15 complete records"
    with pytest.warns(TruncatedDataWarning, match=expected):
        spectra = read(path)
    assert len(spectra) == 1 and len(spectra[0]) == 15
    assert spectra[0].meta["truncated"] is True
    assert spectra[0].freq[0] == pytest.approx(199_999.0, rel=1e-4)


@pytest.mark.parametrize("cut", [10_900, 12_000, 18_683])
def test_cut_after_the_data_module_keeps_all_records(corpus, tmp_path, cut) -> None:
    raw = _mpr(corpus, "peis.mpr").read_bytes()
    path = _copy(tmp_path, raw[:cut], f"cut_{cut}.mpr")
    with pytest.warns(TruncatedDataWarning, match=r"inside module 'VMP LOG', after the data module \(all 32"):
        spectra = read(path)
    assert sum(len(s) for s in spectra) == 32


def test_cut_cycling_file_flags_the_frame(corpus, tmp_path) -> None:
    src = _mpr(corpus, "mb.issue_95.mpr")
    raw = src.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = read_cycling(src)
    assert full.attrs["truncated"] is False
    path = _copy(tmp_path, raw[:9000], "cut_cycling.mpr")
    with pytest.warns(TruncatedDataWarning, match=r"cut_cycling\.mpr: the file looks truncated"):
        frame = read_cycling(path)
    assert frame.attrs["truncated"] is True
    assert 0 < len(frame) < len(full)
    np.testing.assert_array_equal(frame["voltage_V"].to_numpy(), full["voltage_V"].to_numpy()[: len(frame)])


def test_truncated_data_rows_name_the_size(corpus, tmp_path) -> None:
    raw = bytearray(_mpr(corpus, "peis.mpr").read_bytes())
    # keep the module length consistent with the file but claim more rows than stored
    data_at = 6908
    struct.pack_into("<I", raw, data_at, 33)
    path = _copy(tmp_path, bytes(raw))
    with pytest.raises(ParseError, match=r"bad\.mpr, byte offset \d+: the data module should hold 33 rows"):
        read(path)


def test_wrong_magic(tmp_path) -> None:
    path = tmp_path / "fake.mpr"
    path.write_bytes(b"BIO-LOGIC MODULAR FILX" + b" " * 100)
    with pytest.raises(ParseError, match=r"fake\.mpr, byte offset 0: not an EC-Lab binary file"):
        read(path)


def test_module_length_beyond_file(corpus, tmp_path) -> None:
    raw = bytearray(_mpr(corpus, "peis.mpr").read_bytes())
    struct.pack_into("<I", raw, 0x5D, 0x7FFFFFFF)  # length of the first module (old header layout)
    path = _copy(tmp_path, bytes(raw), "huge.mpr")
    with pytest.raises(ParseError, match=r"huge\.mpr, byte offset 93: module 'VMP Set' claims 2147483647"):
        read(path)


def test_module_length_beyond_file_new_header(corpus, tmp_path) -> None:
    raw = bytearray(_mpr(corpus, "peis.issue_149.mpr").read_bytes())
    struct.pack_into("<I", raw, 0x61, 0xFFFFFFF0)
    path = _copy(tmp_path, bytes(raw), "huge2.mpr")
    with pytest.raises(ParseError, match=r"huge2\.mpr.*claims 4294967280 bytes"):
        read(path)


def test_too_many_columns(corpus, tmp_path) -> None:
    raw = bytearray(_mpr(corpus, "peis.issue_149.mpr").read_bytes())
    struct.pack_into("<H", raw, 6929 + 4, 60000)
    path = _copy(tmp_path, bytes(raw), "cols.mpr")
    with pytest.raises(ParseError, match=r"cols\.mpr.*lists 60000 columns"):
        read(path)


def test_unknown_id_of_inferable_width_is_skipped_with_warning(corpus, tmp_path) -> None:
    raw = bytearray(_mpr(corpus, "peis.mpr").read_bytes())
    # peis.mpr: data module at 6908 (v3, IDs at +5); column 8 is Cs/µF (ID 169, 4 bytes)
    struct.pack_into("<H", raw, 6908 + 5 + 2 * 8, 60001)
    path = _copy(tmp_path, bytes(raw), "unknown.mpr")
    with pytest.warns(UnknownColumnWarning, match=r"unknown\.mpr, byte offset 6929: unknown column ID 60001"):
        spectra = read(path)
    reference = read(_mpr(corpus, "peis.mpr"))
    np.testing.assert_array_equal(spectra[0].z, reference[0].z)
    with pytest.warns(UnknownColumnWarning):
        columns = read_mpr(path).columns
    assert "Cs/µF" not in columns and "Cp/µF" in columns
    assert issubclass(UnknownColumnWarning, MetadataWarning)


def test_unknown_id_of_the_other_page_is_decoded_with_warning(corpus, tmp_path) -> None:
    raw = bytearray(_mpr(corpus, "peis.mpr").read_bytes())
    struct.pack_into("<H", raw, 6908 + 5 + 2 * 1, 37 + 512)  # Re(Z) (ID 37) written as ID 549
    path = _copy(tmp_path, bytes(raw), "page.mpr")
    with pytest.warns(UnknownColumnWarning, match=r"page\.mpr.*549 as 'Re\(Z\)/Ohm \[ID 549\]'"):
        mpr = read_mpr(path)
    original = read_mpr(_mpr(corpus, "peis.mpr"))
    np.testing.assert_array_equal(mpr.data["Re(Z)/Ohm [ID 549]"], original.data["Re(Z)/Ohm"])
    np.testing.assert_array_equal(mpr.data["-Im(Z)/Ohm"], original.data["-Im(Z)/Ohm"])


def test_two_unknown_ids_are_a_parse_error(corpus, tmp_path) -> None:
    raw = bytearray(_mpr(corpus, "peis.mpr").read_bytes())
    struct.pack_into("<H", raw, 6908 + 5 + 2 * 8, 60001)
    struct.pack_into("<H", raw, 6908 + 5 + 2 * 9, 60002)
    path = _copy(tmp_path, bytes(raw), "unknown2.mpr")
    with pytest.raises(ParseError, match=r"unknown2\.mpr, byte offset 6929: unknown column ID 60001.*\.mpt"):
        read(path)


def test_mutated_bytes_raise_only_eisna_errors(corpus, tmp_path) -> None:
    raw = _mpr(corpus, "peis.issue_149.mpr").read_bytes()
    rng = np.random.default_rng(7)
    path = tmp_path / "mutant.mpr"
    for _ in range(150):
        data = bytearray(raw)
        for pos in rng.integers(0, 1100 + 6929, size=rng.integers(1, 6)):
            data[pos] = int(rng.integers(0, 256))
        path.write_bytes(bytes(data))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                read(path)
            except EisnaError as err:
                assert "mutant.mpr" in str(err)


def test_chronopotentiometry_coulomb_columns_434_435(tmp_path) -> None:
    # A v3 data module (u2 IDs at offset 5, rows from 0x196) with the charge in coulomb:
    # IDs 434 "(Q-Qo)/C" and 435 "dQ/C", both float32, as a CP run of a solid-state cell writes them.
    ids = [4, 6, 8, 434, 435]
    rows = np.empty(3, dtype=[("t", "<f8"), ("e", "<f4"), ("i", "<f4"), ("q", "<f4"), ("dq", "<f4")])
    rows["t"], rows["e"], rows["i"] = [0.0, 10.0, 20.0], [3.1, 3.2, 3.3], [0.5, 0.5, 0.5]
    rows["q"], rows["dq"] = [0.0, 0.005, 0.010], [0.0, 0.005, 0.005]
    data = (struct.pack("<IB", 3, len(ids)) + struct.pack("<5H", *ids)).ljust(0x196, b"\0") + rows.tobytes()
    raw = b"BIO-LOGIC MODULAR FILE\x1a".ljust(48) + b"\0" * 4
    raw += _module("VMP Set", bytes([0x19]) + b"\0" * 40, 0) + _module("VMP data", data, 3)
    path = tmp_path / "cp.mpr"
    path.write_bytes(raw)
    mpr = read_mpr(path)
    assert mpr.technique == "CP"
    assert mpr.columns == ("time/s", "Ewe/V", "I/mA", "(Q-Qo)/C", "dQ/C")
    np.testing.assert_allclose(mpr.data["dQ/C"], [0.0, 0.005, 0.005], rtol=1e-7)
    frame = read_cycling(path)
    np.testing.assert_allclose(frame["capacity_Ah"], [0.0, 0.005 / 3600, 0.010 / 3600], rtol=1e-6)
    with pytest.raises(NoImpedanceData, match=r"cp\.mpr: no impedance data in this CP file"):
        read(path)
