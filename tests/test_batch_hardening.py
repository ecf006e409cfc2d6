"""Issue 14, batch side: the resume cache is data, CSV cells are not formulas, outputs are
written as a set under a folder lock, and process-pool workers die with their parent."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest

import eisna
from eisna import _atomic, _fitcache
from eisna._csvsafe import frame_to_csv, neutralise
from eisna.errors import CacheWarning, OutputError, OutputLockedError

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_spectra"
TRUTH = json.loads((SAMPLES / "truth.json").read_text(encoding="utf-8"))
NAS_TRUE_R_INT = {s["file"].split("/")[-1]: s["params"]["R_int"] for s in TRUTH["NAS"]["spectra"]}


def _copy(tmp_path: Path, numbers, name="cell") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for i in numbers:
        shutil.copy(SAMPLES / "nas" / f"nas_t{i:02d}.mpt", folder)
    return folder


class _Planted:
    """A pickle that creates ``marker`` when unpickled (what the old cache would have run)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _entries(out: Path) -> list[Path]:
    return sorted((out / ".eisna-cache").rglob("*.json"))


def _r_int(series) -> list[float]:
    return [r.params["R_int"] for r in series.results]


# --------------------------------------------------------------------------- 1. cache is data


def test_planted_pickles_in_every_cache_file_never_run(tmp_path):
    folder = _copy(tmp_path, [30, 31, 32])
    out = tmp_path / "out"
    first = eisna.batch(folder, "symmetric_interlayer", out=out, report=False)
    entries = _entries(out)
    assert len(entries) == 3
    marker = tmp_path / "marker"
    payload = pickle.dumps(_Planted(marker))
    pickle.loads(payload)  # the payload is live: unpickling it does create the marker
    assert marker.exists()
    marker.unlink()
    cache = out / ".eisna-cache"
    planted = []
    for entry in entries:
        key = entry.stem
        for target in (
            entry,
            entry.with_suffix(".pkl"),
            cache / key[:2] / f"{key}.pkl",
            entry.parent / f".tmp-{key}.pkl",
            cache / f"{key}.pkl",
        ):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(payload)
            planted.append(target)
    refitted: list[int] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = eisna.batch(folder, "symmetric_interlayer", out=out, report=False, hook=refitted.append)
    assert not marker.exists()
    assert refitted == [0, 1, 2]  # every planted entry was ignored and refitted
    cache_warnings = [str(w.message) for w in caught if issubclass(w.category, CacheWarning)]
    assert len(cache_warnings) == 3 and all("ignored" in m for m in cache_warnings)
    assert [r.success for r in again.results] == [True] * 3
    assert _r_int(again) == pytest.approx(_r_int(first), rel=1e-6)
    for r in again.results:
        assert r.params["R_int"] == pytest.approx(NAS_TRUE_R_INT[Path(r.meta["source"]).name], rel=0.05)
    # the pickles are gone (pruned, never opened) and the entries are valid JSON again
    assert not [p for p in planted if p.exists() and p.suffix == ".pkl"]
    assert [json.loads(p.read_text())["format"] for p in _entries(out)] == ["eisna-fit-cache"] * 3
    assert not marker.exists()


def test_forged_entry_is_detected_warned_and_refitted(tmp_path):
    folder = _copy(tmp_path, [30, 31, 32])
    out = tmp_path / "out"
    first = eisna.batch(folder, "symmetric_interlayer", out=out, report=False)
    keys = [e.stem for e in _entries(out)]
    target = _entries(out)[1]  # forge R_int of one fit without updating the digest
    doc = json.loads(target.read_text())
    full = doc["payload"]["outcome"]["full"]
    full["params"] = [[k, 9999.0 if k == "R_int" else v] for k, v in full["params"]]
    target.write_text(json.dumps(doc))
    refitted: list[int] = []
    with pytest.warns(CacheWarning, match="does not match its digest"):
        again = eisna.batch(folder, "symmetric_interlayer", out=out, report=False, hook=refitted.append)
    assert len(refitted) == 1  # only the forged entry was refitted
    assert 9999.0 not in _r_int(again)
    assert _r_int(again) == pytest.approx(_r_int(first), rel=1e-6)
    # an entry copied under another key (digest intact) is refused too
    a, b = _entries(out)[:2]
    b.write_bytes(a.read_bytes())
    with pytest.warns(CacheWarning, match="another key"):
        eisna.batch(folder, "symmetric_interlayer", out=out, report=False)
    assert sorted(e.stem for e in _entries(out)) == sorted(keys)


