"""Arrhenius fits (σT form) on exact data, on the sample pellet set, and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from eisna.temperature import K_B_EV, ArrheniusError, arrhenius, temperature_from_text

REPO = Path(__file__).resolve().parents[1]
PELLET = REPO / "sample_spectra" / "pellet"
TRUTH = REPO / "sample_spectra" / "truth.json"


def _resistance(T, R25, Ea):
    # R ∝ 1/σ with σT = A exp(−Ea/kT)
    return R25 * (T / 298.15) * math.exp(Ea / K_B_EV * (1 / T - 1 / 298.15))


def _fake_fits(temps, Ea_b=0.25, Ea_gb=0.35):
    return [
        SimpleNamespace(
            params={"R_b": _resistance(T, 400.0, Ea_b), "R_gb": _resistance(T, 250.0, Ea_gb)},
            stderr={"R_b": 1e-3 * _resistance(T, 400.0, Ea_b), "R_gb": 1e-3 * _resistance(T, 250.0, Ea_gb)},
            success=True,
            meta={"temperature_K": T, "source": f"p{T:.0f}.mpt"},
        )
        for T in temps
    ]


def test_exact_data_give_exact_activation_energies():
    temps = [298.15, 318.15, 338.15, 358.15]
    res = arrhenius(_fake_fits(temps), thickness_cm=0.13, area_cm2=0.785)
    assert res.form == "sigma*T = A*exp(-Ea/(k_B*T))"
    assert res["bulk"].Ea_eV == pytest.approx(0.25, abs=1e-9)
    assert res["grain_boundary"].Ea_eV == pytest.approx(0.35, abs=1e-9)
    # total mixes the two: between them, and its line is curved (R² < 1)
    assert 0.25 < res["total"].Ea_eV < 0.35
    assert res["total"].r_squared < 1.0
    # σ_b(25 °C) = L / (R_b A)
    assert res["bulk"].sigma_25C_S_cm == pytest.approx(0.13 / (400.0 * 0.785), rel=1e-9)
    assert res["bulk"].predict([298.15])[0] == pytest.approx(0.13 / (400.0 * 0.785), rel=1e-9)
    d = res.to_dict()
    assert d["fits"]["bulk"]["Ea_kJ_per_mol"] == pytest.approx(0.25 * 96.485)


def test_temperatures_can_be_supplied_and_failed_fits_are_skipped():
    temps = [300.0, 320.0, 340.0]
    fits = _fake_fits(temps)
    for f in fits:
        f.meta = {}
    fits.append(SimpleNamespace(params={}, stderr={}, success=False, meta={}))
    res = arrhenius(fits, 0.1, 0.785, temperatures_K=[*temps, 360.0])
    assert res["bulk"].T_K.tolist() == temps


def test_resistances_counted_as_interfacial_leave_the_electrolyte_lines():
    """An arc the fit's physics moved to the interface (electrode-scale C_eff) is not the SE's."""
    from eisna.errors import RoleMismatchWarning

    temps = [298.15, 318.15, 338.15, 358.15]
    fits = _fake_fits(temps)
    # the lowest temperature's bulk arc is electrode-scale: that fit leaves the bulk line
    fits[0].meta["interfacial_resistances"] = ("R_b",)
    with pytest.warns(RoleMismatchWarning, match=r"p298\.mpt.*left out.*R_b"):
        res = arrhenius(fits, 0.13, 0.785)
    assert res["bulk"].T_K.tolist() == temps[1:]
    assert res["bulk"].Ea_eV == pytest.approx(0.25, abs=1e-9)
    assert "grain_boundary" in res.fits
    # one R_gb electrode-scale: the grain-boundary and total lines are not drawn from it
    fits = _fake_fits(temps)
    fits[2].meta["interfacial_resistances"] = ("R_gb",)
    with pytest.warns(RoleMismatchWarning, match=r"p338\.mpt.*R_gb.*no grain-boundary or total line"):
        res = arrhenius(fits, 0.13, 0.785)
    assert res["bulk"].T_K.tolist() == temps
    assert "grain_boundary" not in res.fits and "total" not in res.fits


def test_errors():
    fits = _fake_fits([300.0, 320.0])
    with pytest.raises(ArrheniusError, match="thickness_cm and area_cm2 must be positive"):
        arrhenius(fits, 0.0, 0.785)
    with pytest.raises(ArrheniusError, match="2 or more temperatures"):
        arrhenius(fits[:1], 0.1, 0.785)
    with pytest.raises(ArrheniusError, match="1 temperatures for 2 results"):
        arrhenius(fits, 0.1, 0.785, temperatures_K=[300.0])
    for f in fits:
        f.meta = {}
    with pytest.raises(ArrheniusError, match="has no temperature"):
        arrhenius(fits, 0.1, 0.785)


@pytest.mark.parametrize(
    ("text", "kelvin"),
    [
        ("pellet_025C", 298.15),
        ("pellet_105C", 378.15),
        ("SS|Na3PS4|SS blocking pellet, T = 45 °C (318.15 K), 1.30 mm", 318.15),
        ("T = 65 degC", 338.15),
        ("run_373K", 373.0),
        ("no temperature here", None),
    ],
)
def test_temperature_from_text(text, kelvin):
    got = temperature_from_text(text)
    assert got == (pytest.approx(kelvin) if kelvin is not None else None)


@pytest.mark.slow
def test_sample_pellet_set_recovers_true_activation_energies(capsys, tmp_path):
    from eisna.cli import main

    truth = json.loads(TRUTH.read_text(encoding="utf-8"))["pellet"]
    files = sorted(str(p) for p in PELLET.glob("*.mpt"))
    assert len(files) == 5
    code = main(["arrhenius", *files, "--thickness-cm", "0.13", "--out", str(tmp_path)])
    assert code == 0
    text = capsys.readouterr().out
    assert "sigma*T = A*exp(-Ea/(k_B*T))" in text
    result = json.loads((tmp_path / "arrhenius.json").read_text(encoding="utf-8"))
    assert result["fits"]["bulk"]["Ea_eV"] == pytest.approx(truth["Ea_bulk_eV"], abs=0.01)
    assert result["fits"]["grain_boundary"]["Ea_eV"] == pytest.approx(truth["Ea_gb_eV"], abs=0.015)
    assert result["fits"]["bulk"]["T_K"] == pytest.approx([s["temperature_K"] for s in truth["spectra"]])
    sig = np.array(result["fits"]["total"]["sigma_S_per_cm"])
    true_sig = np.array([s["sigma_total_S_per_cm"] for s in truth["spectra"]])
    assert np.allclose(sig, true_sig, rtol=0.02)
    assert (tmp_path / "arrhenius.png").stat().st_size > 1000
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'alt="Arrhenius plot"' in html and "pellet_025C.mpt" in html
    # the blocking-electrode tail gets its series C in the KK test: every spectrum passes
    assert 'KK test passed</div><div class="v">5 / 5' in html


def test_cli_arrhenius_usage_errors(capsys):
    from eisna.cli import main

    files = sorted(str(p) for p in PELLET.glob("*.mpt"))[:2]
    assert main(["arrhenius", *files, "--thickness-cm", "0.1", "--temperatures", "300"]) == 2
    assert "1 temperatures for 2 files" in capsys.readouterr().err
    assert main(["arrhenius", "--help"]) == 0
    assert "examples:" in capsys.readouterr().out
    assert main(["arrhenius", *files]) == 2  # --thickness-cm is required


@pytest.mark.slow
def test_arrhenius_report_shows_the_activation_energies_and_temperatures(tmp_path):
    from eisna.cli import main

    files = sorted(str(p) for p in PELLET.glob("*.mpt"))
    assert main(["arrhenius", *files, "--thickness-cm", "0.13", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "arrhenius.json").read_text(encoding="utf-8"))
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<h2>Activation energies</h2>" in html and "T / °C" in html
    from eisna.units import format_quantity

    for kind, label in (("bulk", "bulk"), ("grain_boundary", "grain boundary"), ("total", "total")):
        fit = result["fits"][kind]
        ea = format_quantity(fit["Ea_eV"], fit["Ea_stderr_eV"], "eV")
        assert f"<td>{label}</td><td>{ea}</td>" in html
    assert "<td>25.0</td>" in html  # pellet_025C.mpt: its temperature in the fit table
    assert 'alt="Nyquist plots of the pellet"' in html
