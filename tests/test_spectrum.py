from datetime import datetime

import numpy as np
import pytest

from eisna import CellGeometry, EisnaError, Spectrum, SpectrumError


def test_arrays_are_copied_read_only_and_typed():
    freq = [1e3, 1e2, 1e1]
    z = [10 - 1j, 12 - 3j, 20 - 5j]
    s = Spectrum(freq, z, timestamp=datetime(2026, 1, 2, 3, 4, 5), elapsed_s=3, meta={"index": 2})
    assert s.freq.dtype == np.float64 and s.z.dtype == np.complex128
    assert s.freq.tolist() == freq  # acquisition order kept, not sorted
    with pytest.raises(ValueError, match="read-only"):
        s.freq[0] = 5.0
    with pytest.raises(TypeError):
        s.meta["index"] = 3  # type: ignore[index]
    assert s.elapsed_s == 3.0 and isinstance(s.elapsed_s, float)
    assert len(s) == 3


@pytest.mark.parametrize(
    ("freq", "z", "match"),
    [
        ([1, 2], [1j], "same length"),
        ([], [], "at least one point"),
        ([1, -2], [1, 1], r"finite and > 0 Hz; bad at indices \[1\]"),
        ([1, 2], [1, np.nan], r"not finite at indices \[1\]"),
    ],
)
def test_invalid_arrays_raise_spectrum_error(freq, z, match):
    with pytest.raises(SpectrumError, match=match) as info:
        Spectrum(freq, z)
    assert isinstance(info.value, EisnaError)


def test_select_keeps_order_and_geometry_from_meta():
    s = Spectrum([1e4, 1e3, 1e2, 1e1], [1, 2, 3, 4], meta={"thickness_cm": 0.1, "area_cm2": 0.5})
    sub = s.select(fmin=50, fmax=5e3)
    assert sub.freq.tolist() == [1e3, 1e2]
    assert sub.z.real.tolist() == [2, 3]
    assert s.geometry == CellGeometry(0.1, 0.5)
    assert s.geometry.cell_constant_per_cm == pytest.approx(0.2)
    with pytest.raises(SpectrumError):
        s.select(fmin=1e6)


def test_spectrum_pickles_for_process_pools():
    import pickle
    from types import MappingProxyType

    meta = {"source": "a.mpt", "header": MappingProxyType({"k": "v"})}
    s = Spectrum([1e3, 1e2], [10 - 1j, 12 - 3j], elapsed_s=5.0, meta=meta)
    back = pickle.loads(pickle.dumps(s))
    assert back.freq.tolist() == [1e3, 1e2] and back.z.tolist() == [10 - 1j, 12 - 3j]
    assert back.elapsed_s == 5.0 and back.meta["header"] == {"k": "v"}
    assert not back.freq.flags.writeable
