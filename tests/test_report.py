"""report.html: self-contained, complete tables and provenance; rebuilt from JSON; renders in Chromium."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import eisna
from eisna.errors import EisnaError
from eisna.report import format_quantity, param_unit, render_report, write_report

REPO = Path(__file__).resolve().parents[1]
LOOPED = REPO / "sample_spectra" / "nas_looped.mpt"
PICK = (0, 24, 48)  # 0 h, 12 h, 24 h


@pytest.fixture(scope="module")
def series():
    spectra = eisna.read(LOOPED)
    fits = [eisna.fit(spectra[i], "symmetric_interlayer") for i in PICK]
    t_h = np.array([(spectra[i].timestamp - spectra[0].timestamp).total_seconds() / 3600 for i in PICK])
    return SimpleNamespace(results=fits, time_h=t_h, interlayer=[False, True, True])


@pytest.fixture(scope="module")
def kinetics():
    t = np.arange(0, 24.5, 0.5)
    r = np.where(t > 1, 180 * (1 - np.exp(-((np.clip(t - 1, 0, None) / 6) ** 1.5))), 0.0)
    r = r + np.random.default_rng(1).normal(0, 0.5, t.size)
    return eisna.fit_kinetics(t, r, np.full(t.size, 0.5))


# --- formatting ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "text"),
    [
        ((1.234e-9, 4.1e-11, "F"), "1.234 ± 0.041 nF"),
        ((177.64, 1.71, "Ω"), "177.6 ± 1.7 Ω"),
        ((12345.0, 250.0, "Ω"), "12.35 ± 0.25 kΩ"),
        ((0.853, 0.0043, ""), "0.8530 ± 0.0043"),
        ((3.04e-3, 1.0e-4, "S/cm"), "3.04 ± 0.10 mS/cm"),
        ((63.64, 0.46, "Ohm"), "63.64 ± 0.46 Ω"),
        ((1.08e-7, 4.3e-8, "F·s^(n−1)"), "(1.08 ± 0.43)e-07 F·s^(n−1)"),
        ((8.25e-13, 2e-9, "F"), "825 fF (σ > 10×)"),
        ((float("nan"), 1.0, "Ω"), "—"),
        ((10009.9, None, "Hz"), "10.01 kHz"),
    ],
)
def test_format_quantity(args, text):
    assert format_quantity(*args) == text


def test_param_unit_from_name():
    assert [
        param_unit(n) for n in ("R_gb", "C_b", "Q_int", "n_int", "L", "tau_W", "x", "R0", "CPE1_0", "CPE1_1")
    ] == [
        "Ω",
        "F",
        "F·s^(n−1)",
        "",
        "H",
        "s",
        "",
        "Ω",
        "F·s^(n−1)",
        "",
    ]


# --- report from objects ---------------------------------------------------------------------------
def _assert_self_contained(text: str) -> None:
    assert "<script" not in text.lower() and "<link" not in text.lower() and "@import" not in text
    assert "url(" not in text  # no CSS-loaded resources
    for attr in re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', text):
        assert attr.startswith("data:"), f"external resource {attr[:60]!r}"


def test_report_of_a_series_has_figures_tables_kinetics_and_provenance(tmp_path, series, kinetics):
    path = write_report(
        tmp_path,
        series=series,
        kinetics=kinetics,
        provenance={
            "circuit": "symmetric_interlayer",
            "options": {"weighting": "modulus"},
            "inputs": [str(LOOPED)],
        },
    )
    assert path == tmp_path / "report.html"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temp file left behind
    text = path.read_text(encoding="utf-8")
    _assert_self_contained(text)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(images) == 3  # Nyquist stack, trajectories, last fit
    assert all(base64.b64decode(b)[:8] == b"\x89PNG\r\n\x1a\n" for b in images)
    # one table row per spectrum, with the fitted R_int ± stderr as printed by format_quantity
    for i, fit in zip(PICK, series.results, strict=True):
        assert f"nas_looped.mpt #{i}" in text
        assert format_quantity(fit.params["R_int"], fit.stderr["R_int"]) in text
    assert "R_int / Ω" in text and "KK (max |res|)" in text
    n_pass = text.count('<span class="ok">pass</span>')
    assert n_pass + text.count('<span class="bad">FAIL</span>') == 3
    assert f'KK test passed</div><div class="v">{n_pass} / 3' in text
    # kinetics: the winning model and its onset
    assert f"{kinetics.model}:" in text and "onset t<sub>0</sub>" in text
    # provenance: version, options, input file with its SHA-256
    digest = hashlib.sha256(LOOPED.read_bytes()).hexdigest()
    assert digest in text and eisna.__version__ in text and "weighting" in text


def test_report_of_plain_fits_without_series(tmp_path, series):
    text = render_report(fits=series.results[:1])
    _assert_self_contained(text)
    assert text.count("data:image/png;base64,") == 1  # only the fit overview
    assert "Arcs of the last spectrum" in text and "interlayer" in text
    assert "Kinetics of interlayer growth" not in text


# --- report rebuilt from results.json ------------------------------------------------------------
def test_report_rebuilds_from_results_and_kinetics_json(tmp_path, series, kinetics):
    rows = []
    for i, t, fit in zip(PICK, series.time_h, series.results, strict=True):
        row = {
            "source": str(LOOPED),
            "index": i,
            "time_h": float(t),
            "status": "ok",
            "interlayer": True,
            "redchi": fit.redchi,
        }
        for name in fit.param_names:
            row[name] = fit.params[name]
            row[f"{name}_stderr"] = fit.stderr[name]
        rows.append(row)
    rows.append(
        {
            "source": "broken.mpt",
            "index": 0,
            "time_h": 30.0,
            "status": "failed",
            "reason": "broken.mpt, line 3: no 'freq/Hz' column",
        }
    )
    (tmp_path / "results.json").write_text(json.dumps(rows), encoding="utf-8")
    (tmp_path / "kinetics.json").write_text(json.dumps(kinetics.to_dict()), encoding="utf-8")
    text = write_report(tmp_path).read_text(encoding="utf-8")
    _assert_self_contained(text)
    assert text.count("data:image/png;base64,") == 2  # Nyquist stack (re-read files) + trajectories
    assert format_quantity(rows[1]["R_int"], rows[1]["R_int_stderr"]) in text
    assert "failed" in text and "no &#39;freq/Hz&#39; column" in text
    assert f"{kinetics.model}:" in text
    assert "3 / 4" in text  # spectra fitted


def test_report_of_an_empty_folder_says_what_to_do(tmp_path):
    with pytest.raises(EisnaError, match=r"no results to report; expected results.json from 'eisna batch'"):
        write_report(tmp_path)


# --- headless Chromium ---------------------------------------------------------------------------
PROBE = (
    '<script>window.addEventListener("load",function(){var im=[].slice.call(document.images);'
    "var bad=im.filter(function(i){return !(i.complete&&i.naturalWidth>0)}).length;"
    'var res=performance.getEntriesByType("resource").map(function(e){return e.name});'
    'var d=document.createElement("pre");d.id="eisna-probe";'
    "d.textContent=JSON.stringify({images:im.length,broken:bad,resources:res});"
    "document.body.appendChild(d);});</script>"
)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        exe = shutil.which(name)
        if exe:
            return exe
    print("SKIP reason: headless Chromium not installed (apt-get install chromium)")
    pytest.skip("headless Chromium not installed (apt-get install chromium)")
    raise AssertionError  # unreachable


def _chrome_args(exe: str, profile: Path) -> list[str]:
    return [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ]


@pytest.mark.slow
def test_report_renders_in_headless_chromium_with_no_failed_resource(tmp_path, series, kinetics):
    exe = _chromium()
    report = write_report(tmp_path / "out", series=series, kinetics=kinetics)
    # the page itself, plus a probe script appended to a copy, reports every image and network fetch
    probed = tmp_path / "probed.html"
    probed.write_text(
        report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8"
    )
    dom = subprocess.run(
        [
            *_chrome_args(exe, tmp_path / "profile1"),
            "--virtual-time-budget=10000",
            "--dump-dom",
            probed.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    match = re.search(r'<pre id="eisna-probe">(.*?)</pre>', dom)
    assert match, f"Chromium did not load the page; DOM starts {dom[:200]!r}"
    probe = json.loads(match.group(1))
    assert probe == {"images": 3, "broken": 0, "resources": []}
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            *_chrome_args(exe, tmp_path / "profile2"),
            "--window-size=1280,2400",
            f"--screenshot={shot}",
            report.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000  # a rendered page, not a blank one
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 2400)


def test_report_rebuilds_from_the_batch_layout_with_stored_curves(tmp_path, series):
    # eisna batch writes {"provenance", "rows", "fits"}; the fits carry freq, z and z_fit
    rows = [
        {
            "source": "gone.mpt",
            "index": i,
            "time_h": float(t),
            "status": "ok",
            "interlayer": True,
            "R_int": fit.params["R_int"],
            "R_int_stderr": fit.stderr["R_int"],
        }
        for i, t, fit in zip(PICK, series.time_h, series.results, strict=True)
    ]
    data = {
        "provenance": {
            "circuit": "symmetric_interlayer",
            "inputs": [{"path": "gone.mpt", "sha256": "ab" * 32}],
            "skipped": [{"path": "notes.txt", "reason": "not an instrument file"}],
        },
        "rows": rows,
        "fits": [fit.to_dict() for fit in series.results],
    }
    (tmp_path / "results.json").write_text(json.dumps(data), encoding="utf-8")
    text = write_report(tmp_path).read_text(encoding="utf-8")
    # the source files do not exist: the Nyquist stack comes from the stored curves
    assert text.count("data:image/png;base64,") == 2
    assert "ab" * 32 in text and "not an instrument file" in text
    assert oct((tmp_path / "report.html").stat().st_mode & 0o777) == "0o644"


def test_report_keeps_failed_spectra_as_rows_with_the_reason(tmp_path, series):
    from eisna.series import FitFailure

    failure = FitFailure(source="broken.mpt", index=3, reason="broken.mpt, line 62: no 'freq/Hz' column")
    mixed = SimpleNamespace(
        results=[*series.results, failure],
        time_h=np.append(series.time_h, 30.0),
        interlayer=[False, True, True, None],
    )
    text = render_report(mixed, kk=[None] * 4)
    _assert_self_contained(text)
    assert "broken.mpt #3" in text and "no &#39;freq/Hz&#39; column" in text
    assert '<span class="bad">failed</span>' in text
    assert "3 / 4" in text  # spectra fitted


# --- the batch page and the rebuilt page come from the same stored analysis ---------------------------
def _visible_text(page: str) -> list[str]:
    """Visible text of a page, one line per text run; times and durations removed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r"<img\b[^>]*>", " ", page, flags=re.I)
    text = re.sub(r"<[^>]+>", "\n", page)
    text = re.sub(r"\d{4}-\d\d-\d\d[T ][\d:.+]+( UTC)?", "<time>", text)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return [line for line in lines if line]


