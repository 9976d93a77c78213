"""Layer kernels with hls4ml's arithmetic, on int64 mantissas (numpy; no hls4ml, no TF).

Dense and convolution follow nnet_dense_latency.h / nnet_conv*_latency.h: every product
``data × weight`` is cast to ``accum_t``, the accumulator starts from the bias cast to
``accum_t``, products are added in ``accum_t``, and the sum is cast to the result type.
Fast path (when it is provably the same): products fit ``accum_t`` without rounding or
overflow and the accumulator wraps, so the whole sum is one matrix product — done in float64
BLAS when ``n_in · max|x| · max|w| < 2^53`` (every partial sum is an exactly representable
integer), else in int64 — followed by one wrap.  Otherwise the general path casts each
product and accumulates step by step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from triggerml.emulator.fastcast import finish_accumulator, requantize_fast
from triggerml.fixed import FixedType, OverflowMode, QuantMode, requantize

EXACT_FLOAT = 2**53
EXACT_FLOAT32 = 2**24
CHUNK_ELEMENTS = 1 << 24  # bounds the temporary product arrays of the general path


@dataclass(frozen=True)
class Tensor:
    mantissa: npt.NDArray[np.int64]
    ftype: FixedType


def cast(x: Tensor, target: FixedType | None) -> Tensor:
    """``(target) x`` — or x unchanged when target is None (a wider type that holds x)."""
    if target is None:
        return x
    if target == x.ftype:
        return x
    return Tensor(requantize_fast(x.mantissa, x.ftype.frac_bits, target), target)


def _max_abs(ftype: FixedType) -> int:
    return max(abs(ftype.min_mantissa), abs(ftype.max_mantissa))


def _wrap(values: npt.NDArray[np.int64], ftype: FixedType) -> npt.NDArray[np.int64]:
    mask = np.int64((1 << ftype.width) - 1)
    low = values & mask
    if ftype.signed:
        sign = np.int64(1) << (ftype.width - 1)
        low = (low ^ sign) - sign
    return low


def matmul_accumulate(
    x: Tensor,
    weight: npt.NDArray[np.int64],
    weight_t: FixedType,
    bias: npt.NDArray[np.int64],
    bias_t: FixedType,
    accum_t: FixedType,
    result_t: FixedType | None = None,
) -> Tensor:
    """(b, n_in) × (n_in, n_out) + bias in hls4ml's accumulator semantics → accum mantissas."""
    n_in = weight.shape[0]
    product_frac = x.ftype.frac_bits + weight_t.frac_bits
    shift = accum_t.frac_bits - product_frac
    bias_acc = requantize(bias, bias_t.frac_bits, accum_t)
    max_product = _max_abs(x.ftype) * int(np.abs(weight).max(initial=0))
    bound = n_in * max_product + _max_abs(bias_t)
    fits = (
        shift >= 0
        and (max_product << shift) <= accum_t.max_mantissa
        and (bound << shift).bit_length() < 63
    )
    wraps = accum_t.overflow is OverflowMode.AP_WRAP and accum_t.sat_bits == 0
    if fits and wraps:
        total: npt.NDArray[Any]
        if n_in * max_product < EXACT_FLOAT32:  # every partial sum exact in float32
            total = np.asarray(x.mantissa, np.float32) @ weight.astype(np.float32)
        elif n_in * max_product < EXACT_FLOAT:
            total = x.mantissa.astype(np.float64) @ weight.astype(np.float64)
        else:
            total = x.mantissa @ weight
        out = finish_accumulator(total, shift, bias_acc, accum_t, result_t)
        return Tensor(out, result_t or accum_t)
    return cast(_accumulate_general(x, weight, weight_t, bias_acc, accum_t), result_t)


