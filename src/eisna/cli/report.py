"""``eisna report DIR``: (re)build the self-contained report.html of a batch output folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXAMPLES = """examples:
  eisna report eisna-out
  eisna report results/nas --title "NAS symmetric cell, 24 h OCV"

DIR is a folder written by 'eisna batch' (analysis.json; older folders: results.json,
kinetics.json). The page equals the one the batch wrote: it only renders the stored analysis.
The report embeds
every figure and stylesheet, so the single file opens offline and can be e-mailed.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write report.html for a batch output folder (figures, tables, kinetics, provenance)",
        description="Rebuild DIR/report.html from the analysis.json (KK verdicts, arcs, curves) that "
        "'eisna batch' wrote there, without recomputing: time-coloured Nyquist plots, parameter "
        "trajectories with the kinetics fit, a table of fitted values ± 1σ with KK verdicts, "
        "and the provenance.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", metavar="DIR", help="batch output folder")
    p.add_argument("--title", help="page title (default: from the circuit name)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..report import write_report

    folder = Path(args.dir)
    if not folder.is_dir():
        print(
            f"eisna report: error: {folder} is not a folder; expected the output folder of "
            "'eisna batch' (with results.json)",
            file=sys.stderr,
        )
        return 2
    path = write_report(folder, title=args.title)
    print(f"wrote {path}")
    return 0
