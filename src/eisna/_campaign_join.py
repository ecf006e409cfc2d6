"""Joining a campaign's per-cell outputs into ``results.csv``, ``tracks.csv``, ``kinetics.json``
and ``campaign.json``, one cell at a time (nothing is held for all cells at once).

``results.csv`` has the rows of a multi-cell ``eisna batch`` of the same inputs: the cells in
input order, each in time order, columns in order of first appearance, unreadable inputs (and
the files of a cell whose task failed) as failed rows at the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._atomic import write_atomic, write_atomic_chunks
from ._csvsafe import neutralise
from .campaign import (
    CELLS_DIRNAME,
    csv_header,
    csv_line,
    csv_rows,
    now_iso,
)

if TYPE_CHECKING:
    from .campaign import CampaignResult, _Cell

__all__ = ["write_joined"]

_FAILED_COLUMNS = ("source", "index", "timestamp", "time_h", "status", "reason", "interlayer", "model")


def write_joined(result: CampaignResult, cells: Sequence[_Cell], settings: dict[str, Any]) -> None:
    """Write the campaign-level files of ``result.out`` from its ``cells/`` folders."""
    out = Path(result.out)
    done = [out / CELLS_DIRNAME / r.folder for r in result.cells if r.status != "error"]
    failed = [*_failed_rows(result.read_failures), *_error_rows(result, cells)]
    _join_csv(out / "results.csv", [d / "results.csv" for d in done], failed)
    _join_csv(out / "tracks.csv", [d / "tracks.csv" for d in done], [])
    _join_kinetics(out / "kinetics.json", result, done)
    _write_campaign_json(out / "campaign.json", result, settings)


def _join_csv(path: Path, parts: Sequence[Path], extra: Sequence[dict[str, Any]]) -> None:
    parts = [p for p in parts if p.is_file()]
    columns: dict[str, None] = {}
    for p in parts:
        columns.update(dict.fromkeys(csv_header(p)))
    for row in extra:
        columns.update(dict.fromkeys(row))
    names = list(columns)

    def chunks() -> Iterator[str]:
        yield csv_line(names)
        for p in parts:
            for row in csv_rows(p):
                yield csv_line([row.get(n, "") for n in names])
        for row in extra:
            yield csv_line([_cell_text(row.get(n)) for n in names])

    write_atomic_chunks(path, chunks())


def _cell_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return neutralise(value) if isinstance(value, str) else str(value)


def _failed_rows(failures: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        dict(
            zip(_FAILED_COLUMNS, (f.source, f.index, None, None, "failed", f.reason, None, None), strict=True)
        )
        for f in failures
    ]


def _error_rows(result: CampaignResult, cells: Sequence[_Cell]) -> list[dict[str, Any]]:
    """One failed row per file of a cell whose task raised (never a silent gap)."""
    by_label = {c.label: c for c in cells}
    rows = []
    for r in result.cells:
        if r.status == "error":
            reason = f"cell task failed: {r.summary.get('error', '?')}; re-run to retry"
            for f in by_label[r.label].files:
                rows.append(
                    dict(
                        zip(
                            _FAILED_COLUMNS,
                            (str(f), None, None, None, "failed", reason, None, None),
                            strict=True,
                        )
                    )
                )
    return rows


def _join_kinetics(path: Path, result: CampaignResult, done: Sequence[Path]) -> None:
    """The main cell's kinetics at the top level (as in a batch) and every cell under ``cells``.

    Written in a batch's ``kinetics.json`` style (:func:`eisna.batching.dump_bytes`, two-space
    indent), one cell at a time: the bytes equal ``dump_bytes`` of the whole document.
    """
    from .batching import dump_bytes

    with_files = [(r, path.parent / CELLS_DIRNAME / r.folder / "kinetics.json") for r in result.cells]
    with_files = [(r, f) for r, f in with_files if r.status != "error" and f.is_file()]
    if not with_files:
        write_atomic(path, dump_bytes({"cells": {}}))
        return
    main, main_file = max(with_files, key=lambda rf: int(rf[0].summary.get("n_interlayer") or 0))
    top = dump_bytes(_cell_kinetics(main, main_file))
    # '{\n  ...\n}\n' without its closing brace: the "cells" member goes after the last one
    head = top[: top.rindex(b"}")].rstrip(b"\n")
    head += b",\n" if head != b"{" else b"\n"

    def chunks() -> Iterator[bytes]:
        yield head + b'  "cells": {\n'
        for k, (r, f) in enumerate(with_files):
            # a cell two levels down: every line of its own indented text 4 spaces deeper (a JSON
            # string holds no raw line end, so each line end is the encoder's)
            block = dump_bytes(_cell_kinetics(r, f)).rstrip(b"\n").replace(b"\n", b"\n    ")
            yield (b",\n" if k else b"") + b"    " + dump_bytes(r.label, compact=True)[:-1] + b": " + block
        yield b"\n  }\n}\n"

    write_atomic_chunks(path, chunks())


def _cell_kinetics(record: Any, path: Path) -> dict[str, Any]:
    """A cell's ``kinetics.json``, labelled with its cell as in a multi-cell batch."""
    kin = json.loads(path.read_text(encoding="utf-8"))
    kin.pop("cells", None)
    kin["cell"] = record.label
    return kin


def _write_campaign_json(path: Path, result: CampaignResult, settings: dict[str, Any]) -> None:
    from . import __version__

    info = {
        "eisna_version": __version__,
        "finished": now_iso(),
        "wall_s": round(result.wall_s, 3),
        "workers": result.workers,
        "settings": {
            k: v if isinstance(v, str | int | float | bool | None) else repr(v) for k, v in settings.items()
        },
        "n_cells": len(result.cells),
        "n_fitted": result.count("fitted"),
        "n_resumed": result.count("resumed"),
        "n_error": result.count("error"),
        "n_spectra": result.n_spectra,
        "n_failed": result.n_failed,
        "cells": [
            {"label": r.label, "folder": f"{CELLS_DIRNAME}/{r.folder}", "status": r.status, **r.summary}
            for r in result.cells
        ],
        "read_failures": [{"path": f.source, "reason": f.reason} for f in result.read_failures],
        "skipped": list(result.skipped),
    }
    write_atomic(path, json.dumps(info, indent=1, ensure_ascii=False, default=str) + "\n")
