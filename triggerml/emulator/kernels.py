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

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from triggerml.emulator.convblock import cast_params, conv_block, finish_sums
from triggerml.emulator.fastcast import requantize_fast
from triggerml.fixed import FixedType, OverflowMode, QuantMode, product_type, requantize, wrap

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
    return wrap(values, ftype.width, ftype.signed)


def matmul_accumulate(
    x: Tensor,
    weight: npt.NDArray[np.int64],
    weight_t: FixedType,
    bias: npt.NDArray[np.int64],
    bias_t: FixedType,
    accum_t: FixedType,
    result_t: FixedType | None = None,
    relu_t: FixedType | None = None,
) -> Tensor:
    """(b, n_in) × (n_in, n_out) + bias in hls4ml's accumulator semantics, cast to result_t;
    with ``relu_t`` a following ReLU (cast to relu_t) is applied too."""
    bias_acc = requantize(bias, bias_t.frac_bits, accum_t)
    fast = fast_path(x.ftype, weight, weight_t, bias_t, accum_t)
    if fast is not None:
        shift, exact_dtype = fast
        total: npt.NDArray[Any] = np.asarray(x.mantissa, exact_dtype) @ weight.astype(exact_dtype)
        out = finish_sums(total, shift, bias_acc, accum_t, result_t, relu_t)
        return Tensor(out, relu_t or result_t or accum_t)
    result = cast(_accumulate_general(x, weight, weight_t, bias_acc, accum_t), result_t)
    return relu(result, relu_t) if relu_t is not None else result


def fast_path(
    x_t: FixedType,
    weight: npt.NDArray[np.int64],
    weight_t: FixedType,
    bias_t: FixedType,
    accum_t: FixedType,
) -> tuple[int, type] | None:
    """When the firmware's sum is the exact sum wrapped once (products fit accum_t without
    rounding, the accumulator wraps): the product shift and a dtype in which every partial
    sum is exact (float32 below 2^24, float64 below 2^53, else int64).  Else None."""
    n_in = int(np.prod(weight.shape[:-1]))
    shift = accum_t.frac_bits - (x_t.frac_bits + weight_t.frac_bits)
    max_product = _max_abs(x_t) * int(np.abs(weight).max(initial=0))
    bound = n_in * max_product + _max_abs(bias_t)
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


def dense(
    x: Tensor,
    weight: npt.NDArray[np.int64],
    weight_t: FixedType,
    bias: npt.NDArray[np.int64],
    bias_t: FixedType,
    accum_t: FixedType,
    result_t: FixedType | None,
    relu_t: FixedType | None = None,
) -> Tensor:
    n_in = int(np.prod(x.mantissa.shape[1:]))
    flat = Tensor(x.mantissa.reshape(-1, n_in), x.ftype)
    return matmul_accumulate(
        flat, weight.reshape(n_in, -1), weight_t, bias, bias_t, accum_t, result_t, relu_t
    )


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
    x: Tensor,
    layer: dict[str, Any],
    weight: npt.NDArray[np.int64],
    weight_t: FixedType,
    bias: npt.NDArray[np.int64],
    bias_t: FixedType,
    accum_t: FixedType,
    result_t: FixedType | None,
    relu_t: FixedType | None = None,
    fused_pool: FusedPool | None = None,
) -> Tensor:
    """Convolution (then a fused ReLU and max pooling, when given): the direct numba
    kernel on the fast path, else im2col and :func:`matmul_accumulate`."""
    b = x.mantissa.shape[0]
    g = ConvGeometry.of(layer)
    data = x.mantissa.reshape(b, *g.in_hwc)
    fast = fast_path(x.ftype, weight.reshape(-1, g.n_filt), weight_t, bias_t, accum_t)
    if fast is None:
        result = _conv_im2col(
            x.ftype, data, g, weight, weight_t, bias, bias_t, accum_t, result_t, relu_t
        )
        result = Tensor(result.mantissa.reshape(b, *layer["shape"]), result.ftype)
        if fused_pool is None:
            return result
        return pool(result, fused_pool.layer, fused_pool.accum_t, fused_pool.result_t)
    shift, exact_dtype = fast
    source = relu_t or result_t or accum_t
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
        weight.reshape(g.kh, g.kw, g.in_hwc[2], g.n_filt).astype(exact_dtype),
        requantize(bias, bias_t.frac_bits, accum_t),
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


