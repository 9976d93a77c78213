"""Merges, ReLU, batch normalization, zero padding and nearest-neighbour resizing."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from triggerml.emulator.kernels.base import (
    Tensor,
    cast,
)
from triggerml.fixed import FixedType, requantize


def merge(layer: dict[str, Any], a: Tensor, b: Tensor, result_t: FixedType) -> Tensor:
    """nnet_merge.h: add/subtract/average/multiply/maximum/minimum in full precision, then one
    cast to res_T (element ii % n of each input: broadcast); concatenate: each element cast
    to res_T."""
    n = a.mantissa.shape[0]
    if layer["class"] == "Concatenate":
        axis = int(layer.get("axis", -1))
        parts = [
            cast(t, result_t).mantissa.reshape(n, *shape)
            for t, shape in ((a, layer["input_shapes"][0]), (b, layer["input_shapes"][1]))
        ]
        joined = np.concatenate(parts, axis=axis + 1 if axis >= 0 else axis)
        return Tensor(joined.reshape(n, *layer["shape"]), result_t)
    op = layer["op"]
    size = int(np.prod(layer["shape"]))
    if op == "multiply":  # the exact product (fractional bits add up), then the cast
        if a.ftype.width + b.ftype.width > 62:
            raise ValueError(
                f"a product of {a.ftype.width}- and {b.ftype.width}-bit values exceeds int64"
            )
        frac = a.ftype.frac_bits + b.ftype.frac_bits
        x = np.tile(a.mantissa.reshape(n, -1), (1, size // int(np.prod(a.mantissa.shape[1:]))))
        y = np.tile(b.mantissa.reshape(n, -1), (1, size // int(np.prod(b.mantissa.shape[1:]))))
        out = requantize(x * y, frac, result_t)
        return Tensor(out.reshape(n, *layer["shape"]), result_t)
    frac = max(a.ftype.frac_bits, b.ftype.frac_bits)
    x = a.mantissa.reshape(n, -1) << (frac - a.ftype.frac_bits)
    y = b.mantissa.reshape(n, -1) << (frac - b.ftype.frac_bits)
    x = np.tile(x, (1, size // x.shape[1]))
    y = np.tile(y, (1, size // y.shape[1]))
    if op == "add":
        exact = x + y
    elif op == "average":  # (a + b) * ap_ufixed<1,0>(0.5): one more fractional bit, exact
        exact, frac = x + y, frac + 1
    elif op == "subtract":
        exact = x - y
    elif op == "maximum":
        exact = np.maximum(x, y)
    else:
        exact = np.minimum(x, y)
    out = requantize(exact, frac, result_t)
    return Tensor(out.reshape(n, *layer["shape"]), result_t)


def relu(x: Tensor, result_t: FixedType | None) -> Tensor:
    positive = Tensor(np.maximum(x.mantissa, 0), x.ftype)
    return cast(positive, result_t)


def batchnorm(
    x: Tensor,
    scale: npt.NDArray[np.int64],
    scale_t: FixedType,
    bias: npt.NDArray[np.int64],
    bias_t: FixedType,
    n_filt: int,
    result_t: FixedType | None,
) -> Tensor:
    """normalize(): res = (res_T)(data × scale + bias), exact before the one cast."""
    b = x.mantissa.shape[0]
    flat = x.mantissa.reshape(b, -1)
    index = np.arange(flat.shape[1]) % n_filt if n_filt > 0 else np.arange(flat.shape[1])
    product_frac = x.ftype.frac_bits + scale_t.frac_bits
    frac = max(product_frac, bias_t.frac_bits)
    bits = (
        max(
            x.ftype.width + scale_t.width + frac - product_frac,
            bias_t.width + frac - bias_t.frac_bits,
        )
        + 1
    )
    if bits > 62:
        raise ValueError(f"batch normalization terms need {bits} bits: not emulated")
    total = ((flat * scale[index]) << (frac - product_frac)) + (
        bias[index] << (frac - bias_t.frac_bits)
    )
    out_type = result_t or FixedType(min(62, x.ftype.width + scale_t.width + 2), 0)
    out = requantize(total, frac, out_type)
    return Tensor(out.reshape(x.mantissa.shape), out_type)


def zero_pad(x: Tensor, layer: dict[str, Any]) -> Tensor:
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


def resize_nearest(x: Tensor, layer: dict[str, Any]) -> Tensor:
    """nnet_image.h resize_nearest (UpSampling1D/2D): output pixel (i, j) takes input pixel
    ((i·y_ratio) >> 16, (j·x_ratio) >> 16), ratio = (in << 16) / out + 1 in C integers —
    for whole factors (io_stream's only case) a repeat."""
    b = x.mantissa.shape[0]
    height, width = int(layer["in_height"]), int(layer["in_width"])
    new_height, new_width = int(layer["out_height"]), int(layer["out_width"])
    data = x.mantissa.reshape(b, height, width, int(layer["n_chan"]))
    y_ratio = ((height << 16) // new_height) + 1
    x_ratio = ((width << 16) // new_width) + 1
    rows = (np.arange(new_height) * y_ratio) >> 16
    cols = (np.arange(new_width) * x_ratio) >> 16
    out = data[:, rows][:, :, cols]
    return Tensor(np.ascontiguousarray(out).reshape(b, *layer["shape"]), x.ftype)
