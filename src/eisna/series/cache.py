"""Glue between a series and the JSON resume cache (:mod:`eisna._fitcache`): keys, load, store."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..spectrum import Spectrum
from .ordering import spectrum_hash
from .outcome import SpectrumOutcome

if TYPE_CHECKING:
    pass


def cache_load(
    cache_dir: str | Path | None, key: str, definitions: dict[str, Any] | None = None
) -> SpectrumOutcome | None:
    """Cached outcome for ``key`` or None (an edited, foreign or damaged entry counts as missing
    and is reported with a :class:`~eisna.errors.CacheWarning`); see :mod:`eisna._fitcache`."""
    from .. import _fitcache

    return _fitcache.load(cache_dir, key, definitions)


def cache_store(cache_dir: str | Path, key: str, outcome: SpectrumOutcome) -> None:
    """Write one cache entry atomically (JSON with its own digest; see :mod:`eisna._fitcache`)."""
    from .. import _fitcache

    _fitcache.store(cache_dir, key, outcome)


def chain_keys(spectra: Sequence[Spectrum], opt_key: str) -> list[str]:
    """Cache keys of a warm-start chain: each covers the spectrum's data, the options and the key
    of the spectrum before it in the chain (so a changed or inserted spectrum invalidates every
    later fit that was warm-started from it)."""
    keys: list[str] = []
    prev = "chain-start"
    for s in spectra:
        prev = hashlib.sha256(f"{opt_key}|{spectrum_hash(s)}|{prev}".encode()).hexdigest()[:32]
        keys.append(prev)
    return keys
