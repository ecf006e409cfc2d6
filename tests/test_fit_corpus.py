"""Real data: every impedance spectrum of the BioLogic .mpt corpus fits without crashing."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import eisna
from eisna.errors import EisnaError, NoImpedanceData

# a generic solid-electrolyte/battery circuit: inductance, intercept, two arcs, low-frequency CPE
GENERIC = "L0-R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"


@pytest.mark.corpus
@pytest.mark.slow
def test_fit_every_corpus_spectrum(corpus):
    n_fit = n_ok = 0
    for path in sorted((corpus / "biologic-mpt").glob("*.mpt")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                spectra = eisna.read(path)
            except NoImpedanceData:
                continue
        for s in spectra:
            if s.meta.get("technique") == "GEIS":  # PEIS spectra only (issue 3)
                continue
            if len(s) < 12:  # too few points for 11 parameters: a clear FitError
                with pytest.raises(EisnaError, match="points give"):
                    eisna.fit(s, GENERIC)
                continue
            r = eisna.fit(s, GENERIC)
            n_fit += 1
            assert np.all(np.isfinite(r.z_fit))
            assert r.success or r.flags  # converged, or says why not
            n_ok += r.success and "poor_fit" not in r.flags
    assert n_fit > 50
    print(f"\ncorpus: {n_ok}/{n_fit} spectra converged without a poor-fit flag")
