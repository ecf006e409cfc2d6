"""Corpus files that no reader test names elsewhere: values typed from the files by hand."""

from __future__ import annotations

import warnings

import pytest

import eisna
from eisna.errors import ParseError


def test_ec_lab_table_with_three_sweeps(corpus):
    # pyimpspec's case-multiple-spectra.mpt: the 29-point spectrum written three times in a row
    # (`cycle number` is 0 throughout, so the sweeps are cut where the frequency restarts); first data row 1.0000000E+04 / 1.0900918E+02 / 2.6555680E+01 (-Im Z),
    # last row 1.0000000E+00 / 6.4547870E+02 / 9.0618128E+01
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the anonymised start date 'DD/MM/YYYY'
        spectra = eisna.read(corpus / "other-formats/pyimpspec/case-multiple-spectra.mpt")
    assert [len(s) for s in spectra] == [29, 29, 29]
    for spectrum in spectra:
        assert spectrum.freq[0] == 1.0e4
        assert spectrum.z[0] == complex(1.0900918e2, -2.6555680e1)
        assert spectrum.freq[-1] == 1.0
        assert spectrum.z[-1] == complex(6.4547870e2, -9.0618128e1)
        assert spectrum.timestamp is None


def test_zahner_fit_result_json_is_not_a_spectrum(corpus):
    # Zahner's own fit report (one key, "overall"): refused with the columns a table needs
    with pytest.raises(ParseError, match=r"fit_result\.json: expected frequency, real and imaginary columns"):
        eisna.read(corpus / "other-formats/zahner/fit_result.json")