def _conv_im2col(
    x_t: FixedType,
    data: npt.NDArray[np.int64],
    g: ConvGeometry,
    weight: npt.NDArray[np.int64],
    weight_t: FixedType,
    bias: npt.NDArray[np.int64],
    bias_t: FixedType,
    accum_t: FixedType,
    result_t: FixedType | None,
    relu_t: FixedType | None,
) -> Tensor:
    """The general path: im2col, then every product cast as the firmware does."""
    values: npt.NDArray[Any] = data.astype(np.float32) if _max_abs(x_t) < EXACT_FLOAT32 else data
    cols = im2col_2d(values, g.kh, g.kw, g.sh, g.sw, g.pads, g.out_hw)
    n_k = cols.shape[-1]
    return matmul_accumulate(
        Tensor(cols.reshape(-1, n_k), x_t),
        weight.reshape(n_k, g.n_filt),
        weight_t,
        bias,
        bias_t,
        accum_t,
        result_t,
        relu_t,
    )


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


def _c_expf() -> Any:
    """The C library's expf — what the C simulation's std::exp(float) calls."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("m")
    if name is None:
        return None
    expf = ctypes.CDLL(name).expf
    expf.restype = ctypes.c_float
    expf.argtypes = [ctypes.c_float]
    return expf


def _table_input(i: int, table_size: int) -> np.float32:
    """``float in_val = 2 * 8.0 * (i - float(N) / 2.0) / float(N)``: entry i's input in
    init_sigmoid_table and init_exp_table_legacy (double arithmetic, stored as float)."""
    n = float(np.float32(table_size))
    return np.float32(2 * 8.0 * (i - n / 2.0) / n)


def sigmoid_table(table_size: int, table_t: FixedType) -> npt.NDArray[np.int64]:
    """init_sigmoid_table, in the C types it uses: ``float in_val = 2*8.0*(i - N/2.0)/N``,
    ``float sigmoid_fcn_float(float x) { return 1.0 / (1 + std::exp(-x)); }`` (expf, a float
    sum, a double quotient returned as float), then the cast to table_t."""
    expf = _c_expf()
    values = np.empty(table_size, dtype=np.float64)
    for i in range(table_size):
        in_val = _table_input(i, table_size)
        e = np.float32(expf(float(-in_val))) if expf is not None else np.exp(-in_val)
        denominator = np.float32(np.float32(1) + np.float32(e))
        values[i] = float(np.float32(1.0 / float(denominator)))
    return table_t.mantissa(values)


def sigmoid(
    x: Tensor, table: npt.NDArray[np.int64], table_t: FixedType, result_t: FixedType | None
) -> Tensor:
    """index = (int)(x · table_size / 16) + table_size / 2, clamped; C truncates toward 0."""
    size = table.shape[0]
    quotient = _truncated_index(x.mantissa, x.ftype.frac_bits, size, 16)
    index = np.clip(quotient + size // 2, 0, size - 1)
    return cast(Tensor(table[index], table_t), result_t)


def elu_table(table_size: int, table_t: FixedType) -> npt.NDArray[np.int64]:
    """init_elu_table, in the C types it uses: ``float in_val = -8.0 * i / float(N)`` (a
    double quotient stored as float), ``float elu_fcn_float(float x) { return std::exp(x) -
    1.; }`` (expf, a double difference returned as float), then the cast to table_t."""
    expf = _c_expf()
    n = float(np.float32(table_size))
    values = np.empty(table_size, dtype=np.float64)
    for i in range(table_size):
        in_val = np.float32(-8.0 * i / n)
        e = np.float32(expf(float(in_val))) if expf is not None else np.exp(in_val)
        values[i] = float(np.float32(float(e) - 1.0))
    return table_t.mantissa(values)


def elu(
    x: Tensor,
    table: npt.NDArray[np.int64],
    table_t: FixedType,
    alpha: Tensor,
    result_t: FixedType | None,
) -> Tensor:
    """nnet::elu: x ≥ 0 → x; else alpha · table[min((int)(x · N / −8), N − 1)] — the index
    truncated toward zero like sigmoid's, the product exact (param_t × table_t) — each
    cast to the result type."""
    size = table.shape[0]
    negative = x.mantissa < 0
    index = _truncated_index(-x.mantissa, x.ftype.frac_bits, size, 8)
    index = np.where(negative, np.minimum(index, size - 1), 0)
    product = Tensor(alpha.mantissa * table[index], product_type(alpha.ftype, table_t))
    below, above = cast(product, result_t), cast(x, result_t)
    if below.ftype != above.ftype:  # no result type: the wider input holds both exactly
        raise ValueError("elu needs an explicit result type")
    return Tensor(np.where(negative, below.mantissa, above.mantissa), below.ftype)


def hard_activation(
    x: Tensor,
    layer: dict[str, Any],
    slope_t: FixedType,
    shift_t: FixedType,
    result_t: FixedType | None,
) -> Tensor:
    """hard_sigmoid / hard_tanh: s = slope·x + shift in full precision, clamped to [0, 1];
    tanh returns 2s − 1; one cast to res_T."""
    slope = int(slope_t.mantissa(np.array([layer["slope"]]))[0])
    shift = int(shift_t.mantissa(np.array([layer["shift"]]))[0])
    frac = max(x.ftype.frac_bits + slope_t.frac_bits, shift_t.frac_bits)
    value = (x.mantissa * slope) << (frac - x.ftype.frac_bits - slope_t.frac_bits)
    value = value + (shift << (frac - shift_t.frac_bits))
    one = 1 << frac
    value = np.clip(value, 0, one)
    if layer["activation"] == "hard_tanh":
        value = 2 * value - one
    target = result_t or x.ftype
    return Tensor(requantize(value, frac, target), target)


def _ceillog2(x: int) -> int:
    """hls4ml's ceillog2 (nnet_common.h): the table's address bits."""
    return 1 if x <= 2 else 1 + _ceillog2((x + 1) // 2)


def _floorlog2(x: int) -> int:
    return 0 if x < 2 else 1 + _floorlog2(x // 2)


def _top_bits(mantissa: npt.NDArray[np.int64], ftype: FixedType, bits: int) -> npt.NDArray[Any]:
    """softmax_idx_from_real_val: the top ``bits`` bits of the value's bit pattern."""
    pattern = mantissa & ((1 << ftype.width) - 1)
    return pattern >> (ftype.width - bits)


