"""The fast TPG's tick loop as LLVM vector code, for the numba kernel (:mod:`fastkernel`).

A strip of LANES channels side by side: its state lives in the rows of a small ``lanes``
array (int16, ROWS × LANES) between tiles, and :func:`tile_ticks` loads the rows once, runs
a tile's ticks with the state in vector registers (loop-carried values, not memory) and
stores them back.  It makes two passes over a tile: the pedestal (x → s = x − P), writing s
to a stack buffer after the FIR's history, then the threshold stage (s → f → passed, the
quartiles), reading each tick's history from that buffer.  One pass carrying both stages'
state and the history (≈ 15 vectors) spilled to the stack every tick — ≈ 15 stores a tick
on AVX2's 16 registers; two passes carry ≤ 5 each (the TPG 1.06–1.1× faster on Zen 2).  Written as
vector IR because numba could not say it: its heap arrays made LLVM store and reload the
state every tick, and its loop vectorizer, given the same arithmetic as scalar code,
widened the FIR to 64-bit lanes (numba promotes int32 sums to int64) and scalarized the
threshold update.

The FIR multiplies pairs of consecutive taps on interleaved pairs of history rows with
``pmaddwd`` (AVX2: sixteen 16 × 16-bit products summed pairwise into eight int32 in one
instruction); on a CPU without AVX2 the same sums are written as plain vector IR.
Arithmetic is the scalar reference's (:func:`triggerml.tpg.kernel.process_block`) in narrow
lanes, exact under the limits :func:`triggerml.tpg.fastkernel.unsupported` checks.

Editing this file: numba caches the kernels that inline these steps under the timestamp of
*their* file (fastkernel.py), not this one — delete ``triggerml/tpg/__pycache__/*.nb[ic]``
(or touch fastkernel.py) after a change, or the old machine code keeps running.
"""

from __future__ import annotations

import os
from typing import Any

import llvmlite.binding as llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils, config
from numba.extending import intrinsic

LANES = 16  # channels side by side: one AVX2 register of int16 (32 in AVX-512 measured no faster)
# rows of the lanes array: the strip's state between tiles
R_PED, R_ACC, R_Q1, R_Q1A, R_Q3, R_Q3A, R_THR = range(7)
R_BITS = 7  # the OR of every sample seen: the ADC range check without a pass of its own
R_S0 = 8  # R_S0 + k holds s[n − 1 − k] before tick n: the FIR's history
N_S = 16  # history rows: the FIR's taps, at most 15, zero-padded to pairs
ROWS = R_S0 + N_S
# ticks per transposed tile (64: 1.13× faster than 32); at most 64: the hit extraction
# (fastkernel._hits_of_tile) holds a channel's ticks of a tile in one 64-bit word
TILE = 64
assert TILE <= 64

