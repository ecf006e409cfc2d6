"""Audit eisna's readers against realistic variants of the real-instrument corpus files.

Every corpus file is read once as it is (the reference). Then variants that real exports
produce are written to a scratch folder and read again:

text files (``.mpt``, CSV, vendor text)
    ``crlf``/``lf`` (line endings swapped), ``utf8-bom`` (UTF-8 with a byte-order mark),
    ``utf8`` / ``cp1252`` (re-encoded: µ, °, ² as one byte or two; a UTF-8 ``Ω`` written
    as ``Ohm`` in cp1252), ``utf16`` (CSV tables: Excel's "Unicode text"), ``ohm-symbol``
    (tables: ``Ohm`` in the names written ``Ω``, UTF-8), ``trailing-blank`` (blank lines at
    the end), ``trailing-tab`` (EC-Lab: every data row ends with a tab), ``quoted`` (CSV:
    every field in double quotes, as Excel writes them), ``cut-last-line`` (the last line
    cut in the middle, as when the file is copied while the instrument still writes),
    ``decimal-comma`` (numbers with a decimal comma; a
    comma separator becomes ``;``), ``decimal-comma-tab`` (tables: decimal comma and tab
    separators), ``columns-reordered``, ``extra-column`` (an unknown column inserted; formats
    whose readers find columns by name), ``nb-header+1`` / ``nb-header-1`` (EC-Lab's
    ``Nb header lines`` off by one);
every file
    ``ext-upper`` (``.MPT``), ``ext-none`` (no extension), ``ext-wrong`` (``.txt``, or
    ``.csv`` for a ``.txt``);
binary files (``.mpr``, ``.nda``, ``.ndax``, ``.ism``, ``.xlsx`` …) and every file
    ``cut-50`` / ``cut-90`` / ``cut-99`` (the first 50 / 90 / 99 % of the bytes; a text cut
    that falls on a line end is moved 4 bytes back, since such a cut cannot be seen).

Outcomes:

``same``
    The same spectra (count, freq and Z within 1e-7 relative, timestamps, ``elapsed_s``
    and the metadata kept), or the same cycling table.
``prefix``
    (cut variants) The spectra/rows before the cut, identical to the reference, and the
    cut said: a TruncatedDataWarning, ``meta["truncated"]`` or a dropped-row count.
``error``
    An EisnaError naming the file (``error-line`` when it also names a line, column or
    byte offset).
Defects: ``DIFF`` (different values, a spectrum or row lost without being counted),
``STRAY`` (the registry's safety net wrapped a bare KeyError/ValueError/struct.error…),
``CRASH`` (an exception that is not an EisnaError), ``SILENT-CUT`` (fewer points without
any sign of the cut), ``ERROR`` on a variant that must be read (line endings, BOM,
encoding, extensions, trailing blank lines).

Usage (about 15 s CPU on one core; exit status 1 when a defect is found)::

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=src python benchmarks/audit_readers.py [--corpus DIR]
        [--only SUBSTRING] [--details | --all-details] [--direct]

``--direct`` calls the reader the registry chose without :func:`eisna.io._registry.call_reader`
(whose net turns a stray exception into a ParseError), so a bare ``KeyError`` shows as CRASH.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import eisna
from eisna.errors import EisnaError, NoImpedanceData

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"
BINARY_SUFFIXES = {".mpr", ".nda", ".ndax", ".ism", ".xlsx", ".ods", ".pssession"}
# readers that find columns by their names (so reordering or adding columns must not matter)
NAMED_COLUMN_FORMATS = {
    *("biologic-mpt", "table", "neware-csv", "gamry-dta", "zview-z", "autolab", "chi", "parstat"),
    *("versastudio-par", "autolab-dfr", "p00", "elchemea-i2b"),
}
MUST_READ = {
    *("crlf", "lf", "utf8-bom", "utf8", "utf16", "cp1252", "ohm-symbol", "trailing-blank"),
    *("trailing-tab", "quoted"),
    *("ext-upper", "ext-none", "ext-wrong"),
    *(
        "nb-header+1",
        "nb-header-1",
        "decimal-comma",
        "decimal-comma-tab",
        "columns-reordered",
        "extra-column",
    ),
}
META_KEYS = (
    "technique",
    "cycle",
    "n_dropped",
    "dropped",
    "truncated",
    "area_cm2",
    "device",
    "software_version",
)
RTOL = 1e-7


# --------------------------------------------------------------------------- reading


@dataclass
class Outcome:
    """What one read gave: spectra, a cycling table, or an error."""

    kind: str  # "spectra", "cycling", "error"
    value: Any
    warnings: list[str]


DIRECT = False  # --direct: call the chosen reader itself, without the registry's safety net


def _read(path: Path, mode: str) -> Outcome:
    func = eisna.read if mode == "read" else eisna.read_cycling
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if DIRECT:
                from eisna.io._registry import find_reader

                need = "read" if mode == "read" else "read_cycling"
                func = getattr(find_reader(path, need=need), need)
            value = func(path)
        except Exception as err:  # the audit classifies every exception
            return Outcome("error", err, [str(w.message) for w in caught])
    return Outcome("spectra" if mode == "read" else "cycling", value, [str(w.message) for w in caught])


def _reference(path: Path) -> tuple[str, Outcome] | None:
    out = _read(path, "read")
    if out.kind == "error" and isinstance(out.value, NoImpedanceData):
        out = _read(path, "cycling")
        return ("cycling", out) if out.kind != "error" else None
    return ("read", out) if out.kind != "error" else None


# --------------------------------------------------------------------------- comparing


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        return bool(np.allclose(a, b, rtol=RTOL, atol=0.0, equal_nan=True))
    return bool((a == b).all())


def _spectrum_diff(ref: Any, got: Any, *, allow_cut: bool = False, cut_file: bool = False) -> list[str]:
    out = []
    n = len(got.freq)
    if n != len(ref.freq) and not (allow_cut and n < len(ref.freq)):
        out.append(f"{n} points, expected {len(ref.freq)}")
        return out
    if not _close(got.freq, ref.freq[:n]):
        out.append("freq differs")
    if not _close(got.z, ref.z[:n]):
        out.append("Z differs")
    if got.timestamp != ref.timestamp and not (cut_file and got.timestamp is None):
        # a cut binary loses the modules after the cut (EC-Lab's LOG: start time, device)
        out.append(f"timestamp {got.timestamp} != {ref.timestamp}")
    if (got.elapsed_s is None) != (ref.elapsed_s is None) or (
        got.elapsed_s is not None and not np.isclose(got.elapsed_s, ref.elapsed_s, rtol=RTOL)
    ):
        out.append(f"elapsed_s {got.elapsed_s} != {ref.elapsed_s}")
    for key in META_KEYS:
        if allow_cut and key in ("n_dropped", "dropped", "truncated"):
            continue
        if cut_file and got.meta.get(key) is None:
            continue
        a, b = ref.meta.get(key), got.meta.get(key)
        if isinstance(a, float) and isinstance(b, float):
            if not np.isclose(a, b, rtol=RTOL, equal_nan=True):
                out.append(f"meta[{key!r}] {b!r} != {a!r}")
        elif a != b:
            out.append(f"meta[{key!r}] {b!r} != {a!r}")
    return out


def _frame_diff(ref: Any, got: Any, *, allow_cut: bool = False) -> list[str]:
    n = len(got)
    if n != len(ref) and not (allow_cut and n < len(ref)):
        return [f"{n} rows, expected {len(ref)}"]
    lost = [c for c in ref.columns if c not in got.columns]
    if allow_cut and lost == ["timestamp"]:  # the start time sits after the cut
        ref = ref.drop(columns=lost)
    if list(got.columns) != list(ref.columns):
        return [f"columns {list(got.columns)} != {list(ref.columns)}"]
    out = []
    for name in ref.columns:
        a, b = ref[name].to_numpy()[:n], got[name].to_numpy()
        if a.dtype.kind in "fiu" and b.dtype.kind in "fiu":
            if not np.allclose(a.astype(float), b.astype(float), rtol=RTOL, atol=1e-12, equal_nan=True):
                out.append(f"column {name} differs")
        elif not all((x == y) or (x != x and y != y) for x, y in zip(a, b, strict=True)):
            out.append(f"column {name} differs")
    return out


def _judge(ref: Outcome, got: Outcome, variant: str, path: Path) -> tuple[str, str]:
    """(outcome, detail) of one variant against the reference."""
    cut = variant.startswith("cut")
    if got.kind == "error":
        err = got.value
        text = str(err)
        if not isinstance(err, EisnaError):
            return "CRASH", f"{type(err).__name__}: {text[:160]}".replace(str(path), "<file>")
        if "could not be parsed (" in text:
            return "STRAY", text.replace(str(path), "<file>")[:200]
        if str(path) not in text:
            return "ERROR-NO-FILE", text[:200]
        named = bool(re.search(r", (line|column|byte offset) ", text))
        label = "error-line" if named else "error"
        if variant in MUST_READ:
            label = label.upper()
        return label, text.replace(str(path), "<file>")[:200]
    if ref.kind == "spectra":
        a, b = ref.value, got.value
        if cut:
            if len(b) > len(a):
                return "DIFF", f"{len(b)} spectra, expected at most {len(a)}"
            diffs = [
                d
                for k, s in enumerate(b)
                for d in _spectrum_diff(a[k], s, allow_cut=k == len(b) - 1, cut_file=True)
            ]
            if diffs:
                return "DIFF", "; ".join(diffs[:3])
            lost = len(b) < len(a) or len(b[-1].freq) < len(a[len(b) - 1].freq)
            said = bool(got.warnings) or any(
                s.meta.get("truncated") or s.meta.get("n_dropped") for s in b[-1:]
            )
            if not lost:
                return "same", ""
            return ("prefix", "") if said else ("SILENT-CUT", f"{len(b)}/{len(a)} spectra, no warning")
        if len(a) != len(b):
            return "DIFF", f"{len(b)} spectra, expected {len(a)}"
        diffs = [
            f"#{k}: {d}" for k, (x, y) in enumerate(zip(a, b, strict=True)) for d in _spectrum_diff(x, y)
        ]
        return ("DIFF", "; ".join(diffs[:3])) if diffs else ("same", "")
    diffs = _frame_diff(ref.value, got.value, allow_cut=cut)
    if diffs:
        return "DIFF", "; ".join(diffs[:3])
    if cut and len(got.value) < len(ref.value):
        return ("prefix", "") if got.warnings else ("SILENT-CUT", f"{len(got.value)}/{len(ref.value)} rows")
    return "same", ""


# --------------------------------------------------------------------------- variants

_FLOAT_FIELD = re.compile(r"^(\s*[-+]?\d+)\.(\d*(?:[eE][-+]?\d+)?\s*)$")


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def _eol(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").split("\n")


def _join(lines: list[str], eol: str) -> str:
    return eol.join(lines)


def _separator(lines: list[str]) -> str:
    sample = [ln for ln in lines if ln.strip()][-20:]
    counts = {sep: sum(ln.count(sep) for ln in sample) for sep in ("\t", ";", ",")}
    return max(counts, key=lambda s: counts[s])


def _table_span(lines: list[str], sep: str, fmt: str) -> tuple[int, int] | None:
    """(header line, end) of the last block of lines that split into the same field count."""
    if fmt == "biologic-mpt":
        match = re.search(r"Nb header lines\s*:\s*(\d+)", "\n".join(lines[:3]))
        if match is None:
            return None
        head = int(match.group(1)) - 1
        end = len(lines)
        while end > head + 1 and not lines[end - 1].strip():
            end -= 1
        return head, end
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    width = lines[end - 1].count(sep) if end else 0
    if width == 0:
        return None
    start = end - 1
    while start > 0 and lines[start - 1].count(sep) == width and lines[start - 1].strip():
        start -= 1
    if any(ch.isalpha() and ch not in "eE" for ch in lines[start].replace("E+", "").replace("E-", "")):
        return start, end  # the block starts with its header line
    return None


def _swap_decimal(field: str) -> str:
    return _FLOAT_FIELD.sub(r"\1,\2", field)


def _table_variant(text: str, fmt: str, how: str) -> str | None:
    lines = _lines(text)
    eol = _eol(text)
    sep = _separator(lines)
    span = _table_span(lines, sep, fmt)
    if span is None:
        return None
    head, end = span
    rows = [ln.rstrip("\r").split(sep) for ln in lines[head:end]]  # "\r\r\n" (NOVA, PowerSuite)
    if how in ("decimal-comma", "decimal-comma-tab"):
        new_sep = "\t" if how == "decimal-comma-tab" or sep == "\t" else ";" if sep == "," else sep
        if how == "decimal-comma-tab" and fmt == "biologic-mpt":
            return None  # EC-Lab keeps tabs: same as decimal-comma
        if sep == ";" and how == "decimal-comma":
            return None  # already ';'
        body = [new_sep.join(_swap_decimal(f) for f in r) for r in rows]
        if body == [sep.join(r) for r in rows]:
            return None
        # the header's number lines change too in a comma locale (EC-Lab does that)
        top = [_swap_decimal_words(ln) for ln in lines[:head]] if fmt == "biologic-mpt" else lines[:head]
        return _join([*top, *body, *lines[end:]], eol)
    rows = [r[:-1] if len(r) > 1 and r[-1] == "" else r for r in rows]  # trailing separators
    lead = all(r[0] == "" for r in rows[:3])  # Gamry indents its table rows with a tab
    if lead:
        rows = [r[1:] for r in rows]
    n_cols = len(rows[1]) if len(rows) > 1 else 0  # the first data row (names can run wider)
    if n_cols < 3:
        return None
    if how == "columns-reordered":
        order = list(range(n_cols))[::-1]
    elif how == "extra-column":
        order = [0, -1, *range(1, n_cols)]
    else:
        raise ValueError(how)
    out = []
    for k, r in enumerate(rows):
        cells = r[:n_cols] + [""] * (n_cols - len(r[:n_cols]))
        new = [("Probe X/au" if k == 0 else "4.2") if j == -1 else cells[j] for j in order]
        out.append(sep * lead + sep.join(new))
    return _join([*lines[:head], *out, *lines[end:]], eol)


def _data_rows(text: str, fmt: str, change: Callable[[str], str], *, header: bool = False) -> str | None:
    """``text`` with ``change`` applied to every data row (and the column-name line with ``header``)."""
    lines = _lines(text)
    span = _table_span(lines, _separator(lines), fmt)
    if span is None:
        return None
    head, end = span
    first = head if header else head + 1
    body = [change(ln.rstrip("\r")) if ln.strip() else ln for ln in lines[first:end]]
    return _join([*lines[:first], *body, *lines[end:]], _eol(text))


def _swap_decimal_words(line: str) -> str:
    return re.sub(r"(?<![\w.])([-+]?\d+)\.(\d+)(?![\w.])", r"\1,\2", line) if " : " in line else line


def _nb_header(text: str, delta: int) -> str | None:
    match = re.search(r"(Nb header lines\s*:\s*)(\d+)", text[:300])
    if match is None:
        return None
    n = int(match.group(2)) + delta
    if n < 2:
        return None
    return text[: match.start(2)] + str(n) + text[match.end(2) :]


def _cut_mid_line(data: bytes, share: float) -> bytes:
    at = int(len(data) * share)
    start = data.rfind(b"\n", 0, at) + 1
    stop = data.find(b"\n", at)
    stop = len(data) if stop < 0 else stop
    return data[: start + max(1, (stop - start) // 2)]


def variants(path: Path, data: bytes, fmt: str) -> Iterator[tuple[str, str, bytes]]:
    """(variant name, file name, bytes) for every variant that applies to the file."""
    suffix = path.suffix
    stem = path.name[: -len(suffix)] if suffix else path.name
    yield "ext-upper", stem + suffix.upper() if suffix != suffix.upper() else stem + suffix.lower(), data
    yield "ext-none", stem, data
    yield "ext-wrong", stem + (".csv" if suffix.lower() == ".txt" else ".txt"), data
    binary = suffix.lower() in BINARY_SUFFIXES or b"\0" in data[:4096] or data[:2] == b"PK"
    for share in (50, 90, 99):
        at = len(data) * share // 100
        if not binary and (data[at - 1 : at] == b"\n" or data[at : at + 1] in (b"\r", b"\n")):
            at -= 4  # a text cut right at a line end cannot be seen: cut inside the number before
        yield f"cut-{share}", path.name, data[:at]
    if binary:
        return
    text, encoding = _decode(data)
    raw_encoding = "utf-8" if encoding == "utf-8" else "cp1252"
    eol = _eol(text)

    def enc(s: str, codec: str = raw_encoding) -> bytes:
        return s.encode(codec, errors="replace")

    if eol == "\n":
        yield "crlf", path.name, enc(text.replace("\n", "\r\n"))
    else:
        yield "lf", path.name, enc(text.replace("\r\n", "\n"))
    yield "utf8-bom", path.name, b"\xef\xbb\xbf" + text.encode("utf-8")
    if encoding == "utf-8" and not text.isascii():
        yield "cp1252", path.name, text.replace("Ω", "Ohm").encode("cp1252", errors="replace")
    elif encoding != "utf-8":
        yield "utf8", path.name, text.encode("utf-8")
    if fmt in ("table", "neware-csv") and suffix.lower() in (".csv", ".txt"):  # Excel's "Unicode text"
        yield "utf16", path.name, text.encode("utf-16")
    if fmt in ("table", "autolab", "neware-csv") and "Ohm" in text:
        yield "ohm-symbol", path.name, text.replace("Ohm", "Ω").encode("utf-8")
    yield "trailing-blank", path.name, enc(text.rstrip("\r\n") + eol * 3)
    last = data.rstrip(b"\r\n")
    yield "cut-last-line", path.name, _cut_mid_line(last, (last.rfind(b"\n") + 2) / len(last))
    if fmt == "biologic-mpt":
        for delta, name in ((1, "nb-header+1"), (-1, "nb-header-1")):
            if (changed := _nb_header(text, delta)) is not None:
                yield name, path.name, enc(changed)
    if fmt == "biologic-mpt" and (changed := _data_rows(text, fmt, lambda r: r + "\t")) is not None:
        yield "trailing-tab", path.name, enc(changed)  # some exports end every data row with a tab
    if fmt in ("table", "neware-csv") and suffix.lower() == ".csv":
        quote = _data_rows(text, fmt, lambda r: ",".join(f'"{c}"' for c in r.split(",")), header=True)
        if quote is not None:
            yield "quoted", path.name, enc(quote)  # Excel (and others) quote every CSV field
    if fmt in NAMED_COLUMN_FORMATS or fmt == "biologic-mpt":
        for how in ("decimal-comma", "decimal-comma-tab", "columns-reordered", "extra-column"):
            if (changed := _table_variant(text, fmt, how)) is not None:
                yield how, path.name, enc(changed)


# --------------------------------------------------------------------------- main


def audit(
    corpus: Path, only: str | None = None, names: Collection[str] | None = None
) -> list[tuple[str, str, str, str, str]]:
    """Rows (file, format, variant, outcome, detail) for every corpus file and variant.

    ``only`` keeps the files whose path contains it; ``names`` (paths relative to the
    corpus) keeps just those files.
    """
    rows = []
    with tempfile.TemporaryDirectory(prefix="eisna-audit-") as tmp:
        scratch = Path(tmp)
        for path in sorted(corpus.rglob("*")):
            if not path.is_file() or path.name == "SOURCES.md" or (only and only not in str(path)):
                continue
            if names is not None and str(path.relative_to(corpus)) not in names:
                continue
            name = str(path.relative_to(corpus))
            reference = _reference(path)
            if reference is None:
                continue  # not readable as it is (e.g. a fit-result JSON): nothing to compare
            mode, ref = reference
            fmt = ref.value[0].meta.get("format", "?") if mode == "read" else _cycling_format(path)
            for variant, file_name, data in variants(path, path.read_bytes(), fmt):
                folder = scratch / f"{len(rows)}"
                folder.mkdir()
                target = folder / file_name
                target.write_bytes(data)
                got = _read(target, mode)
                outcome, detail = _judge(ref, got, variant, target)
                rows.append((name, fmt, variant, outcome, detail))
                shutil.rmtree(folder)
    return rows


def _cycling_format(path: Path) -> str:
    from eisna.io._registry import find_reader

    return str(find_reader(path, need="read_cycling").NAME)


DEFECTS = ("DIFF", "STRAY", "CRASH", "SILENT-CUT", "ERROR", "ERROR-LINE", "ERROR-NO-FILE")


def _summary(rows: list[tuple[str, str, str, str, str]]) -> dict[tuple[str, str], Counter[str]]:
    table: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for _, fmt, variant, outcome, _ in rows:
        table[(variant, fmt)][outcome] += 1
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--only", help="audit only files whose path contains this text")
    parser.add_argument("--details", action="store_true", help="list every defect with its message")
    parser.add_argument("--all-details", action="store_true", help="list every outcome with its message")
    parser.add_argument(
        "--direct", action="store_true", help="call the readers without the registry's safety net"
    )
    args = parser.parse_args(argv)
    global DIRECT
    DIRECT = args.direct
    if not args.corpus.is_dir():
        print(f"corpus not found at {args.corpus}", file=sys.stderr)
        return 2
    t0 = time.process_time()
    rows = audit(args.corpus.resolve(), args.only)
    cpu = time.process_time() - t0
    table = _summary(rows)
    formats = sorted({fmt for _, fmt in table})
    variant_names = list(dict.fromkeys(v for _, _, v, _, _ in rows))
    print("| variant | " + " | ".join(formats) + " |")
    print("|---|" + "---|" * len(formats))
    for variant in variant_names:
        cells = []
        for fmt in formats:
            counts = table.get((variant, fmt))
            cells.append(", ".join(f"{k} {n}" for k, n in sorted(counts.items())) if counts else "")
        print(f"| {variant} | " + " | ".join(cells) + " |")
    defects = [r for r in rows if r[3] in DEFECTS]
    print(f"\n{len(rows)} reads, {len(defects)} defects, {cpu:.1f} s CPU")
    if args.details or args.all_details:
        for name, _fmt, variant, outcome, detail in rows:
            if args.all_details or outcome in DEFECTS:
                print(f"{outcome:12s} {variant:18s} {name}: {detail}")
    return 1 if defects else 0


if __name__ == "__main__":
    sys.exit(main())
