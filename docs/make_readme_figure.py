"""Draw docs/eisna_overview.png, the README figure, from the bundled sample spectra.

Run from the repository root:  python docs/make_readme_figure.py
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

import eisna
from eisna.plotting import plot_nyquist_series, plot_trajectories

REPO = Path(__file__).resolve().parents[1]


def main() -> Path:
    spectra = eisna.read(REPO / "sample_spectra" / "nas_looped.mpt")
    series = eisna.fit_series(
        spectra, "symmetric_interlayer", area_cm2=0.7854, thickness_cm=0.10, progress=False
    )
    fig = Figure(figsize=(11.0, 4.8), layout="constrained")
    grid = fig.add_gridspec(3, 2, width_ratios=(1.45, 1.0))
    ax_nyq = fig.add_subplot(grid[:, 0])
    ax_r = fig.add_subplot(grid[0, 1])
    axes = (ax_r, fig.add_subplot(grid[1, 1], sharex=ax_r), fig.add_subplot(grid[2, 1], sharex=ax_r))
    plot_nyquist_series(series, ax_nyq, every=4)
    ax_nyq.set_title("Na₁₅Sn₄ | Na₃SbS₄ | Na₁₅Sn₄, 24 h at open circuit", fontsize="medium")
    plot_trajectories(series, axes, kinetics=series.kinetics)
    for ax in axes[:2]:
        ax.tick_params(labelbottom=False)
    out = REPO / "docs" / "eisna_overview.png"
    fig.savefig(out, dpi=110)
    return out


if __name__ == "__main__":
    print(main())