def test_cache_round_trip_is_exact(tmp_path):
    spectra = eisna.read(SAMPLES / "nas" / "nas_t30.mpt")
    series = eisna.fit_series(spectra, "symmetric_interlayer")
    outcome = series.outcomes[0]
    assert _fitcache.store(tmp_path, "k" * 32, outcome)
    back = _fitcache.load(tmp_path, "k" * 32)
    for a, b in ((outcome.full, back.full), (outcome.base, back.base)):
        assert a.to_dict() == b.to_dict()
        assert dict(a.meta) == dict(b.meta) and dict(a.start) == dict(b.start)
        assert (a.residuals == b.residuals).all() and a.residuals.dtype == b.residuals.dtype
    assert back.result is (back.full if outcome.result is outcome.full else back.base)
    assert (back.interlayer, back.delta_bic, back.backfilled) == (
        outcome.interlayer,
        outcome.delta_bic,
        outcome.backfilled,
    )


def test_changed_earlier_spectrum_invalidates_the_rest_of_its_chain(tmp_path):
    from eisna.series import chain_keys

    spectra = eisna.read(SAMPLES / "nas_looped.mpt")[:4]
    keys = chain_keys(spectra, "opts")
    other = chain_keys([spectra[0], spectra[2], spectra[3]], "opts")
    assert keys[0] == other[0]
    assert keys[2] != other[1] and keys[3] != other[2]  # same data, another warm start before it
    assert len(set(keys)) == 4 and chain_keys(spectra, "other") != keys


# --------------------------------------------------------------------------- 3. CSV cells


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-cmd", "'-cmd"),
        ("-", "'-"),
        ("-1.5", "-1.5"),
        ("-.5", "-.5"),
        ("a=b", "a=b"),
        ("", ""),
        (-2.5, -2.5),
        (3, 3),
        (None, None),
        (True, True),
    ],
)
def test_neutralise_follows_the_owasp_rule(cell, expected):
    assert neutralise(cell) == expected


def test_frame_to_csv_keeps_numbers_numbers():
    frame = pd.DataFrame(
        {
            "name": ['=HYPERLINK("http://x")', "ok", None],
            "R": [-1.5, 2.0, float("nan")],
            "n": [1, -2, 3],
            "flag": [True, False, None],
        }
    )
    rows = list(csv.reader(io.StringIO(frame_to_csv(frame))))
    assert rows[0] == ["name", "R", "n", "flag"]
    assert rows[1] == ['\'=HYPERLINK("http://x")', "-1.5", "1", "True"]
    assert rows[2] == ["ok", "2.0", "-2", "False"]
    assert rows[3] == ["", "", "3", ""]


def _copy_every_text_column(frame):  # frame_to_csv as it was: every text column mapped on a copy
    safe = frame.copy()
    for col in safe.columns:
        if safe[col].dtype == object or str(safe[col].dtype) in ("string", "str"):
            safe[col] = safe[col].map(neutralise)
    safe.columns = [neutralise(str(c)) for c in safe.columns]
    return safe.to_csv(index=False)


@pytest.mark.parametrize(
    "columns",
    [
        {"source": ["a.mpt", "b.mpt"], "R": [1.5, float("nan")], "ok": [True, False]},  # nothing to change
        {"source": ["a.mpt", "=b.mpt"], "R": [1.5, 2.0]},
        {"a": pd.Series([1, None], dtype=object), "b": ["x", "y"]},  # map infers float: "1.0"
        {"t": pd.Series([True, None], dtype=object), "s": pd.Series(["x", None], dtype="string")},
        {0: [1.0, 2.0], "-b": ["x", "y"]},  # names neutralised and made text
    ],
)
def test_frame_to_csv_copies_only_when_needed_and_writes_the_same_text(columns):
    frame = pd.DataFrame(columns)
    before = frame.copy()
    assert frame_to_csv(frame) == _copy_every_text_column(frame)
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is left as it was