def _accumulate_general(
    x: Tensor,
    weight: npt.NDArray[np.int64],
    weight_t: FixedType,
    bias_acc: npt.NDArray[np.int64],
    accum_t: FixedType,
) -> Tensor:
    """Cast every product to accum_t and add in order (saturating or wrapping each step)."""
    if x.ftype.width + weight_t.width > 62:
        raise ValueError(
            f"products of {x.ftype} and {weight_t} exceed 62 bits: the "
            "emulator keeps mantissas in int64"
        )
    n_rows = x.mantissa.shape[0]
    n_in, n_out = weight.shape
    product_frac = x.ftype.frac_bits + weight_t.frac_bits
    out = np.empty((n_rows, n_out), dtype=np.int64)
    step = max(1, CHUNK_ELEMENTS // max(n_in * n_out, 1))
    wraps = accum_t.overflow is OverflowMode.AP_WRAP and accum_t.sat_bits == 0
    for start in range(0, n_rows, step):
        xs = x.mantissa[start : start + step]
        products = xs[:, :, None] * weight[None, :, :]
        cast_products = requantize(products, product_frac, accum_t)
        if wraps:
            acc = _wrap(cast_products.sum(axis=1) + bias_acc, accum_t)
        else:
            acc = np.broadcast_to(bias_acc, (xs.shape[0], n_out)).copy()
            for i in range(n_in):
                acc = requantize(acc + cast_products[:, i, :], accum_t.frac_bits, accum_t)
        out[start : start + step] = acc
    return Tensor(out, accum_t)


def dense(
    x: Tensor,
    weight: npt.NDArray[np.int64],
    weight_t: FixedType,
    bias: npt.NDArray[np.int64],
    bias_t: FixedType,
    accum_t: FixedType,
    result_t: FixedType | None,
) -> Tensor:
    n_in = int(np.prod(x.mantissa.shape[1:]))
    flat = Tensor(x.mantissa.reshape(-1, n_in), x.ftype)
    return matmul_accumulate(
        flat, weight.reshape(n_in, -1), weight_t, bias, bias_t, accum_t, result_t
    )


def im2col_2d(
    x: npt.NDArray,
    kh: int,
    kw: int,
    sh: int,
    sw: int,
    pads: tuple[int, int, int, int],
    out_hw: tuple[int, int],
) -> npt.NDArray:
    """(b, H, W, C) → (b, out_h, out_w, kh·kw·C) in hls4ml's (kh, kw, c) order, zero pads.

    Values stay in their dtype (float32 when exact, to halve the memory traffic)."""
    top, bottom, left, right = pads
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(1, 2))
    out_h, out_w = out_hw
    windows = windows[:, : sh * out_h : sh, : sw * out_w : sw]  # (b, oh, ow, C, kh, kw)
    cols = np.ascontiguousarray(windows.transpose(0, 1, 2, 4, 5, 3))
    return cols.reshape(x.shape[0], out_h, out_w, kh * kw * x.shape[3])


def conv(
    x: Tensor,
    layer: dict,
    weight: npt.NDArray[np.int64],
    weight_t: FixedType,
    bias: npt.NDArray[np.int64],
    bias_t: FixedType,
    accum_t: FixedType,
    result_t: FixedType | None,
) -> Tensor:
    b = x.mantissa.shape[0]
    if layer["class"] == "Conv1D":
        data = x.mantissa.reshape(b, 1, layer["in_width"], layer["n_chan"])
        kh, sh, top, bottom, out_h = 1, 1, 0, 0, 1
    else:
        data = x.mantissa.reshape(b, layer["in_height"], layer["in_width"], layer["n_chan"])
        kh, sh = layer["filt_height"], layer["stride_height"]
        top, bottom, out_h = layer["pad_top"], layer["pad_bottom"], layer["out_height"]
    if _max_abs(x.ftype) < EXACT_FLOAT32:
        data = data.astype(np.float32)
    cols = im2col_2d(
        data,
        kh,
        layer["filt_width"],
        sh,
        layer["stride_width"],
        (top, bottom, layer["pad_left"], layer["pad_right"]),
        (out_h, layer["out_width"]),
    )
    n_k = cols.shape[-1]
    flat = Tensor(cols.reshape(-1, n_k), x.ftype)
    out = matmul_accumulate(
        flat, weight.reshape(n_k, layer["n_filt"]), weight_t, bias, bias_t, accum_t, result_t
    )
    return Tensor(out.mantissa.reshape(b, *layer["shape"]), out.ftype)


def relu(x: Tensor, result_t: FixedType | None) -> Tensor:
    positive = Tensor(np.maximum(x.mantissa, 0), x.ftype)
    return cast(positive, result_t)


