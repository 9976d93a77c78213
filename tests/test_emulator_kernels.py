"""Layer kernels (triggerml.emulator.kernels) against their reference paths: the fine sigmoid
table's float arithmetic, the fused conv → ReLU → pool block against the layer-by-layer path."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from numpy.testing import assert_array_equal

from triggerml.compile.build import BuildConfig, build


def test_fine_sigmoid_table_follows_the_float_arithmetic(tmp_path: Path) -> None:
    """With 22 fraction bits the table entries depend on init_sigmoid_table's float
    (expf, float32) arithmetic: 74 of 1024 differ from a double-precision table."""
    config = BuildConfig(
        events=2000,
        LayerName={
            "score": {
                "table_t": "ap_fixed<24,2>",
                "Precision": {"table": "ap_fixed<24,2>", "result": "ap_fixed<26,2>"},
            }
        },
    )
    manifest = build(REPO / "models" / "tpmlp.h5", tmp_path / "fine", config)
    graph = json.loads((tmp_path / "fine" / "emulation" / "graph.json").read_text())
    assert graph["layers"][-1]["table_t"].startswith("ap_fixed<24,2")
    assert manifest["csim"]["emulator_mismatches"] == 0


@pytest.mark.parametrize("seed", range(10))
def test_fused_conv_relu_pool_equals_the_layer_by_layer_path(seed: int) -> None:
    """The direct numba block (conv → ReLU → max pool in one pass) against im2col + BLAS
    and the separate ReLU and pooling kernels (the path checked against C-sim); seeds 6–9
    use wide types, so the sums run in float64 and in int64."""
    from triggerml.emulator import kernels
    from triggerml.emulator.kernels.matmul import _conv_im2col
    from triggerml.fixed import FixedType, OverflowMode, QuantMode

    rng = np.random.default_rng(seed)
    EVENTS = 300  # more than two of the kernel's sub-batches, the last one partial
    one_d = seed % 2 == 1
    x_t = FixedType(int(rng.integers(6, 14)), int(rng.integers(1, 5)))
    w_t = FixedType(int(rng.integers(3, 8)), int(rng.integers(0, 2)))
    exact_dtype = np.float32
    if seed >= 6:  # sums past 2^24 (float64) and past 2^53 (int64)
        x_t, w_t = (
            (FixedType(20, 8), FixedType(12, 2))
            if seed < 8
            else (
                FixedType(30, 10),
                FixedType(26, 2),
            )
        )
        exact_dtype = np.float64 if seed < 8 else np.int64
    # products fit the accumulator exactly; its few extra integer bits make sums wrap
    accum_int = x_t.integer + w_t.integer + int(rng.integers(0, 4))
    accum_t = FixedType(accum_int + x_t.frac_bits + w_t.frac_bits, accum_int)
    result_t = FixedType(int(rng.integers(6, 16)), int(rng.integers(2, 6)))
    relu_t = FixedType(
        int(rng.integers(4, 9)), 3, False, QuantMode.AP_RND_CONV, OverflowMode.AP_SAT
    )
    h, w, c, f = (1, 18, 2, 3) if one_d else (10, 12, 2, 4)
    kh, kw = (1, 3) if one_d else (3, 2)
    sh, sw = (1, int(rng.integers(1, 3))) if one_d else (int(rng.integers(1, 3)), 1)
    pads = (0, 0, 1, 1) if one_d else (1, 1, 0, 1)
    out_h = (h + pads[0] + pads[1] - kh) // sh + 1
    out_w = (w + pads[2] + pads[3] - kw) // sw + 1
    layer = {
        "class": "Conv1D" if one_d else "Conv2D",
        "in_height": h,
        "in_width": w,
        "n_chan": c,
        "n_filt": f,
        "filt_height": kh,
        "filt_width": kw,
        "stride_height": sh,
        "stride_width": sw,
        "pad_top": pads[0],
        "pad_bottom": pads[1],
        "pad_left": pads[2],
        "pad_right": pads[3],
        "out_height": out_h,
        "out_width": out_w,
        "shape": [out_w, f] if one_d else [out_h, out_w, f],
    }
    pool_layer = {
        "class": "Pooling1D" if one_d else "Pooling2D",
        "pool_op": "Max",
        "in_height": out_h,
        "in_width": out_w,
        "n_filt": f,
        "pool_height": 1 if one_d else 2,
        "pool_width": 2,
        "stride_height": 1 if one_d else 2,
        "stride_width": 2,
        "out_height": out_h // (1 if one_d else 2),
        "out_width": out_w // 2,
    }
    pool_layer["shape"] = (
        [pool_layer["out_width"], f]
        if one_d
        else [pool_layer["out_height"], pool_layer["out_width"], f]
    )
    x = kernels.Tensor(
        rng.integers(x_t.min_mantissa, x_t.max_mantissa + 1, (EVENTS, h * w * c)), x_t
    )
    weight = rng.integers(w_t.min_mantissa, w_t.max_mantissa + 1, (kh * kw * c, f))
    bias = rng.integers(w_t.min_mantissa, w_t.max_mantissa + 1, f)
    affine = kernels.Affine(weight, w_t, bias, w_t, accum_t, result_t, relu_t)
    fast = kernels.fast_path(x_t, affine)
    assert fast is not None
    assert fast[1] is exact_dtype
    fused = kernels.conv(x, layer, affine, kernels.FusedPool(pool_layer, relu_t, None))
    g = kernels.ConvGeometry.of(layer)
    plain = _conv_im2col(
        x_t, x.mantissa.reshape(EVENTS, *g.in_hwc), g, dataclasses.replace(affine, relu_t=None)
    )
    plain = kernels.relu(
        kernels.Tensor(plain.mantissa.reshape(EVENTS, *layer["shape"]), plain.ftype), relu_t
    )
    pooled = kernels.pool(plain, pool_layer, relu_t, None)
    assert fused.ftype == pooled.ftype
    assert_array_equal(fused.mantissa, pooled.mantissa)
