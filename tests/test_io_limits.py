"""Bounded reading: non-regular files, the size limit, zero-filled files, zip bombs, linear time."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import eisna
from eisna.errors import ParseError
from eisna.io import _limits, get_limits, set_limits

from .conftest import REPO, SAMPLES

PYTHON = sys.executable
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}


def _run_info(path: Path, *extra: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``eisna info PATH`` in a fresh process that prints its own peak RSS (kB) last."""
    # (/proc/self/status on Linux; elsewhere ru_maxrss, which may include the parent's size)
    code = (
        "import resource, sys\n"
        "from eisna.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        # VmHWM: the peak of this program's own memory. ru_maxrss would also count the parent's
        # RSS at fork time (Linux keeps it across exec), i.e. the size of the pytest process
        "hwm = [ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM')]\n"
        "print('maxrss', hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
        "sys.exit(rc)\n"
    )
    return subprocess.run(
        [PYTHON, "-c", code, "info", str(path), *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
        check=False,
    )


def _maxrss_mb(out: str) -> float:
    line = [ln for ln in out.splitlines() if ln.startswith("maxrss")][-1]
    return int(line.split()[1]) / 1024


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "cell.mpt"
    os.mkfifo(fifo)
    proc = _run_info(fifo, timeout=30)  # opening a FIFO for reading would block forever
    assert proc.returncode == 1
    assert proc.stderr == (
        f"eisna: error: {fifo}: is a FIFO (named pipe); expected a regular file. "
        "eisna reads instrument files only; copy the data to a file first.\n"
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_symlink_to_dev_zero_is_refused(tmp_path):
    link = tmp_path / "cell.mpt"
    link.symlink_to("/dev/zero")
    with pytest.raises(ParseError, match=r"is a device \(/dev/zero\); expected a regular file"):
        eisna.read(link)
    with pytest.raises(ParseError, match="is a device"):
        eisna.read_cycling(link)


def test_size_limit_option_and_set_limits(tmp_path):
    path = tmp_path / "cell.mpt"
    path.write_bytes((SAMPLES / "nas_looped.mpt").read_bytes())
    size = path.stat().st_size
    with pytest.raises(ParseError, match=r"the per-file limit is 1\.0 KiB\. Raise it with --max-file-size"):
        eisna.read(path, max_bytes=1024)
    assert len(eisna.read(path, max_bytes=size)) == 49  # exactly at the limit is fine
    previous = set_limits(max_bytes=size - 1)
    try:
        assert get_limits()["max_bytes"] == size - 1
        with pytest.raises(ParseError, match="per-file limit"):
            eisna.read(path)
    finally:
        set_limits(**previous)
    assert get_limits()["max_bytes"] == _limits.DEFAULT_MAX_BYTES


def test_parse_size():
    assert _limits.parse_size("500M") == 500 * 1024**2
    assert _limits.parse_size("2GiB") == 2 * 1024**3
    assert _limits.parse_size("4096") == 4096
    with pytest.raises(ValueError, match="expected a size like 500M"):
        _limits.parse_size("lots")


@pytest.mark.parametrize("suffix", [".csv", ".mpt"])
def test_sparse_file_is_refused_from_its_real_content(tmp_path, suffix):
    """An EC-Lab header then 1 GiB of holes: refused at the first NUL run, in small memory."""
    path = tmp_path / f"sparse{suffix}"
    head = (SAMPLES / "nas_looped.mpt").read_bytes()[:3000]
    with path.open("wb") as fh:
        fh.write(head)
        fh.truncate(1024**3)
    proc = _run_info(path)
    assert proc.returncode == 1
    assert f"{path}, byte offset 3000: holds a run of NUL bytes; expected text." in proc.stderr
    assert _maxrss_mb(proc.stdout) < 400  # was 7–8.5 GB; the interpreter with pandas is ~150 MB


def _ndax(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_ndax_zip_bomb_is_refused_before_extraction(tmp_path):
    bomb = _ndax(tmp_path / "bomb.ndax", {"VersionInfo.xml": b"<x/>", "data.ndc": bytes(64 * 1024**2)})
    assert bomb.stat().st_size < 200_000
    expected = r"ZIP member 'data.ndc' expands \d+:1 .*the limit is 200:1 \(a zip bomb\?\)"
    with pytest.raises(ParseError, match=expected):
        eisna.read_cycling(bomb)
    proc = _run_info(bomb)
    assert proc.returncode == 1
    assert "ZIP member 'data.ndc' expands" in proc.stderr
    assert _maxrss_mb(proc.stdout) < 400


def test_ndax_total_size_limit(tmp_path):
    archive = _ndax(tmp_path / "big.ndax", {"data.ndc": b"0123456789" * 30_000})
    with pytest.raises(ParseError, match=r"ZIP members declare 293\.0 KiB unpacked; the limit is 97\.7 KiB"):
        eisna.read_cycling(archive, max_bytes=100_000)


def test_zip_member_larger_than_declared_is_refused(tmp_path):
    """A member whose header understates its size is stopped before fastnda sees it."""
    archive = _ndax(tmp_path / "lie.ndax", {"data.ndc": b"x" * 100_000})
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo("data.ndc")
    # patch the declared size (central directory and local header) down to 1000 bytes
    for at in (raw.find(b"PK\x01\x02") + 24, info.header_offset + 22):
        raw[at : at + 4] = (1000).to_bytes(4, "little")
    archive.write_bytes(bytes(raw))
    # zipfile stops at the declared size, so the member fails its CRC in the streaming pass
    expected = r"lie.ndax: is not a readable ZIP archive \(Bad CRC-32 for file 'data.ndc'\)"
    with pytest.raises(ParseError, match=expected):
        _limits.check_zip(archive)


def test_real_ndax_passes_the_zip_checks(corpus):
    for path in sorted((corpus / "neware-ndax").glob("*.ndax")):
        _limits.check_zip(path)  # ratios up to ~92:1 in small members are fine


def _looped(path: Path, n_loops: int) -> Path:
    """nas_looped.mpt with its 49 loops repeated to ``n_loops`` (header loop table rewritten)."""
    lines = (SAMPLES / "nas_looped.mpt").read_bytes().decode("cp1252").split("\n")
    n_header = 114
    head, data = lines[:n_header], [ln for ln in lines[n_header:] if ln.strip()]
    first = next(i for i, ln in enumerate(head) if ln.startswith("Loop "))
    last = max(i for i, ln in enumerate(head) if ln.startswith("Loop "))
    table = [f"Loop {k} from point number {80 * k} to {80 * k + 79}\r" for k in range(n_loops)]
    head = head[:first] + table + head[last + 1 :]
    head[1] = f"Nb header lines : {len(head)}\r"
    names = [n.strip() for n in head[-1].split("\t")]
    cycle = names.index("cycle number")
    rows = []
    for k in range(n_loops):
        for ln in data[(k % 49) * 80 : (k % 49 + 1) * 80]:
            fields = ln.split("\t")
            fields[cycle] = str(k + 1)
            rows.append("\t".join(fields))
    path.write_bytes("\n".join(head + rows).encode("cp1252") + b"\n")
    return path


def test_many_loops_read_correctly(tmp_path):
    """1000 loops: every spectrum is found, with the sample's values (timing is in benchmarks/)."""
    spectra = eisna.read(_looped(tmp_path / "loops.mpt", 1000))
    assert len(spectra) == 1000
    assert {len(s) for s in spectra} == {80}
    assert spectra[999].meta["cycle"] == 1000
    assert spectra[999].freq[0] == spectra[999 % 49].freq[0]


def test_third_party_warnings_are_attributed_to_the_file(tmp_path):
    import logging
    import warnings

    from eisna.errors import MetadataWarning
    from eisna.io._notices import attributed
    from eisna.io._registry import call_reader

    def reader(path, **options):
        warnings.warn("Workbook contains no default style", UserWarning, stacklevel=1)
        warnings.warn("old API", DeprecationWarning, stacklevel=1)
        return 7

    path = tmp_path / "x.xlsx"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert call_reader(reader, path) == 7
    shown = [(w.category, str(w.message)) for w in caught]
    assert shown == [
        (DeprecationWarning, "old API"),  # for developers: unchanged
        (MetadataWarning, f"{path}: test_io_limits: Workbook contains no default style"),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with attributed(path, loggers=("somelib",)):
            logging.getLogger("somelib.sub").warning("cannot read %s\nTraceback: ...", "TestInfo.xml")
    assert [str(w.message) for w in caught] == [f"{path}: somelib: cannot read TestInfo.xml Traceback: ..."]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_open_regular_does_not_block_on_a_fifo_swapped_in(tmp_path):
    """A FIFO put in place after check_file: the non-blocking open and fstat still refuse it."""
    fifo = tmp_path / "swapped.mpt"
    os.mkfifo(fifo)
    with pytest.raises(ParseError, match=r"swapped\.mpt: is not a regular file"):
        _limits.open_regular(fifo)
