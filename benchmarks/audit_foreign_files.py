"""Audit eisna's readers on instrument files that are not in the repository (dev-only).

Usage::

    python benchmarks/audit_foreign_files.py DIR [--markdown]

Every file under DIR is read with :func:`eisna.read` and described with ``eisna info``
(in-process); the impedance spectra get a lin-KK test. The values are checked against a
deliberately simple parse written here, independent of the readers, for the layouts it
knows (EC-Lab ``.mpt`` text, Gamry ``.DTA``, RelaxIS text exports): number of spectra,
and frequency, Z′ and Z″ of the first and last point of the first and last spectrum; and
whether the file states a start time that the spectra lost.

Outcomes:

``read``
    Spectra read, and they agree with the simple parse (or the simple parse does not know
    the layout: ``read (unchecked)``).
``cycling``
    An EC-Lab DC export (time, potential and current, or an OCV rest): :func:`eisna.read`
    says there is no impedance data, naming the file, and :func:`eisna.read_cycling` returns
    every row.
``clear error``
    An :class:`eisna.EisnaError` naming the file, for a file the simple parse also finds
    no impedance data in (a CV, an unsupported cycler export, an index file).
``DEFECT``
    A crash with another exception, values or spectrum counts that differ from the
    simple parse, impedance data the reader refused, a start time the file states but
    the spectra lost, ``eisna info`` failing with another message than the reader (or
    printing a third-party warning), an error message that does not name the file, or the
    generic "no reader recognises" or "no numeric data rows" for a file whose first line
    names its instrument software (an EC-Lab log, settings or loop index file should be
    said as such).

Files named ``MANIFEST*`` or starting with ``_`` are skipped (the fetch manifest and
helpers). Nothing here needs the files to be in the repository.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

RTOL = 1e-6


@dataclass
class Simple:
    """What the simple parse found: spectra as (freq, re, im) lists, and a stated start."""

    spectra: list[tuple[list[float], list[float], list[float]]] = field(default_factory=list)
    start_stated: bool = False
    layout: str = ""
    cycling_rows: int = 0  # EC-Lab DC rows with time, potential and current (or an OCV rest)


def _num(text: str, comma: bool) -> float | None:
    text = text.strip()
    if comma:
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def _split_sweeps(rows: list[tuple[float, float, float, float | None]]) -> Simple:
    """Rows (freq, re, im, cycle) -> spectra: a new one where the cycle changes or the sweep restarts."""
    out = Simple()
    current: tuple[list[float], list[float], list[float]] = ([], [], [])
    last_f, last_c = None, None
    for f, re_, im, cyc in rows:
        if f <= 0:
            continue
        restart = last_f is not None and f > last_f * 1.5 and len(current[0]) > 2
        if current[0] and ((cyc is not None and last_c is not None and cyc != last_c) or restart):
            out.spectra.append(current)
            current = ([], [], [])
        current[0].append(f)
        current[1].append(re_)
        current[2].append(im)
        last_f, last_c = f, cyc
    if current[0]:
        out.spectra.append(current)
    return out


_POTENTIALS = {"Ewe/V", "<Ewe>/V", "<Ewe/V>", "Ecell/V", "<Ecell>/V"}
_CURRENTS = {"I/mA", "<I>/mA", "I/A", "<I>/A"}


def _eclab_cycling(lines: list[str], head: int, names: list[str]) -> int:
    """Rows of an EC-Lab DC export a cycling reader must return (0 when it is not one)."""
    rest = any(s.strip() == "Open Circuit Voltage" for s in lines[:head])
    if "time/s" not in names or not _POTENTIALS & set(names) or not (_CURRENTS & set(names) or rest):
        return 0
    return sum(1 for s in lines[head + 1 :] if s.strip() and s.lstrip()[:1] in "+-0123456789.")


def _eclab(lines: list[str]) -> Simple | None:
    """EC-Lab/BT-Lab text: the column line holds ``freq/Hz`` (or, for DC data, ``time/s``)."""
    head = next((i for i, s in enumerate(lines[:200]) if "freq/Hz" in s.split("\t")), None)
    if head is None:
        dc = next((i for i, s in enumerate(lines[:200]) if "time/s" in s.split("\t")), None)
        if dc is None:
            return None
        names = [n.strip() for n in lines[dc].rstrip("\r\n").split("\t")]
        return Simple(layout="EC-Lab text", cycling_rows=_eclab_cycling(lines, dc, names))
    names = lines[head].rstrip("\r\n").split("\t")
    sign = -1.0 if "-Im(Z)/Ohm" in names else 1.0  # EC-Lab writes -Im(Z); a few exports Im(Z)
    try:
        i_f, i_re = names.index("freq/Hz"), names.index("Re(Z)/Ohm")
        i_im = names.index("-Im(Z)/Ohm" if sign < 0 else "Im(Z)/Ohm")
    except ValueError:
        return None
    i_c = names.index("cycle number") if "cycle number" in names else None
    body = [s.rstrip("\r\n").split("\t") for s in lines[head + 1 :] if s.strip()]
    comma = bool(body) and "," in body[0][i_f] and "." not in body[0][i_f]
    rows = []
    for cells in body:
        if len(cells) <= max(i_f, i_re, i_im):
            continue
        f, re_, im = (_num(cells[i], comma) for i in (i_f, i_re, i_im))
        if f is None or re_ is None or im is None:
            continue
        cyc = _num(cells[i_c], comma) if i_c is not None and i_c < len(cells) else None
        rows.append((f, re_, sign * im, cyc))
    out = _split_sweeps(rows)
    out.start_stated = any(re.match(r"Acquisition started on : \d", s) for s in lines[:head])
    out.layout = "EC-Lab text"
    return out


def _gamry(lines: list[str]) -> Simple | None:
    if not lines or lines[0].strip() != "EXPLAIN":
        return None
    out = Simple(layout="Gamry DTA")
    date = any(s.startswith("DATE\t") and re.search(r"\d", s) for s in lines[:40])
    clock = any(s.startswith("TIME\t") and re.search(r"\d", s) for s in lines[:40])
    out.start_stated = date and clock
    for i, s in enumerate(lines):
        if not s.startswith("ZCURVE\t"):
            continue
        names = lines[i + 1].rstrip("\r\n").split("\t")
        i_f, i_re, i_im = names.index("Freq"), names.index("Zreal"), names.index("Zimag")
        spec: tuple[list[float], list[float], list[float]] = ([], [], [])
        for row in lines[i + 3 :]:
            cells = row.rstrip("\r\n").split("\t")
            if len(cells) <= max(i_f, i_re, i_im):
                break
            vals = [_num(cells[k], False) for k in (i_f, i_re, i_im)]
            if any(v is None for v in vals):
                break
            f, re_, im = (float(v) for v in vals if v is not None)
            spec[0].append(f)
            spec[1].append(re_)
            spec[2].append(im)
        if spec[0]:
            out.spectra.append(spec)
    return out


def _relaxis(lines: list[str]) -> Simple | None:
    if not lines or "relaxis" not in lines[0].lower():
        return None
    out = Simple(layout="RelaxIS text")
    spec: tuple[list[float], list[float], list[float]] | None = None
    for s in lines[1:]:
        cells = s.rstrip("\r\n").split("\t")
        vals = [_num(c, False) for c in cells[:3]]
        if len(cells) >= 3 and all(v is not None for v in vals):
            if spec is None:
                spec = ([], [], [])
                out.spectra.append(spec)
            f, re_, im = (float(v) for v in vals if v is not None)
            spec[0].append(f)
            spec[1].append(re_)
            spec[2].append(im)
        elif "Frequency" in s:
            spec = None
    return out


def simple_parse(path: Path) -> Simple | None:
    """The simple parse of a file, or None when the layout is not one it knows."""
    raw = path.read_bytes()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return None
    text = raw.decode("cp1252", errors="replace")
    lines = text.splitlines()
    for parse in (_gamry, _relaxis, _eclab):
        found = parse(lines)
        if found is not None:
            return found
    return None


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=RTOL, abs_tol=1e-12)


def _compare(spectra: Sequence[object], ref: Simple) -> str | None:
    """None when the spectra agree with the simple parse, else what differs."""
    if len(spectra) != len(ref.spectra):
        return f"{len(spectra)} spectra read, the file holds {len(ref.spectra)}"
    for k in {0, len(spectra) - 1}:
        s = spectra[k]
        f_ref, re_ref, im_ref = ref.spectra[k]
        freq, z = s.freq, s.z  # type: ignore[attr-defined]
        if len(freq) != len(f_ref):
            return f"spectrum {k}: {len(freq)} points read, the file holds {len(f_ref)}"
        for j in (0, len(freq) - 1):
            got = (float(freq[j]), float(z[j].real), float(z[j].imag))
            want = (f_ref[j], re_ref[j], im_ref[j])
            if not all(_close(g, w) for g, w in zip(got, want, strict=True)):
                return f"spectrum {k} point {j}: read {got}, file {want}"
    if ref.start_stated and spectra[0].timestamp is None:  # type: ignore[attr-defined]
        return "the file states its start time; the spectra have none"
    return None


def _info(path: Path) -> tuple[str | None, list[str]]:
    """``eisna info``'s error class (or None) and its warning lines."""
    from eisna.cli.info import describe
    from eisna.errors import EisnaError

    try:
        lines = describe(str(path))
    except EisnaError as err:
        return type(err).__name__, []
    return None, [s for s in lines if s.startswith("  warning:")]


