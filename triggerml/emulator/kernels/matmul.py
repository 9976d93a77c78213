"""Dense and convolution kernels with hls4ml's arithmetic (nnet_dense_latency.h,
nnet_conv*_latency.h): see the package docstring for the fast and general paths."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from triggerml.emulator.convblock import cast_params, conv_block, finish_sums
from triggerml.emulator.kernels.base import (
    CHUNK_ELEMENTS,
    EXACT_FLOAT,
    EXACT_FLOAT32,
    Tensor,
    _max_abs,
    _wrap,
    cast,
)
from triggerml.emulator.kernels.elementwise import relu
from triggerml.emulator.kernels.pooling import pool
from triggerml.fixed import FixedType, OverflowMode, requantize


@dataclass(frozen=True)
class Affine:
    """One Dense or convolution layer's weights and types: ``x · weight + bias`` summed in
    ``accum_t``, cast to ``result_t`` (None: kept in accum_t), then, with ``relu_t``, a fused
    ReLU cast to relu_t."""

    weight: npt.NDArray[np.int64]
    weight_t: FixedType
    bias: npt.NDArray[np.int64]
    bias_t: FixedType
    accum_t: FixedType
    result_t: FixedType | None = None
    relu_t: FixedType | None = None

    def with_weight_shape(self, *shape: int) -> Affine:
        return replace(self, weight=self.weight.reshape(shape))

    @property
    def output_t(self) -> FixedType:
        return self.relu_t or self.result_t or self.accum_t


def matmul_accumulate(x: Tensor, a: Affine) -> Tensor:
    """(b, n_in) × (n_in, n_out) + bias in hls4ml's accumulator semantics, cast to result_t;
    with ``relu_t`` a following ReLU (cast to relu_t) is applied too."""
    bias_acc = requantize(a.bias, a.bias_t.frac_bits, a.accum_t)
    fast = fast_path(x.ftype, a)
    if fast is not None:
        shift, exact_dtype = fast
        total: npt.NDArray[Any] = np.asarray(x.mantissa, exact_dtype) @ a.weight.astype(exact_dtype)
        out = finish_sums(total, shift, bias_acc, a.accum_t, a.result_t, a.relu_t)
        return Tensor(out, a.output_t)
    result = cast(_accumulate_general(x, a.weight, a.weight_t, bias_acc, a.accum_t), a.result_t)
    return relu(result, a.relu_t) if a.relu_t is not None else result


def fast_path(x_t: FixedType, a: Affine) -> tuple[int, type] | None:
    """When the firmware's sum is the exact sum wrapped once (products fit accum_t without
    rounding, the accumulator wraps): the product shift and a dtype in which every partial
    sum is exact (float32 below 2^24, float64 below 2^53, else int64).  Else None.
    ``a.weight``: (…, n_out), every leading axis summed over."""
    accum_t = a.accum_t
    n_in = int(np.prod(a.weight.shape[:-1]))
    shift = accum_t.frac_bits - (x_t.frac_bits + a.weight_t.frac_bits)
    max_product = _max_abs(x_t) * int(np.abs(a.weight).max(initial=0))
    bound = n_in * max_product + _max_abs(a.bias_t)
    fits = (
        shift >= 0
        and (max_product << shift) <= accum_t.max_mantissa
        and (bound << shift).bit_length() < 63
    )
    wraps = accum_t.overflow is OverflowMode.AP_WRAP and accum_t.sat_bits == 0
    if not (fits and wraps):
        return None
    if n_in * max_product < EXACT_FLOAT32:
        return shift, np.float32
    if n_in * max_product < EXACT_FLOAT:
        return shift, np.float64
    return shift, np.int64


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


def dense(x: Tensor, a: Affine) -> Tensor:
    n_in = int(np.prod(x.mantissa.shape[1:]))
    flat = Tensor(x.mantissa.reshape(-1, n_in), x.ftype)
    return matmul_accumulate(flat, a.with_weight_shape(n_in, -1))


def im2col_2d(
    x: npt.NDArray[Any],
    kh: int,
    kw: int,
    sh: int,
    sw: int,
    pads: tuple[int, int, int, int],
    out_hw: tuple[int, int],
) -> npt.NDArray[Any]:
    """(b, H, W, C) → (b, out_h, out_w, kh·kw·C) in hls4ml's (kh, kw, c) order, zero pads.

    Values stay in their dtype (float32 when exact, to halve the memory traffic)."""
    top, bottom, left, right = pads
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(1, 2))
    out_h, out_w = out_hw
    windows = windows[:, : sh * out_h : sh, : sw * out_w : sw]  # (b, oh, ow, C, kh, kw)
    cols = np.ascontiguousarray(windows.transpose(0, 1, 2, 4, 5, 3))
    return cols.reshape(x.shape[0], out_h, out_w, kh * kw * x.shape[3])


@dataclass(frozen=True)
class FusedPool:
    """A max pooling that tiles its input, run inside the convolution before it."""

    layer: dict[str, Any]
    accum_t: FixedType | None
    result_t: FixedType | None


@dataclass(frozen=True)
class ConvGeometry:
    """A Conv1D/Conv2D layer as 2D (Conv1D: height 1): kernel, strides, pads, output."""

    kh: int
    kw: int
    sh: int
    sw: int
    pads: tuple[int, int, int, int]  # top, bottom, left, right
    out_hw: tuple[int, int]
    in_hwc: tuple[int, int, int]
    n_filt: int

    @classmethod
    def of(cls, layer: dict[str, Any]) -> ConvGeometry:
        left, right = layer["pad_left"], layer["pad_right"]
        if layer["class"] == "Conv1D":
            return cls(
                1,
                layer["filt_width"],
                1,
                layer["stride_width"],
                (0, 0, left, right),
                (1, layer["out_width"]),
                (1, layer["in_width"], layer["n_chan"]),
                layer["n_filt"],
            )
        return cls(
            layer["filt_height"],
            layer["filt_width"],
            layer["stride_height"],
            layer["stride_width"],
            (layer["pad_top"], layer["pad_bottom"], left, right),
            (layer["out_height"], layer["out_width"]),
            (layer["in_height"], layer["in_width"], layer["n_chan"]),
            layer["n_filt"],
        )


def conv(
    x: Tensor, layer: dict[str, Any], a: Affine, fused_pool: FusedPool | None = None
) -> Tensor:
    """Convolution (then a fused ReLU and max pooling, when given): the direct numba
    kernel on the fast path, else im2col and :func:`matmul_accumulate`."""
    b = x.mantissa.shape[0]
    g = ConvGeometry.of(layer)
    data = x.mantissa.reshape(b, *g.in_hwc)
    fast = fast_path(x.ftype, a.with_weight_shape(-1, g.n_filt))
    if fast is None:
        result = _conv_im2col(x.ftype, data, g, a)
        result = Tensor(result.mantissa.reshape(b, *layer["shape"]), result.ftype)
        if fused_pool is None:
            return result
        return pool(result, fused_pool.layer, fused_pool.accum_t, fused_pool.result_t)
    shift, exact_dtype = fast
    accum_t, result_t, relu_t = a.accum_t, a.result_t, a.relu_t
    source = a.output_t
    pool_args = None
    if fused_pool is not None:
        pool_accum = fused_pool.accum_t
        pool_args = (
            fused_pool.layer.get("pool_height", 1),
            fused_pool.layer["pool_width"],
            cast_params(source, pool_accum),
            cast_params(pool_accum or source, fused_pool.result_t),
        )
    top, _, left, _ = g.pads
    out = conv_block(
        data.astype(exact_dtype),
        a.weight.reshape(g.kh, g.kw, g.in_hwc[2], g.n_filt).astype(exact_dtype),
        requantize(a.bias, a.bias_t.frac_bits, accum_t),
        shift,
        accum_t,
        (
            cast_params(accum_t, result_t),
            relu_t is not None,
            cast_params(result_t or accum_t, relu_t),
        ),
        (g.sh, g.sw, top, left, *g.out_hw),
        pool_args,
    )
    if fused_pool is None:
        return Tensor(out.reshape(b, *layer["shape"]), source)
    final = fused_pool.result_t or fused_pool.accum_t or source
    return Tensor(out.reshape(b, *fused_pool.layer["shape"]), final)


def _conv_im2col(x_t: FixedType, data: npt.NDArray[np.int64], g: ConvGeometry, a: Affine) -> Tensor:
    """The general path: im2col, then every product cast as the firmware does."""
    values: npt.NDArray[Any] = data.astype(np.float32) if _max_abs(x_t) < EXACT_FLOAT32 else data
    cols = im2col_2d(values, g.kh, g.kw, g.sh, g.sw, g.pads, g.out_hw)
    n_k = cols.shape[-1]
    return matmul_accumulate(Tensor(cols.reshape(-1, n_k), x_t), a.with_weight_shape(n_k, g.n_filt))
