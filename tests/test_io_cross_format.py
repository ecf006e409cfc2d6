"""One spectrum, many formats: pyimpspec's 29-point test spectrum read from each file it is written in.

``CROSS_FORMAT`` lists (path relative to ``corpus/other-formats``, relative tolerance): the
tolerance is the rounding of the format (double precision in the workbooks and CSV,
7-8 significant digits in the EC-Lab text export). Every spectrum of each file must match
the reference to that tolerance. Readers of binary formats append their files here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import eisna
from eisna.errors import MetadataWarning

REFERENCE = ("pyimpspec/data.xlsx", "header-variant-1")

CROSS_FORMAT: list[tuple[str, float]] = [
    ("pyimpspec/data.xlsx", 1e-12),  # four sheets: Z'/Z'', Zre/-Zim, real/imaginary, |Z|/-phase
    ("pyimpspec/data.ods", 1e-12),
    ("pyimpspec/data.fods", 1e-12),
    ("pyimpspec/case-negative-real-imaginary.csv", 1e-12),  # -Z' and -Z'' columns
    ("pyimpspec/data.mpt", 2e-7),  # EC-Lab text: 8 significant digits
]


def _read(corpus, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetadataWarning)  # placeholder dates in pyimpspec's .mpt
        return eisna.read(corpus / "other-formats" / name)


@pytest.mark.parametrize(("name", "rtol"), CROSS_FORMAT, ids=[c[0] for c in CROSS_FORMAT])
def test_same_spectrum_in_every_format(corpus, name, rtol):
    from eisna.io import table

    reference = table.read(corpus / "other-formats" / REFERENCE[0], sheet=REFERENCE[1])[0]
    assert len(reference) == 29
    spectra = _read(corpus, name)
    assert spectra
    for s in spectra:
        assert len(s) == len(reference)
        np.testing.assert_allclose(s.freq, reference.freq, rtol=rtol)
        scale = float(np.abs(reference.z).max())
        np.testing.assert_allclose(s.z.real, reference.z.real, rtol=rtol, atol=rtol * scale)
        np.testing.assert_allclose(s.z.imag, reference.z.imag, rtol=rtol, atol=rtol * scale)


def test_multiple_spectra_csv_starts_with_the_reference(corpus):
    spectra = _read(corpus, "pyimpspec/case-multiple-spectra.csv")
    reference = _read(corpus, "pyimpspec/data.ods")[0]
    np.testing.assert_allclose(spectra[0].z, reference.z, rtol=1e-12)
    reverse = _read(corpus, "pyimpspec/case-multiple-spectra-reverse.csv")
    np.testing.assert_allclose(reverse[0].freq, reference.freq[::-1], rtol=1e-12)
    np.testing.assert_allclose(reverse[0].z, reference.z[::-1], rtol=1e-12)
