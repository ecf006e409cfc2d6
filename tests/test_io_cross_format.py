"""One spectrum, many formats: pyimpspec's 29-point test spectrum read from every format it is
written in agrees with the double-precision workbook copy within each format's rounding.

Each entry of ``FORMATS`` is (path relative to the corpus, rtol): rtol bounds both the frequency
error and |ΔZ|/|Z|, set from the digits each format writes (full double precision in the
workbooks, CSV, Gamry ``.dta``, ``.dfr``, ``.i2b`` and ``.pssession``; ``.z`` 7 significant
digits, Ivium 6, ``.P00`` 4 to 5, JSON 10 decimals, the EC-Lab ``.mpt`` 8). Readers of other
formats append their files to ``FORMATS``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import eisna

# the first sheet ("header-variant-1": f, Z', Z'') of the workbook, double precision
REFERENCE = ("other-formats/pyimpspec/data.xlsx", "header-variant-1")

FORMATS = [
    # tables and text
    ("other-formats/pyimpspec/data.xlsx", 1e-12),  # 4 sheets: Z'/Z'', Zre/-Zim, real/imaginary, |Z|/-phase
    ("other-formats/pyimpspec/data.ods", 1e-12),
    ("other-formats/pyimpspec/data.fods", 1e-12),
    ("other-formats/pyimpspec/case-negative-real-imaginary.csv", 1e-12),  # -Z' and -Z'' columns
    ("other-formats/pyimpspec/data.mpt", 1e-7),
    # vendor files
    ("other-formats/pyimpspec/data.dta", 1e-12),
    ("other-formats/pyimpspec/data.z", 1e-6),
    ("other-formats/pyimpspec/data.dfr", 1e-12),
    ("other-formats/pyimpspec/data.idf", 1e-5),
    ("other-formats/pyimpspec/data.ids", 1e-5),
    ("other-formats/pyimpspec/data.pssession", 1e-12),
    ("other-formats/pyimpspec/data.i2b", 1e-12),
    ("other-formats/pyimpspec/data.P00", 1e-3),
    ("other-formats/pyimpspec/data.json", 1e-9),
]


def _read_quietly(path, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # anonymised dates in the test files
        return eisna.read(path, **options)


def _reference(corpus):
    from eisna.io import table

    return table.read(corpus / REFERENCE[0], sheet=REFERENCE[1])[0]


@pytest.mark.parametrize(("relative", "rtol"), FORMATS, ids=[f[0].rsplit("/", 1)[1] for f in FORMATS])
def test_same_spectrum_in_every_format(corpus, relative, rtol):
    reference = _reference(corpus)
    spectra = _read_quietly(corpus / relative)
    assert spectra, relative
    for spectrum in spectra:  # a workbook holds it once per sheet, an Ivium .ids dataset twice
        assert len(spectrum) == len(reference) == 29
        np.testing.assert_allclose(spectrum.freq, reference.freq, rtol=rtol)
        error = np.abs(spectrum.z - reference.z) / np.abs(reference.z)
        assert error.max() <= rtol, f"{relative}: max |ΔZ|/|Z| = {error.max():.3g} > {rtol:g}"
        assert np.all(spectrum.z.imag < 0)  # capacitive: every reader turned -Z'' into Z''


def test_reference_values(corpus):
    # first and last data rows, typed from the workbook (sheet header-variant-1) and from the
    # Gamry ZCURVE table (decimal commas): the two copies hold the same digits
    reference = _reference(corpus)
    assert reference.z[0] == pytest.approx(109.009182194390 - 26.5556798765152j, rel=1e-14)
    assert reference.z[-1] == pytest.approx(645.478700150494 - 90.618128307383j, rel=1e-14)
    gamry = _read_quietly(corpus / "other-formats/pyimpspec/data.dta")[0]
    assert gamry.z[0] == pytest.approx(109.00918219439 - 26.5556798765152j, rel=1e-14)
    assert gamry.z[-1] == pytest.approx(645.478700150494 - 90.618128307383j, rel=1e-14)


def test_multiple_spectra_tables_start_with_the_reference(corpus):
    reference = _reference(corpus)
    forward = _read_quietly(corpus / "other-formats/pyimpspec/case-multiple-spectra.csv")
    np.testing.assert_allclose(forward[0].z, reference.z, rtol=1e-12)
    reverse = _read_quietly(corpus / "other-formats/pyimpspec/case-multiple-spectra-reverse.csv")
    np.testing.assert_allclose(reverse[0].freq, reference.freq[::-1], rtol=1e-12)
    np.testing.assert_allclose(reverse[0].z, reference.z[::-1], rtol=1e-12)
