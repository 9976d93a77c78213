"""Activations computed from lookup tables and slopes as hls4ml computes them: sigmoid,
ELU, hard tanh/sigmoid and softmax (stable and legacy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from triggerml.emulator.kernels.base import (
    Tensor,
    cast,
)
from triggerml.fixed import FixedType, product_type, requantize, wrap


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