def test_formula_file_and_folder_names_are_neutralised_in_results_csv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a, b = Path("=A"), Path("@B")
    a.mkdir()
    b.mkdir()
    shutil.copy(SAMPLES / "nas" / "nas_t30.mpt", a / "=1+2.mpt")
    shutil.copy(SAMPLES / "nas" / "nas_t31.mpt", b / "@SUM(1+1).mpt")
    # cut inside the header: a read failure whose reason starts with the path
    (a / "-cmd.mpt").write_bytes((SAMPLES / "nas" / "nas_t32.mpt").read_bytes()[:1000])
    eisna.batch([str(a), str(b)], "symmetric_interlayer", out="out", report=False)
    text = Path("out/results.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(r["source"] for r in rows) == ["'=A/-cmd.mpt", "'=A/=1+2.mpt", "'@B/@SUM(1+1).mpt"]
    failed = next(r for r in rows if r["status"] == "failed")
    assert failed["reason"].startswith("'=A/-cmd.mpt")
    assert sorted(r["cell"] for r in rows if r["status"] == "ok") == ["'=A", "'@B"]
    for r in rows:
        for value in r.values():
            assert not value or value[0] not in "=+@\t\r", value
    ok = [r for r in rows if r["status"] == "ok"]
    assert all(float(r["R_int"]) > 0 for r in ok)  # numbers are still numbers


# --------------------------------------------------------------------------- 8. faults lose nothing


def test_out_that_is_a_file_or_cannot_be_created_fails_before_any_fit(tmp_path):
    folder = _copy(tmp_path, [30])
    afile = tmp_path / "afile"
    afile.write_text("x")
    fitted: list[int] = []
    with pytest.raises(OutputError, match="is a file, not a folder"):
        eisna.batch(folder, "symmetric_interlayer", out=afile, hook=fitted.append)
    with pytest.raises(OutputError, match="cannot be created"):
        eisna.batch(folder, "symmetric_interlayer", out=afile / "sub", hook=fitted.append)
    assert fitted == []


def test_read_only_out_folder_fails_before_any_fit(tmp_path, monkeypatch):
    folder = _copy(tmp_path, [30])
    ro = tmp_path / "ro"
    ro.mkdir()
    real_open = os.open

    def deny(path, flags, *args, **kwargs):  # what a read-only folder does, also for root
        if Path(path).parent == ro and flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(_atomic.os, "open", deny)
    fitted: list[int] = []
    with pytest.raises(OutputError, match="not writable"):
        eisna.batch(folder, "symmetric_interlayer", out=ro, hook=fitted.append)
    assert fitted == []


@pytest.mark.slow
def test_full_disk_mid_set_keeps_the_previous_set(tmp_path, monkeypatch):
    folder = _copy(tmp_path, [30, 31])
    out = tmp_path / "out"
    eisna.batch(folder, "symmetric_interlayer", out=out, report=True)
    names = ["kinetics.json", "report.html", "results.csv", "results.json"]
    before = {n: (out / n).read_bytes() for n in names}
    calls = []
    real = _atomic._write_bytes

    def full_on_third(fh, data):
        calls.append(len(data))
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(fh, data)

    monkeypatch.setattr(_atomic, "_write_bytes", full_on_third)
    with pytest.raises(OutputError, match="no space left"):
        eisna.batch(folder, "symmetric_interlayer", out=out, report=True)
    assert len(calls) == 3
    assert {n: (out / n).read_bytes() for n in names} == before
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".") and p.name != ".eisna-cache"]
    assert leftovers == []


def test_interrupted_sets_are_finished_or_discarded_and_temps_removed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.csv").write_text("old\n")
    (out / "kinetics.json").write_text("old\n")
    # a set killed after its commit marker: the renames are finished
    done = out / ".eisna-stage-111-aaaa"
    done.mkdir()
    (done / "kinetics.json").write_text("new\n")  # results.csv was moved before the kill
    (done / "COMMITTED").write_text(json.dumps({"files": ["results.csv", "kinetics.json"]}))
    # a set killed while writing: discarded
    partial = out / ".eisna-stage-222-bbbb"
    partial.mkdir()
    (partial / "results.csv").write_text("half")
    strays = [".results.csv.1a2b3c4d.tmp", ".report.html.k3j_h5g6"]
    for name in strays:
        (out / name).write_text("x")
    (out / ".mine").write_text("keep")
    _atomic.recover(out, ["results.csv", "report.html", "kinetics.json"])
    assert (out / "kinetics.json").read_text() == "new\n"
    assert (out / "results.csv").read_text() == "old\n"
    assert not done.exists() and not partial.exists()
    assert sorted(p.name for p in out.iterdir()) == [".mine", "kinetics.json", "results.csv"]


def test_second_batch_on_the_same_folder_is_refused(tmp_path):
    folder = _copy(tmp_path, [30])
    out = tmp_path / "out"
    out.mkdir()
    fitted: list[int] = []
    locked = pytest.raises(OutputLockedError, match=f"another eisna batch .*PID {os.getpid()}")
    with _atomic.FolderLock(out), locked:
        eisna.batch(folder, "symmetric_interlayer", out=out, hook=fitted.append, report=False)
    assert fitted == []
    # a lock file left by a dead batch (no flock held) does not block
    (out / ".eisna-lock").write_text(json.dumps({"pid": 2**22 + 12345, "host": "x"}))
    eisna.batch(folder, "symmetric_interlayer", out=out, report=False)
    assert (out / "results.csv").is_file() and not (out / ".eisna-lock").exists()


