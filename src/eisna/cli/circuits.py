"""``eisna circuits [NAME]``: list the circuit library, or show one circuit in full."""

from __future__ import annotations

import argparse

EXAMPLES = """examples:
  eisna circuits
  eisna circuits symmetric_interlayer
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "circuits",
        help="list the library circuits with their elements, roles and descriptions",
        description="List the library circuits (circuits/*.toml and EISNA_CIRCUIT_PATH), or show one "
        "circuit with its parameters, bounds and references.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", nargs="?", help="show this circuit in full")
    p.set_defaults(run=run)


def describe(name: str, full: bool = False) -> list[str]:
    """Lines printed for one library circuit."""
    from ..circuit import load_circuit

    d = load_circuit(name)
    lines = [f"{d.name}: {d.circuit.text}"]
    if d.title:
        lines.append(f"  {d.title}")
    roles = ", ".join(f"{e.name}={d.roles[e.name]}" for e in d.circuit.elements)
    lines.append(f"  roles: {roles}")
    lines.append(f"  parameters: {', '.join(d.param_names)}")
    if full:
        for pname in d.param_names:
            p = d.defaults[pname]
            lines.append(f"    {pname:<6} start {p.value:<10.4g} bounds [{p.min:.3g}, {p.max:.3g}] {p.scale}")
        lines.append("  " + d.description.replace("\n", "\n  "))
        lines.extend(f"  ref: {r}" for r in d.references)
        lines.append(f"  file: {d.source}")
    return lines


def run(args: argparse.Namespace) -> int:
    from ..circuit import list_circuits

    if args.name:
        print("\n".join(describe(args.name, full=True)))
        return 0
    for name in list_circuits():
        print("\n".join(describe(name)))
    return 0
