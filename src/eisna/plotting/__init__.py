"""Plots of spectra, fits, validation and time series (matplotlib).

Every function takes ``ax=None`` (or ``axes=None`` for multi-panel plots), draws on the Axes
given or on a new pyplot figure, and returns the Axes. None calls ``plt.show()`` or changes
global ``rcParams``; matplotlib is imported only when a plot is drawn.

Functions
---------
plot_nyquist         −Z″ against Z′, equal scaling, decade markers, fit as a line
plot_bode            |Z| and −φ against f, data and fit
plot_residuals       relative residuals (%) against f, with the Kramers–Kronig band
plot_drt             γ(τ) with peaks marked and arc roles labelled
plot_nyquist_series  spectra of a series coloured by time, colorbar in hours
plot_trajectories    R_int(t), C_int(t), R_total(t) with error bars, kinetics fit, onset and t95
plot_arrhenius       log₁₀(σT) against 1000/T with Ea
plot_cycling         voltage, overpotential and EIS-derived R on one time axis
plot_fit             Nyquist + Bode + residuals of one fit on one figure
"""

from __future__ import annotations

from .arrhenius import plot_arrhenius
from .bode import plot_bode
from .cycling import plot_cycling
from .drt import plot_drt
from .nyquist import plot_nyquist
from .overview import plot_fit
from .residuals import plot_residuals
from .series import plot_nyquist_series, plot_trajectories

__all__ = [
    "plot_arrhenius",
    "plot_bode",
    "plot_cycling",
    "plot_drt",
    "plot_fit",
    "plot_nyquist",
    "plot_nyquist_series",
    "plot_residuals",
    "plot_trajectories",
]
