"""One spectrum, many formats: pyimpspec's 29-point test spectrum read from every format it is
written in agrees with the Gamry ``.dta`` copy within each format's rounding.

Each entry is (path relative to the corpus, rtol): rtol bounds both the frequency error and
|ΔZ|/|Z|, set from the digits each format writes (``.z`` 7 significant digits, Ivium 6,
``.P00`` 4 to 5, JSON 10 decimals). Readers of other formats append their files to ``FORMATS``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import eisna

REFERENCE = "other-formats/pyimpspec/data.dta"

FORMATS = [
    ("other-formats/pyimpspec/data.z", 1e-6),
    ("other-formats/pyimpspec/data.dfr", 1e-12),
    ("other-formats/pyimpspec/data.idf", 1e-5),
    ("other-formats/pyimpspec/data.ids", 1e-5),
    ("other-formats/pyimpspec/data.pssession", 1e-12),
    ("other-formats/pyimpspec/data.i2b", 1e-12),
    ("other-formats/pyimpspec/data.P00", 1e-3),
    ("other-formats/pyimpspec/data.json", 1e-9),
    ("other-formats/pyimpspec/data.mpt", 1e-7),
]


def _read_quietly(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # anonymised dates in the test files
        return eisna.read(path)


@pytest.mark.parametrize(("relative", "rtol"), FORMATS, ids=[f[0].rsplit("/", 1)[1] for f in FORMATS])
def test_same_spectrum_in_every_format(corpus, relative, rtol):
    reference = _read_quietly(corpus / REFERENCE)[0]
    spectra = _read_quietly(corpus / relative)
    assert spectra, relative
    for spectrum in spectra:  # an Ivium .ids dataset holds the spectrum twice
        assert len(spectrum) == len(reference) == 29
        np.testing.assert_allclose(spectrum.freq, reference.freq, rtol=rtol)
        error = np.abs(spectrum.z - reference.z) / np.abs(reference.z)
        assert error.max() <= rtol, f"{relative}: max |ΔZ|/|Z| = {error.max():.3g} > {rtol:g}"
        assert np.all(spectrum.z.imag < 0)  # capacitive: every reader turned -Z'' into Z''


def test_reference_values(corpus):
    # first and last rows of the ZCURVE table, typed from the file (decimal commas)
    reference = _read_quietly(corpus / REFERENCE)[0]
    assert reference.z[0] == pytest.approx(109.00918219439 - 26.5556798765152j, rel=1e-14)
    assert reference.z[-1] == pytest.approx(645.478700150494 - 90.618128307383j, rel=1e-14)