def _value_of_top_bits(index: int, ftype: FixedType, bits: int) -> np.float32:
    """softmax_real_val_from_idx: a value whose top bits are ``index`` (rest 0), as float."""
    pattern = np.array([index << (ftype.width - bits)], dtype=np.int64)
    return np.float32(ftype.to_float(wrap(pattern, ftype.width, ftype.signed))[0])


@dataclass(frozen=True)
class SoftmaxTables:
    """One softmax layer's tables and types, built as init_exp_table / init_invert_table do
    (float arithmetic: the index's value × exp_scale, expf, 1/x in float)."""

    implementation: str
    data_t: FixedType  # what indexes the exp table (the input, or inp_norm_t for stable)
    exp_table: npt.NDArray[np.int64]
    inv_table: npt.NDArray[np.int64]
    exp_table_t: FixedType
    inv_table_t: FixedType
    accum_t: FixedType
    inv_inp_t: FixedType
    exp_bits: int
    inv_bits: int
    n_slice: int  # how many values one softmax normalizes

    @classmethod
    def build(cls, layer: dict[str, Any], input_t: FixedType, io_type: str) -> SoftmaxTables:
        from triggerml.fixed import parse_type

        implementation = layer["implementation"]
        if implementation not in ("latency", "stable", "argmax", "legacy"):
            raise ValueError(f"softmax implementation {implementation!r} is not emulated")
        if layer["n_inner"] != 1:
            raise ValueError(
                "softmax over an axis other than the last is not emulated: use axis=-1"
            )
        # io_stream: one softmax per stream word (a position's channels); io_parallel:
        # over n_slice values — all of a multidimensional tensor (n_outer = 1)
        n_slice = int(layer["shape"][-1] if io_type == "io_stream" else layer["n_slice"])
        if implementation == "legacy":
            return cls._legacy(layer, input_t, io_type == "io_stream", n_slice)
        types = {k: parse_type(layer[k]) for k in ("exp_table_t", "inv_table_t", "accum_t")}
        inv_inp_t = parse_type(layer["inv_inp_t"])
        data_t = parse_type(layer["inp_norm_t"]) if implementation == "stable" else input_t
        exp_size, inv_size = int(layer["exp_table_size"]), int(layer["inv_table_size"])
        exp_bits, inv_bits = _ceillog2(exp_size), _ceillog2(inv_size)
        for ftype, bits in ((data_t, exp_bits), (inv_inp_t, inv_bits)):
            if ftype.width < bits:
                raise ValueError(f"softmax table address ({bits} bits) wider than {ftype}")
        expf = _c_expf()
        scale = np.float32(layer["exp_scale"])
        exp_values = np.empty(exp_size)
        for i in range(exp_size):
            x = np.float32(_value_of_top_bits(i, data_t, exp_bits) * scale)
            if implementation == "stable":
                x = -x
            exp_values[i] = float(np.float32(expf(float(x)) if expf else np.exp(x)))
        inv_values = np.empty(inv_size)
        with np.errstate(divide="ignore"):
            for i in range(inv_size):
                inv_values[i] = float(np.float32(1) / _value_of_top_bits(i, inv_inp_t, inv_bits))
        return cls(
            implementation,
            data_t,
            types["exp_table_t"].mantissa(exp_values),
            types["inv_table_t"].mantissa(inv_values),
            types["exp_table_t"],
            types["inv_table_t"],
            types["accum_t"],
            inv_inp_t,
            exp_bits,
            inv_bits,
            n_slice,
        )

    @classmethod
    def _legacy(
        cls, layer: dict[str, Any], input_t: FixedType, stream: bool, n_slice: int
    ) -> SoftmaxTables:
        """init_exp_table_legacy / init_invert_table_legacy in table_t: exp of
        ``float in_val = 2*8.0*(i - N/2.0)/N`` (expf) and 1.0 / ``float(64.0*i/N)``
        (a double quotient; 0 at i = 0).  io_stream sizes both tables by table_size."""
        from triggerml.fixed import parse_type

        if "table_t" not in layer:
            raise ValueError("legacy softmax needs table_t in the graph: rebuild")
        table_t = parse_type(layer["table_t"])
        exp_size = int(layer["table_size"] if stream else layer["exp_table_size"])
        inv_size = int(layer["table_size"] if stream else layer["inv_table_size"])
        expf = _c_expf()
        exp_values = np.empty(exp_size)
        for i in range(exp_size):
            in_val = _table_input(i, exp_size)
            exp_values[i] = float(np.float32(expf(float(in_val)) if expf else np.exp(in_val)))
        inv_values = np.zeros(inv_size)
        for i in range(1, inv_size):
            inv_values[i] = 1.0 / float(np.float32(64.0 * i / float(np.float32(inv_size))))
        return cls(
            "legacy",
            input_t,
            table_t.mantissa(exp_values),
            table_t.mantissa(inv_values),
            table_t,
            table_t,
            table_t,
            table_t,
            0,
            0,
            n_slice,
        )


