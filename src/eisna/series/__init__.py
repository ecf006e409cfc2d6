"""Time-resolved fitting of a series of spectra: warm starts, interlayer detection, kinetics.

:func:`fit_series` fits every spectrum of an experiment with one circuit, in time order:

1. **Order.** By absolute timestamp when every spectrum has one, else by elapsed time, else by
   natural file-name order (``t2`` before ``t10``) and position in the file. ``time_h`` is the
   time since the first spectrum (of the same cell), in hours. Cells (files or folders) are
   separate chains: warm starts never cross them.
2. **Warm start, guarded.** Each spectrum starts from its predecessor's fit. Parameters that
   ended on a bound, and parameters the data could not identify (flagged by the engine, or a
   standard error larger than the value) once they have drifted more than two decades from
   their start value, are reset to the engine's automatic start values, so a drifting,
   unconstrained value (e.g. the bulk C_b of an arc above the window) never poisons the next fit.
   Each model is also seeded from the other (the baseline from the full fit without the
   interlayer arc, the full circuit from the baseline with a small arc between its neighbours)
   where the decision could change, and the lower χ² wins.
3. **No label switching.** The R‖CPE arcs are kept in time-constant order (the circuit lists
   them from high to low frequency); a fit that swapped two arcs is refitted with the labels put
   back in order.
4. **Interlayer decision.** Each spectrum is also fitted with the baseline circuit without the
   interlayer arc (``symmetric_cell`` for ``symmetric_interlayer``). The arc is kept when
   BIC(full) − BIC(baseline) < ``delta_bic`` (default −10) *and* R_int exceeds the minimum
   resistance (``min_interlayer_fraction`` of the low-frequency |Z|, at least
   ``min_interlayer_ohm``) *and* R_int exceeds twice its standard error. Otherwise ``interlayer``
   is False and R_int is reported as 0 with the detection limit as its uncertainty.
5. **Back-fill.** A spectrum without the arc just before one with it is refitted from its later
   neighbour (the arc seeded small at the same time constant), so an early, small arc that a
   forward pass missed is found; the same rules then decide.
6. **Kinetics.** :func:`eisna.fit_kinetics` on R_int(t), one table per cell.

Failures never stop a series: an unreadable file or a fit that raises becomes a
:class:`FitFailure` row with the reason.


Package layout (issue 10): :mod:`.ordering` (time order), :mod:`.outcome` (data types and the
options that key the cache), :mod:`.fitter` (one spectrum: guarded warm starts, both circuits,
the interlayer decision; chains), :mod:`.cache` (resume-cache glue), :mod:`.result`
(:class:`SeriesResult`), :mod:`.export` (the ``results.csv`` rows and ``kinetics.json``), and
:mod:`.run` (:func:`fit_series` as named steps). Every name is importable from
``eisna.series`` as before.
"""

from __future__ import annotations

# re-exports: every name that eisna.series had before it became a package
from .cache import cache_load, cache_store, chain_keys  # noqa: F401
from .fitter import _arc_triples, _better, _ChainTask, _Fitter, _good, _ok, _run_chain, _sorted_by_tau, _tau  # noqa: F401
from .joint import JointFitResult, fit_joint  # noqa: F401
from .ordering import earliest, natural_key, order_spectra, spectrum_hash  # noqa: F401
from .outcome import BASELINES, FitFailure, SeriesOptions, SpectrumOutcome  # noqa: F401
from .result import SeriesResult
from .run import _progress, default_baseline, fit_series, resolve_geometry  # noqa: F401
from .tracks import Track, series_tracks  # noqa: F401

__all__ = ["FitFailure", "SeriesResult", "Track", "fit_series", "order_spectra"]
