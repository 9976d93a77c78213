"""Max and average pooling, local and global (the sum in accum_t)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from triggerml.emulator.kernels.base import (
    Tensor,
    cast,
)
from triggerml.fixed import FixedType, requantize


def _windows(
    x: Tensor, layer: dict[str, Any]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], tuple[int, ...]]:
    """Pooling windows (b, out_h, out_w, C, k) with a validity mask (padding excluded)."""
    b = x.mantissa.shape[0]
    if layer["class"] == "Pooling1D":
        data = x.mantissa.reshape(b, 1, layer["in_width"], layer["n_filt"])
        ph, sh, top, bottom, out_h = 1, 1, 0, 0, 1
    else:
        data = x.mantissa.reshape(b, layer["in_height"], layer["in_width"], layer["n_filt"])
        ph, sh = layer["pool_height"], layer["stride_height"]
        top, bottom = layer.get("pad_top", 0), layer.get("pad_bottom", 0)
        out_h = layer["out_height"]
    pw, sw = layer["pool_width"], layer["stride_width"]
    left, right, out_w = layer.get("pad_left", 0), layer.get("pad_right", 0), layer["out_width"]
    widths = ((0, 0), (top, bottom), (left, right), (0, 0))
    padded = np.pad(data, widths)
    valid = np.pad(np.ones(data.shape[1:3], dtype=bool), widths[1:3])
    values = np.empty((b, out_h, out_w, data.shape[3], ph * pw), dtype=np.int64)
    mask = np.empty((out_h, out_w, ph * pw), dtype=bool)
    for i in range(ph):
        for j in range(pw):
            k = i * pw + j
            values[..., k] = padded[:, i : i + sh * out_h : sh, j : j + sw * out_w : sw, :]
            mask[..., k] = valid[i : i + sh * out_h : sh, j : j + sw * out_w : sw]
    return values, mask, tuple(layer["shape"])


def tiles(layer: dict[str, Any]) -> bool:
    """Do the pooling windows tile the input (no padding, stride = pool size)?"""
    pads = ("pad_top", "pad_bottom", "pad_left", "pad_right")
    if any(layer.get(name, 0) for name in pads):
        return False
    if layer["class"] == "Pooling1D":
        return bool(layer["stride_width"] == layer["pool_width"])
    return bool(
        layer["stride_width"] == layer["pool_width"]
        and layer["stride_height"] == layer["pool_height"]
    )


def _tiled(mantissa: npt.NDArray[np.int64], layer: dict[str, Any]) -> npt.NDArray[np.int64]:
    """(b, out_h, pool_h, out_w, pool_w, C) view of the covered part of the input."""
    b = mantissa.shape[0]
    if layer["class"] == "Pooling1D":
        in_h, ph, out_h = 1, 1, 1
    else:
        in_h, ph, out_h = layer["in_height"], layer["pool_height"], layer["out_height"]
    in_w, pw, out_w = layer["in_width"], layer["pool_width"], layer["out_width"]
    data = mantissa.reshape(b, in_h, in_w, layer["n_filt"])[:, : out_h * ph, : out_w * pw]
    return data.reshape(b, out_h, ph, out_w, pw, layer["n_filt"])


def pool(
    x: Tensor, layer: dict[str, Any], accum_t: FixedType | None, result_t: FixedType | None
) -> Tensor:
    """pooling*_cl: pool_op returns accum_t (max, or avg = trunc0(sum / n) in accum_t)."""
    if "Max" in layer.get("pool_op", "Max") and tiles(layer):
        b = x.mantissa.shape[0]
        tiled = _tiled(x.mantissa, layer).max(axis=(2, 4))
        out = cast(cast(Tensor(tiled, x.ftype), accum_t), result_t)
        return Tensor(out.mantissa.reshape(b, *layer["shape"]), out.ftype)
    values, mask, shape = _windows(x, layer)
    b = values.shape[0]
    if "Max" in layer.get("pool_op", "Max"):
        low = np.iinfo(np.int64).min  # pad_val for max: the smallest value
        best = np.where(mask[None, :, :, None, :], values, low).max(axis=-1)
        reduced = cast(Tensor(best, x.ftype), accum_t)
    else:
        count = (
            np.full(mask.shape[:2], mask.shape[2]) if layer.get("count_pad") else mask.sum(axis=-1)
        )
        reduced = average(Tensor(values, x.ftype), accum_t, count[None, :, :, None])
    out = cast(reduced, result_t)
    return Tensor(out.mantissa.reshape(b, *shape), out.ftype)


def average(x: Tensor, accum_t: FixedType | None, count: npt.NDArray[np.int64]) -> Tensor:
    """avg(): y = 0 in accum_t; y += x[i] (each sum assigned to accum_t); y /= count."""
    target = accum_t or x.ftype
    frac = max(target.frac_bits, x.ftype.frac_bits)
    terms = x.mantissa << (frac - x.ftype.frac_bits)
    y = np.zeros(x.mantissa.shape[:-1], dtype=np.int64)
    y_frac = target.frac_bits
    for k in range(x.mantissa.shape[-1]):
        total = (y << (frac - y_frac)) + terms[..., k]
        y = requantize(total, frac, target)
    quotient = np.where(y >= 0, y // count, -((-y) // count))  # sdiv truncates toward 0
    return Tensor(quotient.astype(np.int64), target)


def global_pool(
    x: Tensor, layer: dict[str, Any], accum_t: FixedType | None, result_t: FixedType | None
) -> Tensor:
    b = x.mantissa.shape[0]
    channels = layer["input_shape"][-1]
    values = x.mantissa.reshape(b, -1, channels).transpose(0, 2, 1)  # (b, C, positions)
    if "Max" in layer.get("pool_op", "Max"):
        reduced = cast(Tensor(values.max(axis=-1), x.ftype), accum_t)
    else:
        count = np.full((1, 1), values.shape[-1])
        reduced = average(Tensor(values, x.ftype), accum_t, count)
    out = cast(reduced, result_t)
    return Tensor(out.mantissa.reshape(b, *layer["shape"]), out.ftype)