def test_second_batch_refused_with_one_line_from_the_cli(tmp_path, capsys):
    from eisna.cli import main

    folder = _copy(tmp_path, [30])
    out = tmp_path / "out"
    out.mkdir()
    with _atomic.FolderLock(out):
        code = main(["batch", str(folder), "--out", str(out), "--no-report"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1 and "another eisna batch" in err


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            kids += [int(c) for c in (task / "children").read_text().split()]
    return kids


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_die_with_their_parent(tmp_path, sig):
    folder = _copy(tmp_path, [30, 31, 32, 33, 34, 35])
    script = (
        "import sys, eisna; eisna.batch(sys.argv[1], 'symmetric_interlayer', out=sys.argv[2], jobs=2, "
        "chunk_size=2, resume=False, report=False)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen([sys.executable, "-c", script, str(folder), str(tmp_path / "out")], env=env)
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.2)
            workers = _children(proc.pid)
        assert len(workers) >= 2, "the pool never started"
        proc.send_signal(sig)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.2)
        assert not [w for w in workers if _alive(w)]
    finally:
        if proc.poll() is None:
            proc.kill()


# --------------------------------------------------------------------------- 2. deterministic


_RUN = (
    "import sys, eisna; eisna.batch(sys.argv[1], 'symmetric_interlayer', out=sys.argv[2], "
    "jobs=int(sys.argv[3]), chunk_size=3, resume=False, report=False)"
)


def _run_batch(folder: Path, out: Path, jobs: int, env: dict[str, str]) -> tuple[bytes, bytes]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO / "src"), **env}
    subprocess.run(
        [sys.executable, "-c", _RUN, str(folder), str(out), str(jobs)], env=full_env, check=True, timeout=300
    )
    return (out / "results.csv").read_bytes(), (out / "kinetics.json").read_bytes()


@pytest.mark.slow
def test_outputs_are_bit_identical_across_hash_seeds_heaps_and_jobs(tmp_path):
    # MALLOC_PERTURB_ fills fresh and freed heap memory with a byte pattern: with different
    # patterns, any read of uninitialised or out-of-bounds memory (scipy's MINPACK did one)
    # changes the numbers, so this comparison catches it every time
    folder = _copy(tmp_path, [30, 31, 32, 33, 34, 35])
    a = _run_batch(folder, tmp_path / "a", 1, {"PYTHONHASHSEED": "1"})
    b = _run_batch(folder, tmp_path / "b", 1, {"PYTHONHASHSEED": "2", "MALLOC_PERTURB_": "165"})
    c = _run_batch(folder, tmp_path / "c", 2, {"PYTHONHASHSEED": "3", "MALLOC_PERTURB_": "90"})
    assert b == a  # another hash seed and other heap contents
    assert c == a  # two worker processes give what the serial run gives
    rows = list(csv.DictReader(io.StringIO(a[0].decode())))
    assert len(rows) == 6 and all(r["status"] == "ok" for r in rows)


def test_links_planted_in_the_output_folder_are_not_written_through(tmp_path):
    folder = _copy(tmp_path, [30])
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / ".eisna-lock").symlink_to(victim)
    with pytest.raises(OutputError, match="symbolic link"):
        eisna.batch(folder, "symmetric_interlayer", out=out, report=False)
    assert victim.read_text() == "precious\n"
    (out / ".eisna-lock").unlink()
    (out / ".eisna-cache").symlink_to(elsewhere, target_is_directory=True)
    series = eisna.batch(folder, "symmetric_interlayer", out=out, report=False)
    assert series.results[0].success and (out / "results.csv").is_file()
    assert list(elsewhere.iterdir()) == []  # no cache entry written through the link


def test_batch_of_only_unreadable_files_names_each_once_and_warns_of_nothing_else(tmp_path, capsys):
    from eisna.cli import main

    bad = tmp_path / "fit_result.json"
    bad.write_text('{"overall": {"chi2": 1.0}}', encoding="utf-8")
    rc = main(["batch", str(bad), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 1
    # the reader's message names the file; the failed line does not name it a second time
    assert f"failed: {bad}: expected frequency, real and imaginary columns" in err
    assert err.count(str(bad)) == 1
    # the report of a batch without a fit draws no time span from no times (no numpy warning)
    assert "All-NaN" not in err