def sigmoid_table(table_size: int, table_t: FixedType) -> npt.NDArray[np.int64]:
    """init_sigmoid_table: 1 / (1 + exp(-x)) over [-8, 8) in double (C's exp), cast."""
    values = [
        1.0 / (1.0 + math.exp(-(2.0 * 8.0 * (i - table_size / 2.0) / table_size)))
        for i in range(table_size)
    ]
    return table_t.mantissa(np.array(values))


def sigmoid(
    x: Tensor, table: npt.NDArray[np.int64], table_t: FixedType, result_t: FixedType | None
) -> Tensor:
    """index = (int)(x · table_size / 16) + table_size / 2, clamped; C truncates toward 0."""
    size = table.shape[0]
    frac = x.ftype.frac_bits
    numerator = x.mantissa * size
    denominator = 16
    if frac >= 0:
        denominator <<= frac
    else:
        numerator = numerator << (-frac)
    quotient = np.where(numerator >= 0, numerator // denominator, -((-numerator) // denominator))
    index = np.clip(quotient + size // 2, 0, size - 1)
    return cast(Tensor(table[index], table_t), result_t)


def max_pool(x: Tensor, layer: dict, result_t: FixedType | None) -> Tensor:
    b = x.mantissa.shape[0]
    if layer["class"] == "Pooling1D":
        data = x.mantissa.reshape(b, 1, layer["in_width"], layer["n_filt"])
        ph, sh, top, bottom, out_h = 1, 1, 0, 0, 1
    else:
        data = x.mantissa.reshape(b, layer["in_height"], layer["in_width"], layer["n_filt"])
        ph, sh = layer["pool_height"], layer["stride_height"]
        top, bottom, out_h = (
            layer.get("pad_top", 0),
            layer.get("pad_bottom", 0),
            layer["out_height"],
        )
    pw, sw = layer["pool_width"], layer["stride_width"]
    left, right, out_w = layer.get("pad_left", 0), layer.get("pad_right", 0), layer["out_width"]
    low = np.iinfo(np.int64).min
    padded = np.pad(data, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=low)
    best = np.full((b, out_h, out_w, data.shape[3]), low, dtype=np.int64)
    for i in range(ph):
        for j in range(pw):
            best = np.maximum(best, padded[:, i : i + sh * out_h : sh, j : j + sw * out_w : sw, :])
    out = cast(Tensor(best, x.ftype), result_t)
    return Tensor(out.mantissa.reshape(b, *layer["shape"]), out.ftype)


def zero_pad(x: Tensor, layer: dict) -> Tensor:
    """ZeroPadding1D/2D (explicit in io_stream graphs): zeros around the spatial axes."""
    b = x.mantissa.shape[0]
    data = x.mantissa.reshape(b, *layer["input_shape"])
    widths: tuple[tuple[int, int], ...]
    if layer["class"] == "ZeroPadding1D":
        widths = ((0, 0), (layer.get("pad_left", 0), layer.get("pad_right", 0)), (0, 0))
    else:
        widths = (
            (0, 0),
            (layer.get("pad_top", 0), layer.get("pad_bottom", 0)),
            (layer.get("pad_left", 0), layer.get("pad_right", 0)),
            (0, 0),
        )
    return Tensor(np.pad(data, widths).reshape(b, *layer["shape"]), x.ftype)


def is_exact_identity(source: FixedType, wide: tuple[bool, int, int]) -> bool:
    """Does a type too wide for int64 (signed, width, integer) hold every ``source`` value?"""
    signed, width, integer = wide
    frac = width - integer
    if frac < source.frac_bits:
        return False
    if not signed and source.signed:
        return False
    return integer - int(signed) >= source.integer - int(source.signed)


def holds_values(
    source: FixedType, mantissas: npt.NDArray[np.int64], wide: tuple[bool, int, int]
) -> bool:
    """Does a wide type hold these particular values of ``source`` exactly?"""
    signed, width, integer = wide
    if width - integer < source.frac_bits:
        return False
    if mantissas.size == 0:
        return True
    low, high = int(mantissas.min()), int(mantissas.max())
    if not signed and low < 0:
        return False
    limit = 2 ** (integer - int(signed))  # |value| < limit
    scale = 2**source.frac_bits
    return max(abs(low), abs(high)) < limit * scale


__all__ = [
    "QuantMode",
    "Tensor",
    "cast",
    "conv",
    "dense",
    "max_pool",
    "relu",
    "sigmoid",
    "sigmoid_table",
]
