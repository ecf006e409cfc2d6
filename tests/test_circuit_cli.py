"""``eisna circuits`` lists the library."""

from __future__ import annotations

from eisna.cli import main


def test_circuits_lists_library(capsys):
    assert main(["circuits"]) == 0
    out = capsys.readouterr().out
    assert "symmetric_interlayer: L0-p(R0,C0)-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)-Ws0" in out
    assert "R2=interlayer" in out and "pellet_merged" in out


def test_circuits_shows_one_in_full(capsys):
    assert main(["circuits", "pellet_merged"]) == 0
    out = capsys.readouterr().out
    assert "n_el" in out and "bounds [0.4, 1]" in out and "ref:" in out


def test_unknown_circuit_is_an_error(capsys):
    assert main(["circuits", "nope_circuit"]) == 1
    assert "no library circuit named 'nope_circuit'" in capsys.readouterr().err
