"""Gathers and joins of structured (record) arrays at memory speed.

NumPy 2 copies structured records field by field through its dtype-transfer machinery: a
gather of 4,000 29-byte clusters costs ≈ 0.16 ms, ≈ 40 ns a record, where the same bytes
viewed as opaque ``void`` items copy in ≈ 0.02 ms.  The simulator moves tens of thousands of
records a slice (pending charge clusters, truth rows, hits), so it does it on byte views: the
same bytes, so the same records.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import numpy.typing as npt


@cache
def _void(itemsize: int) -> np.dtype:
    """The opaque ``void`` dtype of ``itemsize`` bytes, made once.  Making it calls numpy's
    Python helper ``npy_ctypes_check``, whose exceptions numpy discards: a signal handler
    that raised there (Ctrl-C, the CLI's SIGTERM) was lost, and a study ran on."""
    return np.dtype((np.void, itemsize))


def _as_bytes(records: npt.NDArray) -> npt.NDArray[np.void]:
    records = np.ascontiguousarray(records)
    return records.view(_void(records.dtype.itemsize))


def take(records: npt.NDArray, index: npt.NDArray) -> npt.NDArray:
    """``records[index]`` for a 1-d structured array and an integer or boolean index."""
    if records.dtype.names is None or records.dtype.hasobject:
        return records[index]
    return _as_bytes(records)[index].view(records.dtype)


def concatenate(parts: Sequence[npt.NDArray]) -> npt.NDArray:
    """``np.concatenate(parts)`` for 1-d structured arrays of one dtype."""
    dtype = parts[0].dtype
    if dtype.names is None or dtype.hasobject or any(part.dtype != dtype for part in parts[1:]):
        return np.concatenate(parts)
    return np.concatenate([_as_bytes(part) for part in parts]).view(dtype)