_I1, _I16, _I32 = ir.IntType(1), ir.IntType(16), ir.IntType(32)
_ROW = ir.VectorType(_I16, LANES)
_HALF32 = ir.VectorType(_I32, LANES // 2)
_WIDE32 = ir.VectorType(_I32, LANES)
_MASK = ir.VectorType(_I1, LANES)
# unpacklo/unpackhi of 16-bit lanes within each 128-bit block, and the pack that undoes them
_LO = [8 * b + i // 2 + (LANES if i % 2 else 0) for b in range(LANES // 8) for i in range(8)]
_HI = [i + 4 for i in _LO]
_PACK = [4 * b + i + (LANES // 2 - 4 if i >= 4 else 0) for b in range(LANES // 8) for i in range(8)]


def has_pmaddwd() -> bool:
    """Numba compiles for this machine's CPU, and that CPU has AVX2 (TRIGGERML_TPG_GENERIC=1
    takes the plain-IR sums, for the tests; with a fresh NUMBA_CACHE_DIR, as the compiled
    kernels are cached)."""
    if os.environ.get("TRIGGERML_TPG_GENERIC") == "1":
        return False
    if getattr(config, "CPU_NAME", None) not in (None, "host"):
        return False
    return bool(llvm.get_host_cpu_features().get("avx2", False))


USE_PMADDWD = has_pmaddwd()


def numba_intrinsic(codegen_factory: Any) -> Any:
    """numba's ``@intrinsic``, typed Any: its call sites pass one argument fewer than the
    typing function (numba supplies the typing context)."""
    return intrinsic(codegen_factory)


class _Rows:
    """Load and store whole rows of a 2-D int16 array at (row, column 0)."""

    def __init__(self, context: Any, builder: Any, array_type: Any, value: Any) -> None:
        array = context.make_array(array_type)(context, builder, value)
        self.builder = builder
        self.data = array.data
        self.width = builder.extract_value(array.strides, 0)  # bytes per row

    def pointer(self, row: Any) -> Any:
        row = row if isinstance(row, ir.Value) else ir.Constant(ir.IntType(64), row)
        offset = self.builder.mul(self.builder.sext(row, ir.IntType(64)), self.width)
        base = self.builder.bitcast(self.data, ir.IntType(8).as_pointer())
        byte = self.builder.gep(base, [offset])
        return self.builder.bitcast(byte, _ROW.as_pointer())

    def load(self, row: Any) -> Any:
        return self.builder.load(self.pointer(row), align=2)

    def store(self, value: Any, row: Any) -> None:
        self.builder.store(value, self.pointer(row), align=2)


def _splat(builder: Any, value: Any, vector: ir.VectorType) -> Any:
    undefined = ir.Constant(vector, ir.Undefined)
    first = builder.insert_element(undefined, value, ir.Constant(_I32, 0))
    zeros = ir.Constant(ir.VectorType(_I32, vector.count), [0] * vector.count)
    return builder.shuffle_vector(first, undefined, zeros)


def _step(builder: Any, condition: Any, up: int = 1) -> Any:
    """``up`` where the lane condition holds, else 0 (int16 lanes)."""
    return builder.select(condition, ir.Constant(_ROW, [up] * LANES), ir.Constant(_ROW, None))


def _frugal(builder: Any, x: Any, estimate: Any, acc: Any, up: int, down: int, limit: Any) -> tuple:
    """One frugal update of every lane (kernel._frugal_step); returns (estimate, acc, moved)."""
    a = builder.add(acc, _step(builder, builder.icmp_signed(">", x, estimate), up))
    a = builder.sub(a, _step(builder, builder.icmp_signed("<", x, estimate), down))
    rise = builder.icmp_signed(">", a, limit)
    fall = builder.icmp_signed("<", a, builder.neg(limit))
    moved = builder.or_(rise, fall)
    estimate = builder.sub(builder.add(estimate, _step(builder, rise)), _step(builder, fall))
    return estimate, builder.select(moved, ir.Constant(_ROW, None), a), moved


def _pair_weights(builder: Any, weight_array: Any, n_pairs: int) -> list:
    """The tap pairs as int16 vectors (w[2p], w[2p+1] repeated), loaded once per tile."""
    vectors = []
    for p in range(n_pairs):
        weight = builder.load(builder.gep(weight_array.data, [ir.Constant(_I32, p)]))
        vectors.append(builder.bitcast(_splat(builder, weight, _HALF32), _ROW))
    return vectors


def _pair_sums(builder: Any, pair: Any, weights: Any) -> Any:
    """Eight int32: pair[2i]·w[2i] + pair[2i+1]·w[2i+1] (pmaddwd, or the same in plain IR)."""
    if USE_PMADDWD:
        madd = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_HALF32, [_ROW, _ROW]), "llvm.x86.avx2.pmadd.wd"
        )
        return builder.call(madd, [pair, weights])
    products = builder.mul(builder.sext(pair, _WIDE32), builder.sext(weights, _WIDE32))
    even = ir.Constant(ir.VectorType(_I32, LANES // 2), list(range(0, LANES, 2)))
    odd = ir.Constant(ir.VectorType(_I32, LANES // 2), list(range(1, LANES, 2)))
    undefined = ir.Constant(_WIDE32, ir.Undefined)
    return builder.add(
        builder.shuffle_vector(products, undefined, even),
        builder.shuffle_vector(products, undefined, odd),
    )


def _fir(builder: Any, history: list, weights: list, shift: Any) -> Any:
    """f = (Σ_k taps[k]·s[n−k]) >> shift: int32 sums of tap pairs on interleaved rows."""
    shuffle_type = ir.VectorType(_I32, LANES)
    sums = [ir.Constant(_HALF32, None), ir.Constant(_HALF32, None)]
    for p, pair_weights in enumerate(weights):
        a, b = history[2 * p], history[2 * p + 1]
        for half, mask in enumerate((_LO, _HI)):
            pair = builder.shuffle_vector(a, b, ir.Constant(shuffle_type, mask))
            sums[half] = builder.add(sums[half], _pair_sums(builder, pair, pair_weights))
    count = _splat(builder, builder.and_(shift, ir.Constant(_I32, 31)), _HALF32)
    low, high = (builder.ashr(s, count) for s in sums)
    if USE_PMADDWD:  # packssdw: the values fit int16 (unsupported() checks), no saturation
        pack = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_ROW, [_HALF32, _HALF32]), "llvm.x86.avx2.packssdw"
        )
        return builder.call(pack, [low, high])
    narrow = [builder.trunc(half, ir.VectorType(_I16, LANES // 2)) for half in (low, high)]
    return builder.shuffle_vector(narrow[0], narrow[1], ir.Constant(shuffle_type, _PACK))


def _sigma_thresholds(builder: Any, q1: Any, q3: Any, k_sigma: Any, floor: Any) -> Any:
    """thr = min(max(((Q3 − Q1)·K) >> 8, floor), INT16_MAX) in int32 lanes."""
    spread = builder.sub(builder.sext(q3, _WIDE32), builder.sext(q1, _WIDE32))
    eight = _splat(builder, ir.Constant(_I32, 8), _WIDE32)
    wide = builder.ashr(builder.mul(spread, _splat(builder, k_sigma, _WIDE32)), eight)
    floor = _splat(builder, floor, _WIDE32)
    wide = builder.select(builder.icmp_signed(">", wide, floor), wide, floor)
    top = _splat(builder, ir.Constant(_I32, (1 << 15) - 1), _WIDE32)
    wide = builder.select(builder.icmp_signed("<", wide, top), wide, top)
    return builder.trunc(wide, _ROW)


@numba_intrinsic
def threshold_init(typingctx: Any, lanes: Any, k_sigma: Any, floor: Any) -> Any:
    """R_THR from the quartile rows (the sigma threshold)."""
    if not _c_int16(lanes, 2):
        return None
    sig = types.void(lanes, types.int32, types.int32)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        rows = _Rows(context, builder, signature.args[0], args[0])
        thr = _sigma_thresholds(builder, rows.load(R_Q1), rows.load(R_Q3), args[1], args[2])
        rows.store(thr, R_THR)
        return context.get_dummy_value()

    return sig, codegen


def _c_int16(array: Any, ndim: int) -> bool:
    return (
        isinstance(array, types.Array)
        and array.dtype == types.int16
        and array.ndim == ndim
        and array.layout == "C"
    )


_STATE = {
    "ped": R_PED, "acc": R_ACC, "q1": R_Q1, "q1a": R_Q1A, "q3": R_Q3, "q3a": R_Q3A,
    "thr": R_THR, "bits": R_BITS,
}  # fmt: skip


def _tick_loop(builder: Any, ticks: Any, start: dict, step: Any) -> dict:
    """for tick in range(ticks): state = step(tick, state), the state (vectors) in phis —
    loop-carried registers, not memory.  Returns the final state."""
    entry = builder.block
    header = builder.append_basic_block("ticks.header")
    body = builder.append_basic_block("ticks.body")
    done = builder.append_basic_block("ticks.done")
    builder.branch(header)
    builder.position_at_end(header)
    tick = builder.phi(ir.IntType(64))
    tick.add_incoming(ir.Constant(ir.IntType(64), 0), entry)
    state = {}
    for name, value in start.items():
        state[name] = builder.phi(value.type)
        state[name].add_incoming(value, entry)
    builder.cbranch(builder.icmp_signed("<", tick, ticks), body, done)
    builder.position_at_end(body)
    new = step(tick, state)
    latch = builder.block
    for name, phi in state.items():
        phi.add_incoming(new[name], latch)
    tick.add_incoming(builder.add(tick, ir.Constant(ir.IntType(64), 1)), latch)
    builder.branch(header)
    builder.position_at_end(done)
    return state


@numba_intrinsic
def tile_ticks(
    typingctx: Any,
    lanes: Any,
    tile: Any,
    passed: Any,
    masks: Any,
    ticks: Any,
    limits: Any,
    scales: Any,
    flags: Any,
    weights: Any,
    pairs: Any,
    symmetric: Any,
) -> Any:
    """Every tick of one tile through the TPG's stages, the strip's rows in registers, in
    two passes: the pedestal for every tick, then the rest for every tick (the module's
    docstring says why).

    ``limits`` = (accum_limit, iqr_accum_limit) int16, ``scales`` = (fir_shift, K,
    min_threshold) int32, ``flags`` = (absolute, sigma); ``pairs`` (a literal) the FIR's
    tap pairs, 0 without the FIR; ``symmetric`` (a literal): seven symmetric taps, samples
    of at most 14 bits.  Per tick: frugal pedestal, s = x − P; f = FIR(s) or s;
    |f| if absolute; passed[tick] = f where f > thr, and masks[tick] the lanes where it is
    (bit c: lane c); the quartiles' frugal updates, and thr again from them where one moved
    (a rare branch) if sigma — without sigma the quartile rows change but the kernel keeps
    the state's (the threshold is fixed).  R_BITS ORs every sample x (the caller's range
    check).  The arrays: C-contiguous int16, ``masks`` 1-D, the others 2-D with LANES columns.
    """
    if not isinstance(pairs, types.IntegerLiteral) or not isinstance(
        symmetric, types.BooleanLiteral
    ):
        return None
    arrays = (lanes, tile, passed, masks)
    if not all(_c_int16(array, 1 if array is masks else 2) for array in arrays):
        return None
    n_pairs = pairs.literal_value
    # seven symmetric taps on samples of ≤ 14 bits: pair sums s[n−k] + s[n−6+k] fit int16, and
    # the FIR is w0·(s0+s6) + w1·(s1+s5) + w2·(s2+s4) + w3·s3: two pmaddwd pairs, not four
    folded = symmetric.literal_value and n_pairs == 4
    n_history = max(1, 2 * n_pairs)
    sig = types.void(
        lanes, tile, passed, masks, types.intp, limits, scales, flags, weights, pairs, symmetric
    )

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        rows = _Rows(context, builder, signature.args[0], args[0])
        tiles = _Rows(context, builder, signature.args[1], args[1])
        passes = _Rows(context, builder, signature.args[2], args[2])
        mask_array = context.make_array(signature.args[3])(context, builder, args[3])
        limit, iqr_limit = (builder.extract_value(args[5], i) for i in range(2))
        shift, k_sigma, floor = (builder.extract_value(args[6], i) for i in range(3))
        absolute, sigma = (builder.trunc(builder.extract_value(args[7], i), _I1) for i in range(2))
        weight_array = context.make_array(signature.args[8])(context, builder, args[8])
        pair_weights = _pair_weights(builder, weight_array, n_pairs)
        ped_limit = _splat(builder, limit, _ROW)
        quartile_limit = _splat(builder, iqr_limit, _ROW)
        flip_mask = _splat(builder, absolute, _MASK)
        zero = ir.Constant(_ROW, None)
        # s of the tile's ticks after the n_history before it: s_rows[n_history + j] = s[j]
        s_rows = cgutils.alloca_once(builder, _ROW, size=N_S + TILE)

        def s_row(index: Any) -> Any:
            return builder.gep(s_rows, [index])

        def offset(tick: Any, delta: int) -> Any:
            return builder.add(tick, ir.Constant(ir.IntType(64), n_history + delta))

        for k in range(n_history):  # R_S0 + k holds s[−1 − k]
            builder.store(
                rows.load(R_S0 + k), s_row(ir.Constant(ir.IntType(64), n_history - 1 - k))
            )

        # pass 1, the pedestal: s = x − P per tick, and the OR of every x
        def pedestal_tick(tick: Any, state: dict) -> dict:
            x = tiles.load(tick)
            ped, acc, _ = _frugal(builder, x, state["ped"], state["acc"], 1, 1, ped_limit)
            builder.store(builder.sub(x, ped), s_row(offset(tick, 0)), align=2)
            return {"ped": ped, "acc": acc, "bits": builder.or_(state["bits"], x)}

        # pass 2, the threshold: f = FIR(s) or s, |f|, passed and masks, the quartiles
        def threshold_tick(tick: Any, state: dict) -> dict:
            history = [
                builder.load(s_row(offset(tick, -k)), align=2) for k in range(max(1, 2 * n_pairs))
            ]
            if folded:
                h = history
                values = [*(builder.add(h[k], h[6 - k]) for k in range(3)), h[3]]
                f = _fir(builder, values, pair_weights[:2], shift)
            else:
                f = _fir(builder, history, pair_weights, shift) if n_pairs else history[0]
            flip = builder.and_(builder.icmp_signed("<", f, zero), flip_mask)
            f = builder.select(flip, builder.neg(f), f)
            over = builder.icmp_signed(">", f, state["thr"])
            passes.store(builder.select(over, f, zero), tick)
            mask_slot = builder.gep(mask_array.data, [tick])
            builder.store(builder.bitcast(over, ir.IntType(LANES)), mask_slot)
            q1, q1a, moved1 = _frugal(builder, f, state["q1"], state["q1a"], 1, 3, quartile_limit)
            q3, q3a, moved3 = _frugal(builder, f, state["q3"], state["q3a"], 3, 1, quartile_limit)
            moved = builder.bitcast(builder.or_(moved1, moved3), ir.IntType(LANES))
            moved = builder.icmp_unsigned("!=", moved, ir.Constant(ir.IntType(LANES), 0))
            before = builder.block
            with builder.if_then(builder.and_(moved, sigma), likely=False):
                recomputed = _sigma_thresholds(builder, q1, q3, k_sigma, floor)
                then = builder.block
            thr = builder.phi(_ROW)
            thr.add_incoming(recomputed, then)
            thr.add_incoming(state["thr"], before)
            return {"q1": q1, "q1a": q1a, "q3": q3, "q3a": q3a, "thr": thr}

        for names, step in (
            (("ped", "acc", "bits"), pedestal_tick),
            (("q1", "q1a", "q3", "q3a", "thr"), threshold_tick),
        ):
            final = _tick_loop(builder, args[4], {n: rows.load(_STATE[n]) for n in names}, step)
            for name in names:
                rows.store(final[name], _STATE[name])
        for k in range(n_history):
            last = builder.sub(offset(args[4], -1), ir.Constant(ir.IntType(64), k))
            rows.store(builder.load(s_row(last), align=2), R_S0 + k)
        return context.get_dummy_value()

    return sig, codegen


@numba_intrinsic
def trailing_zeros(typingctx: Any, value: Any) -> Any:
    """The number of trailing zero bits of a non-zero uint64 (llvm.cttz)."""
    sig = types.int64(types.uint64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        i64 = ir.IntType(64)
        cttz = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(i64, [i64, ir.IntType(1)]), "llvm.cttz.i64"
        )
        return builder.call(cttz, [args[0], ir.Constant(ir.IntType(1), 1)])

    return sig, codegen
