"""Input expansion never loops and never hides an unreadable folder (issue 14, item 5)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import eisna
from eisna.errors import SkippedInputWarning, UsageError
from eisna.inputs import expand_inputs, expand_paths

from .conftest import REPO, SAMPLES


def _tree(tmp_path: Path) -> Path:
    data = tmp_path / "d"
    (data / "a" / "b").mkdir(parents=True)
    for name in ("x1.mpt", "a/x2.mpt", "a/b/x3.mpt", "a/b/notes.md"):
        (data / name).write_text("EC-Lab ASCII FILE\n")
    return data


def test_symlink_loop_in_folder_is_skipped_with_a_warning(tmp_path):
    data = _tree(tmp_path)
    (data / "a" / "b" / "up").symlink_to(data)  # a/b/up -> d: a loop
    expected = r"d/a/b/up: symlink loop \(this folder is already being searched"
    with pytest.warns(SkippedInputWarning, match=expected):
        files = expand_paths([data])
    assert [f.relative_to(data).as_posix() for f in files] == ["a/b/x3.mpt", "a/x2.mpt", "x1.mpt"]


def test_self_referencing_symlink_is_skipped(tmp_path):
    data = _tree(tmp_path)
    (data / "self.mpt").symlink_to(data / "self.mpt")
    expected = r"self\.mpt: symlink loop \(the link leads back to itself\); skipped"
    with pytest.warns(SkippedInputWarning, match=expected):
        files = expand_paths([data])
    assert len(files) == 3
    with pytest.warns(SkippedInputWarning, match="leads back to itself"):
        assert expand_inputs([data / "self.mpt", data / "x1.mpt"]).files == [data / "x1.mpt"]


def test_recursive_glob_with_a_loop_terminates(tmp_path):
    data = _tree(tmp_path)
    (data / "a" / "loop").symlink_to(data / "a")
    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "from eisna.inputs import expand_paths\n"
        "print(len(expand_paths([sys.argv[1]])))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, f"{data}/**/*.mpt"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    assert proc.stdout.strip() == "3"


def test_recursive_glob_matches_like_glob(tmp_path):
    data = _tree(tmp_path)
    assert [f.name for f in expand_paths([f"{data}/**/*.mpt"])] == ["x3.mpt", "x2.mpt", "x1.mpt"]
    assert [f.name for f in expand_paths([f"{data}/a/**/x*.mpt"])] == ["x3.mpt", "x2.mpt"]
    assert [f.name for f in expand_paths([f"{data}/**/notes.md"])] == ["notes.md"]
    with pytest.raises(UsageError, match="no such file or folder, and no file matches it"):
        expand_paths([f"{data}/**/*.nope"])


def test_unreadable_folder_is_reported_not_skipped(tmp_path, monkeypatch):
    """We may run as root (chmod 000 is ineffective), so os.scandir raises as it would."""
    data = _tree(tmp_path)
    real = os.scandir

    def scandir(path):
        if Path(path).name == "b":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = expand_inputs([data])
    assert [f.name for f in found.files] == ["x2.mpt", "x1.mpt"]
    assert [(u.path, u.reason) for u in found.unreadable] == [
        (str(data / "a" / "b"), "folder cannot be listed (Permission denied)")
    ]


def test_batch_gives_failed_rows_for_unreadable_folder_and_file(tmp_path, monkeypatch):
    data = tmp_path / "cell"
    (data / "locked").mkdir(parents=True)
    for k in (36, 37):
        shutil.copy(SAMPLES / "nas" / f"nas_t{k:02d}.mpt", data / f"nas_t{k:02d}.mpt")
    secret = data / "nas_t38.mpt"
    shutil.copy(SAMPLES / "nas" / "nas_t38.mpt", secret)
    real_scandir = os.scandir
    real_open = Path.open
    real_os_open = os.open

    def scandir(path="."):
        if not isinstance(path, int) and Path(path).name == "locked":  # int: a folder descriptor
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def path_open(self, *args, **kwargs):
        if self.name == "nas_t38.mpt":
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    def os_open(path, *args, **kwargs):  # the bounded reader and the hashing open by descriptor
        if not isinstance(path, int) and Path(path).name == "nas_t38.mpt":
            raise PermissionError(13, "Permission denied", str(path))
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(Path, "open", path_open)
    monkeypatch.setattr(os, "open", os_open)
    series = eisna.batch([data], "symmetric_interlayer", out=tmp_path / "out", report=False, fmin=1.0)
    failed = {r.source: r.reason for r in series.results if getattr(r, "success", True) is False}
    assert failed == {
        str(data / "locked"): "folder cannot be listed (Permission denied)",
        str(secret): f"{secret}: cannot be opened (Permission denied).",
    }
    assert len(series) - series.n_failed == 2


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not Path("/dev/zero").exists(), reason="no FIFO, /dev/zero")
def test_fifo_and_device_in_a_folder_become_unreadable_without_being_opened(tmp_path):
    data = _tree(tmp_path)
    os.mkfifo(data / "pipe.mpt")  # opening it would block the batch forever
    (data / "zero.mpt").symlink_to("/dev/zero")
    found = expand_inputs([data])
    assert len(found.files) == 3
    assert [(Path(u.path).name, u.reason) for u in found.unreadable] == [
        ("pipe.mpt", "is a FIFO (named pipe); expected a regular file"),
        ("zero.mpt", "is a device (/dev/zero); expected a regular file"),
    ]
    named = expand_inputs([data / "pipe.mpt"])  # named on the command line: the same
    assert named.files == [] and named.unreadable[0].reason.startswith("is a FIFO")