# First lines by which instrument software names its own files (exports, logs, settings).
_INSTRUMENT_BANNER = re.compile(r"(EC-Lab|BT-Lab|VMP EXPERIMENT|EXPLAIN|ZPLOT|RelaxIS)", re.IGNORECASE)


def _first_line(path: Path) -> str:
    with open(path, "rb") as fh:
        return fh.readline(200).decode("latin-1").lstrip("\ufeff\xef\xbb\xbf").strip()


def audit(path: Path, root: Path) -> tuple[str, str]:
    """Return (outcome, detail) for one file."""
    import eisna
    from eisna.errors import EisnaError, NoImpedanceData

    ref = simple_parse(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            spectra = eisna.read(path)
        except EisnaError as err:
            message = str(err)
            if path.name not in message:
                return "DEFECT", f"error without the file name: {message[:160]}"
            if ref is not None and ref.spectra:
                return "DEFECT", f"{type(err).__name__} on a file with impedance data: {message[:200]}"
            generic = ("no reader recognises", "no numeric data rows")
            if any(g in message for g in generic) and _INSTRUMENT_BANNER.match(_first_line(path)):
                return "DEFECT", f"generic message on an instrument file: {message.split(': ', 1)[-1][:110]}"
            info_error, info_warnings = _info(path)
            if isinstance(err, NoImpedanceData) and info_error not in (None, "NoImpedanceData"):
                return "DEFECT", f"read: NoImpedanceData; info: {info_error} (another reason)"
            stray = [w for w in info_warnings if "nanosecond" in w]
            if stray:
                return "DEFECT", f"info prints a third-party warning: {stray[0].strip()}"
            if ref is not None and ref.cycling_rows:
                try:
                    rows = len(eisna.read_cycling(path))
                except EisnaError as cycling_err:
                    reason = str(cycling_err).split(": ", 1)[-1]
                    return "DEFECT", f"cycling rows refused: {reason[:150]}"
                if rows != ref.cycling_rows:
                    return "DEFECT", f"{rows} cycling rows read, the file holds {ref.cycling_rows}"
                return "cycling", f"{rows} cycling rows; read(): {type(err).__name__} naming the file"
            reason = message.split(": ", 1)[-1]
            return "clear error", f"{type(err).__name__}: {reason[:150]}"
        except Exception as err:  # the point is to catch what is not an EisnaError
            return "DEFECT", f"crash {type(err).__name__}: {err}"
    if ref is not None and ref.spectra:
        diff = _compare(spectra, ref)
        if diff is not None:
            return "DEFECT", diff
    info_error, info_warnings = _info(path)
    if info_error is not None:
        return "DEFECT", f"read works but info fails with {info_error}"
    try:
        kk = eisna.kk_test(spectra[0])  # type: ignore[attr-defined]
        kk_text = f"KK M={getattr(kk, 'M', getattr(kk, 'n_rc', '?'))}"
    except EisnaError as err:
        kk_text = f"KK refused: {str(err)[-80:]}"
    except Exception as err:  # a crash, not an EisnaError
        return "DEFECT", f"KK crash {type(err).__name__}: {err}"
    stamp = spectra[0].timestamp
    outcome = "read" if ref is not None and ref.spectra else "read (unchecked)"
    npts = f"{len(spectra[0])}" + (f"–{len(spectra[-1])}" if len(spectra) > 1 else "")
    extra = f"; {len(caught)} warnings" if caught else ""
    return outcome, (
        f"{len(spectra)} spectra × {npts} pts, start {stamp.isoformat() if stamp else 'none'}, "
        f"{kk_text}{extra}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    root: Path = args.folder
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith("_") and not p.name.startswith("MANIFEST")
    )
    counts: dict[str, int] = {}
    if args.markdown:
        print("| file | outcome | detail |\n|---|---|---|")
    for path in files:
        outcome, detail = audit(path, root)
        key = "DEFECT" if outcome == "DEFECT" else outcome.split(" (")[0]
        counts[key] = counts.get(key, 0) + 1
        rel = path.relative_to(root).as_posix()
        if args.markdown:
            print(f"| `{rel}` | {outcome} | {detail.replace('|', '/')} |")
        else:
            print(f"{outcome:16s} {rel}\n{'':16s} {detail}")
    total = sum(counts.values())
    print("\n" + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) + f" (of {total} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