def _truncated_index(
    mantissa: npt.NDArray[np.int64], frac_bits: int, size: int, divisor: int
) -> npt.NDArray[np.int64]:
    """``(int)(x * size / divisor)`` for a fixed-point x: exact, truncated toward zero (the
    quotient keeps x's fraction bits, then to_int drops them toward zero), as a C int."""
    numerator = mantissa * size
    denominator = divisor
    if frac_bits >= 0:
        denominator <<= frac_bits
    else:
        numerator = numerator << (-frac_bits)
    quotient = np.where(numerator >= 0, numerator // denominator, -((-numerator) // denominator))
    return wrap(quotient, 32, True)


def softmax_legacy(x: Tensor, tables: SoftmaxTables, result_t: FixedType) -> Tensor:
    """softmax_legacy: exp_res[i] = Σ_j exp_table[(int)((x_j − x_i)·N/16) + N/2] (1 for
    j = i), summed in table_t in j order; then invert_table[(int)(exp_res·N_inv/64)] cast
    to the result type."""
    shape = x.mantissa.shape
    data = x.mantissa.reshape(-1, tables.n_slice)
    table_t = tables.exp_table_t
    exp_size, inv_size = len(tables.exp_table), len(tables.inv_table)
    one = int(table_t.mantissa(np.ones(1))[0])
    diff_frac = x.ftype.frac_bits  # x_j − x_i keeps the fraction bits, exactly
    exp_res = np.zeros_like(data)
    for i in range(tables.n_slice):
        for j in range(tables.n_slice):
            if i == j:
                term = np.full(len(data), one, dtype=np.int64)
            else:
                index = _truncated_index(data[:, j] - data[:, i], diff_frac, exp_size, 16)
                term = tables.exp_table[np.clip(index + 8 * exp_size // 16, 0, exp_size - 1)]
            exp_res[:, i] = requantize(exp_res[:, i] + term, table_t.frac_bits, table_t)
    index = _truncated_index(exp_res, table_t.frac_bits, inv_size, 64)
    inverse = tables.inv_table[np.clip(index, 0, inv_size - 1)]
    return cast(Tensor(inverse.reshape(shape), table_t), result_t)


def _reduce_add(values: npt.NDArray[np.int64], t: FixedType) -> npt.NDArray[np.int64]:
    """nnet::reduce with Op_add<T>: a tree of sums, each assigned to T."""
    n = values.shape[1]
    if n == 1:
        return values[:, 0]
    if n == 2:
        return requantize(values[:, 0] + values[:, 1], t.frac_bits, t)
    left = 2 ** _floorlog2(n - 1)
    total = _reduce_add(values[:, :left], t) + _reduce_add(values[:, left:], t)
    return requantize(total, t.frac_bits, t)


def softmax(x: Tensor, tables: SoftmaxTables, result_t: FixedType) -> Tensor:
    """softmax_latency / softmax_stable / softmax_argmax (nnet_activation.h and its
    io_stream twin, which computes the same per stream word), over consecutive groups of
    ``tables.n_slice`` values."""
    if tables.implementation == "legacy":
        return softmax_legacy(x, tables, result_t)
    shape = x.mantissa.shape
    data = x.mantissa.reshape(-1, tables.n_slice)
    b = len(data)
    if tables.implementation == "argmax":
        out = np.zeros_like(data)
        out[np.arange(b), np.argmax(data, axis=1)] = result_t.mantissa(np.ones(1))[0]
        return Tensor(out.reshape(shape), result_t)
    if tables.implementation == "stable":
        top = data.max(axis=1, keepdims=True)
        index_source = requantize(top - data, x.ftype.frac_bits, tables.data_t)
    else:
        index_source = data
    exp_res = requantize(
        tables.exp_table[_top_bits(index_source, tables.data_t, tables.exp_bits)],
        tables.exp_table_t.frac_bits,
        tables.accum_t,
    )
    exp_sum = requantize(
        _reduce_add(exp_res, tables.accum_t), tables.accum_t.frac_bits, tables.inv_inp_t
    )
    inverse = tables.inv_table[_top_bits(exp_sum, tables.inv_inp_t, tables.inv_bits)]
    product_frac = tables.accum_t.frac_bits + tables.inv_table_t.frac_bits
    if tables.accum_t.width + tables.inv_table_t.width > 62:
        raise ValueError("softmax products exceed 62 bits: not emulated")
    out = requantize(exp_res * inverse[:, None], product_frac, result_t)
    return Tensor(out.reshape(shape), result_t)


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
    return bool(max(abs(low), abs(high)) < limit * scale)


__all__ = [
    "QuantMode",
    "Tensor",
    "cast",
    "conv",
    "dense",
    "elu",
    "elu_table",
    "pool",
    "relu",
    "sigmoid",
    "sigmoid_table",
]
