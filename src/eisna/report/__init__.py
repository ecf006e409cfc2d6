"""Self-contained HTML report (``report.html``) of a fit, a batch or a time series.

The report only renders what the analysis stored (see :mod:`eisna.analysis`):

* :mod:`eisna.report.data` — :class:`ReportData`, built from a live ``SeriesResult`` or from
  an output folder (``analysis.json``); the same object either way.
* :mod:`eisna.report.render` — HTML (tables, cards, provenance) and :func:`write_report`.
* :mod:`eisna.units` — value ± error formatting, SI prefixes, parameter units.

Examples
--------
>>> from eisna.report import format_quantity
>>> format_quantity(1.234e-9, 4.1e-11, "F")
'1.234 ± 0.041 nF'
"""

from .render import format_quantity, param_unit, render_report, sha256_file, write_report

__all__ = ["format_quantity", "param_unit", "render_report", "sha256_file", "write_report"]
