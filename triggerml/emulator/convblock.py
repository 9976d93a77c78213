"""Direct convolution with the following ReLU and max pooling in one numba pass.

Used on the convolution fast path only (products fit ``accum_t`` without rounding, the
accumulator wraps): then the firmware's sum equals the exact integer sum wrapped once, and
this kernel computes exactly that — in float32 or float64 when every partial sum is an
exactly representable integer, else in int64 — followed by the same casts as the layer-by-
layer path (accumulator wrap, result cast, ReLU cast, pool casts).  No im2col matrix and no
full-size intermediate: for the zoo CNNs the memory traffic, not the arithmetic, was the cost.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numba
import numpy as np
import numpy.typing as npt

from triggerml.emulator.fastcast import _O, _Q, _one, _wrap
from triggerml.fixed import FixedType

IDENTITY = np.zeros(9, dtype=np.int64)  # a cast that is not applied (slot 0 unset)


def cast_params(source: FixedType, target: FixedType | None) -> npt.NDArray[np.int64]:
    """[apply, shift, width, signed, q, o, sat_bits, lo, hi] for ``_cast``; not applied
    when the target holds every value of the source exactly (an identity)."""
    if target is None or (
        target.frac_bits == source.frac_bits
        and target.min_mantissa <= source.min_mantissa
        and target.max_mantissa >= source.max_mantissa
    ):
        return np.zeros(9, dtype=np.int64)
    return np.array(
        [
            1,
            source.frac_bits - target.frac_bits,
            target.width,
            int(target.signed),
            _Q[target.quant],
            _O[target.overflow],
            target.sat_bits,
            target.min_mantissa,
            target.max_mantissa,
        ],
        dtype=np.int64,
    )


@numba.njit(cache=True, inline="always")
def _cast(value: int, p: np.ndarray) -> int:
    if p[0] == 0:
        return value
    return _one(value, p[1], p[2], p[3] != 0, p[4], p[5], p[6], p[7], p[8])


@functools.lru_cache(maxsize=64)
def _block_kernel(
    filters: int, kh: int, kw: int, channels: int, sh: int, sw: int
) -> Callable[..., None]:
    """The block kernel with the layer's sizes as compile-time constants: LLVM then unrolls
    and vectorizes the filter loop (≈4× faster than with run-time sizes).  Compiled once per
    layer shape and process (≈1–2 s); fastmath lets it reorder the float sums, which is safe
    because every partial sum is an exact integer."""

    @numba.njit(parallel=True, fastmath=True)
    def kernel(
        x: np.ndarray,  # (b, H, W, C): float32 / float64 / int64 holding exact integers
        w: np.ndarray,  # (KH, KW, C, F), same dtype
        bias: np.ndarray,  # (F,) int64, in accum_t
        shift: int,
        a_width: int,
        a_signed: bool,
        result: np.ndarray,  # cast params: accum_t → result_t
        relu: bool,
        relu_cast: np.ndarray,  # result_t → relu_t
        geometry: np.ndarray,  # sh, sw, top, left, conv_h, conv_w, pool_h, pool_w
        pool_a: np.ndarray,  # pooled value → pool accum_t
        pool_r: np.ndarray,  # → pool result_t
        out: np.ndarray,  # (b, out_h, out_w, F) int64
    ) -> None:
        b, height, width, _ = x.shape
        _, _, top, left, conv_h, conv_w, ph, pw = geometry
        out_h, out_w = out.shape[1], out.shape[2]
        for n in numba.prange(b):
            acc = np.zeros((conv_w, filters), dtype=x.dtype)
            conv = np.empty((conv_h, conv_w, filters), dtype=np.int64)
            for oy in range(conv_h):
                acc[:] = 0
                for ky in range(kh):
                    iy = oy * sh + ky - top
                    if iy < 0 or iy >= height:
                        continue
                    for kx in range(kw):
                        # output columns whose input column ox·sw + kx − left lies inside
                        first = max(0, (left - kx + sw - 1) // sw)
                        last = min(conv_w, (width - 1 + left - kx) // sw + 1)
                        for ox in range(first, last):
                            ix = ox * sw + kx - left
                            for c in range(channels):
                                v = x[n, iy, ix, c]
                                for f in range(filters):
                                    acc[ox, f] += v * w[ky, kx, c, f]
                for ox in range(conv_w):
                    for f in range(filters):
                        value = (np.int64(acc[ox, f]) << shift) + bias[f]
                        value = _cast(_wrap(value, a_width, a_signed), result)
                        if relu:
                            value = _cast(max(value, 0), relu_cast)
                        conv[oy, ox, f] = value
            if ph == 0:
                out[n] = conv
                continue
            for oy in range(out_h):
                for ox in range(out_w):
                    for f in range(filters):
                        best = conv[oy * ph, ox * pw, f]
                        for py in range(ph):
                            for px in range(pw):
                                best = max(best, conv[oy * ph + py, ox * pw + px, f])
                        out[n, oy, ox, f] = _cast(_cast(best, pool_a), pool_r)

    return kernel


def conv_block(
    data: npt.NDArray,
    weight: npt.NDArray,
    bias_acc: npt.NDArray[np.int64],
    shift: int,
    accum_t: FixedType,
    casts: tuple[npt.NDArray[np.int64], bool, npt.NDArray[np.int64]],
    geometry: tuple[int, int, int, int, int, int],
    pool: tuple[int, int, npt.NDArray[np.int64], npt.NDArray[np.int64]] | None,
) -> npt.NDArray[np.int64]:
    """``data`` (b, H, W, C) and ``weight`` (KH, KW, C, F) in one exact dtype; ``geometry``
    (sh, sw, top, left, conv_h, conv_w); ``pool`` (ph, pw, accum cast, result cast)."""
    result, relu, relu_cast = casts
    sh, sw, top, left, conv_h, conv_w = geometry
    ph, pw, pool_a, pool_r = pool if pool is not None else (0, 0, IDENTITY, IDENTITY)
    out_h, out_w = (conv_h // ph, conv_w // pw) if pool is not None else (conv_h, conv_w)
    out = np.empty((data.shape[0], out_h, out_w, weight.shape[3]), dtype=np.int64)
    kh, kw, channels, filters = weight.shape
    _block_kernel(filters, kh, kw, channels, sh, sw)(
        np.ascontiguousarray(data),
        np.ascontiguousarray(weight),
        np.ascontiguousarray(bias_acc, np.int64),
        shift,
        accum_t.width,
        accum_t.signed,
        result,
        relu,
        relu_cast,
        np.array([sh, sw, top, left, conv_h, conv_w, ph, pw], dtype=np.int64),
        pool_a,
        pool_r,
        out,
    )
    return out
