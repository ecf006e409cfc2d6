"""Shared fixtures: repository paths, the real-file corpus, and matplotlib's Agg backend."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_spectra"
CIRCUITS = REPO / "circuits"
CORPUS = REPO.parent / "shared" / "corpus"
CORPUS_REASON = f"real-file corpus not found at {CORPUS} (../shared is absent)"


@pytest.fixture
def corpus() -> Path:
    """Path of ../shared/corpus; skips the test, with the reason, when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(CORPUS_REASON)
    return CORPUS


def corpus_file(*parts: str) -> Path:
    """Path of a corpus file for parametrisation (the test must use the ``corpus`` fixture)."""
    return CORPUS.joinpath(*parts)