@pytest.mark.slow
def test_eisna_report_dir_reproduces_the_batch_page(tmp_path):
    from eisna.cli import main

    folder = tmp_path / "cell"
    folder.mkdir()
    for i in (1, 20, 40):
        shutil.copy(REPO / "sample_spectra" / "nas" / f"nas_t{i:02d}.mpt", folder)
    (folder / "broken.mpt").write_text("not an EC-Lab file\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["batch", str(folder), "--circuit", "symmetric_interlayer", "--out", str(out)]) == 1
    batch_page = (out / "report.html").read_text(encoding="utf-8")
    stored = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    assert [s["status"] for s in stored["spectra"]].count("ok") == 3
    assert all(
        s["kk"] is not None
        and isinstance(s["kk"]["passed"], bool)
        and isinstance(s["kk"]["zhit_passed"], bool)
        for s in stored["spectra"]
        if s["status"] == "ok"
    )
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0
    rebuilt = (out / "report.html").read_text(encoding="utf-8")
    assert _visible_text(rebuilt) == _visible_text(batch_page)
    # what the issue found missing in rebuilt pages: KK verdicts, last-fit figure, arcs table
    assert "KK test passed" in rebuilt and "Fit of the last spectrum" in rebuilt
    assert "Arcs of the last spectrum" in rebuilt and "nas_t40.mpt" in rebuilt
    # Nyquist stack, trajectories, last fit, and the tracked quantities (issue 9)
    assert rebuilt.count("data:image/png;base64,") == batch_page.count("data:image/png;base64,") == 4
    assert "Tracked quantities" in rebuilt


def test_hostile_names_are_escaped_in_tables_titles_and_figures(tmp_path, series):
    from dataclasses import replace

    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>.mpt'
    fit = replace(series.results[-1], meta={**series.results[-1].meta, "source": hostile})
    ns = SimpleNamespace(results=[fit], time_h=np.array([0.0]), interlayer=[True])
    text = render_report(ns, title="<b>title</b>", provenance={"command": "eisna batch '<x>'"})
    _assert_self_contained(text)
    assert "<script" not in text and "<img src=x" not in text  # only escaped text, no live tags
    assert "&lt;script&gt;alert(" in text and "&lt;/script&gt;" in text
    assert "<title>&lt;b&gt;title&lt;/b&gt;</title>" in text and "<b>title</b>" not in text


def test_a_damaged_analysis_json_says_to_rerun_the_batch(tmp_path):
    (tmp_path / "analysis.json").write_text('{"format": 1, "spectra": [', encoding="utf-8")
    with pytest.raises(EisnaError, match=r"analysis\.json: cannot be read .*re-run 'eisna batch'"):
        write_report(tmp_path)
    (tmp_path / "analysis.json").write_text('{"format": 99}', encoding="utf-8")
    with pytest.raises(EisnaError, match=r"expected an eisna analysis \(format 1\)"):
        write_report(tmp_path)
    assert not (tmp_path / "report.html").exists()


def test_kk_column_shows_the_stored_reason_and_the_zhit_verdict(series):
    from eisna.report.data import StoredKK

    fit = series.results[-1]
    res = np.zeros(fit.freq.size)
    res[3] = 0.021
    failed = StoredKK(
        passed=False,
        threshold=0.01,
        res_re=res,
        res_im=np.zeros_like(res),
        freq=fit.freq,
        reason="residual 2.1 % at 1e+05 Hz exceeds the limit 1 % <b>",
        zhit_passed=False,
    )
    passed = StoredKK(
        passed=True,
        threshold=0.01,
        res_re=np.zeros_like(res),
        res_im=np.zeros_like(res),
        freq=fit.freq,
        zhit_passed=True,
    )
    ns = SimpleNamespace(results=[fit, fit], time_h=np.array([0.0, 1.0]), interlayer=[True, True])
    text = render_report(ns, kk=[failed, passed])
    assert '<span class="bad">FAIL</span> (2.1 %); Z-HIT FAIL' in text
    assert "<small>residual 2.1 % at 1e+05 Hz exceeds the limit 1 % &lt;b&gt;</small>" in text
    assert '<span class="ok">pass</span> (0 %); Z-HIT pass' in text
