"""The emulator equals the hls4ml C simulation bit for bit; bad graphs and inputs are clear."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_cli
from numpy.testing import assert_array_equal

from triggerml.compile.build import BuildConfig, BuildWarning, build
from triggerml.emulator import EmulationError, load_emulator


def _random_model(kind: str, seed: int):  # type: ignore[no-untyped-def]
    """A small QKeras model with random precisions (seeded): the emulator must be general."""
    import tf_keras
    from qkeras import (
        QActivation,
        QConv1D,
        QConv2D,
        QDense,
        quantized_bits,
        quantized_relu,
    )

    rng = np.random.default_rng(seed)
    tf_keras.utils.set_random_seed(seed)

    def bits() -> quantized_bits:
        return quantized_bits(int(rng.integers(3, 9)), int(rng.integers(0, 2)), alpha=1)

    def relu() -> quantized_relu:
        width = int(rng.integers(4, 10))
        return quantized_relu(width, int(rng.integers(1, width - 1)))

    shape = {
        "dense": (12,),
        "conv1d": (20, 2),
        "conv2d": (8, 10, 2),
        "pooling": (8, 8, 3),
        "merge": (8, 8, 2),
    }[kind]
    inputs = tf_keras.Input(shape)
    width = int(rng.integers(8, 14))
    x = QActivation(quantized_bits(width, int(rng.integers(2, width - 3)), alpha=1))(inputs)
    if kind == "conv1d":
        x = QConv1D(4, 3, padding="same", kernel_quantizer=bits(), bias_quantizer=bits())(x)
        x = QActivation(relu())(x)
        x = tf_keras.layers.MaxPooling1D(2)(x)
        x = QConv1D(3, 3, strides=2, kernel_quantizer=bits(), bias_quantizer=bits())(x)
        x = tf_keras.layers.Flatten()(x)
    elif kind == "conv2d":
        x = QConv2D(3, (3, 3), padding="same", kernel_quantizer=bits(), bias_quantizer=bits())(x)
        x = QActivation(relu())(x)
        x = tf_keras.layers.MaxPooling2D((2, 2))(x)
        x = QConv2D(4, (2, 3), kernel_quantizer=bits(), bias_quantizer=bits())(x)
        x = tf_keras.layers.Flatten()(x)
    elif kind == "pooling":  # standalone batch norm, average and global pooling
        x = QConv2D(4, (3, 3), padding="same", kernel_quantizer=bits(), bias_quantizer=bits())(x)
        x = QActivation(relu())(x)
        x = tf_keras.layers.BatchNormalization()(x)
        x = tf_keras.layers.AveragePooling2D((2, 2))(x)
        x = QActivation(quantized_bits(10, 4, alpha=1))(x)
        branch = tf_keras.layers.GlobalAveragePooling2D()(x)
        x = branch
    elif kind == "merge":  # two branches: added (wide sum, one cast), then concatenated
        a = QConv2D(3, (3, 3), padding="same", kernel_quantizer=bits(), bias_quantizer=bits())(x)
        a = QActivation(relu())(a)
        b = QConv2D(3, (1, 1), kernel_quantizer=bits(), bias_quantizer=bits())(x)
        b = QActivation(quantized_bits(int(rng.integers(6, 10)), 2, alpha=1))(b)
        added = tf_keras.layers.Add()([a, b])
        x = tf_keras.layers.Concatenate()([added, a])
        x = tf_keras.layers.MaxPooling2D((2, 2))(x)
        x = tf_keras.layers.Flatten()(x)
    x = QDense(7, kernel_quantizer=bits(), bias_quantizer=bits())(x)
    x = QActivation(relu())(x)
    x = QDense(3, kernel_quantizer=bits(), bias_quantizer=bits())(x)
    x = QActivation(quantized_bits(10, 4, alpha=1))(x)
    outputs = tf_keras.layers.Activation("sigmoid")(x)
    return tf_keras.Model(inputs, outputs)


@pytest.mark.parametrize(
    ("kind", "seed", "io_type"),
    [
        ("dense", 1, "io_parallel"),
        ("conv1d", 2, "io_parallel"),
        ("conv2d", 3, "io_parallel"),
        ("conv2d", 4, "io_stream"),
        ("conv1d", 5, "io_stream"),
        ("pooling", 6, "io_parallel"),
        ("merge", 7, "io_parallel"),
        ("merge", 8, "io_stream"),
    ],
)
def test_random_models_match_csim_exactly(
    kind: str, seed: int, io_type: str, tmp_path: Path
) -> None:
    model = _random_model(kind, seed)
    path = tmp_path / "model.h5"
    model.save(path)
    manifest = build(path, tmp_path / "build", BuildConfig(events=600, seed=seed, io_type=io_type))
    assert manifest["csim"]["mismatches"] == 0
    assert manifest["csim"]["emulator_mismatches"] == 0
    assert manifest["emulation_graph"] == "emulation/graph.json"
    assert {s["name"]: s["verdict"] for s in manifest["steps"]}["verify"] == "ok"
    emulator = load_emulator(tmp_path / "build")
    shape = emulator.input_shape
    wrong = [(int(np.prod(shape)),), shape[::-1]] if len(shape) > 1 else [(*shape, 1)]
    for bad in wrong:  # issue #16.2: same element count, other shape
        if tuple(bad) != shape:
            with pytest.raises(EmulationError, match="does not match the model's"):
                emulator.predict(np.zeros((4, *bad)))


@pytest.fixture(scope="module")
def tpmlp_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("emu") / "tpmlp"
    build(REPO / "models" / "tpmlp.h5", out, BuildConfig(events=500))
    return out


def test_zoo_model_against_relinked_csim_on_adversarial_inputs(tpmlp_dir: Path) -> None:
    from triggerml.compile.relink import csim_predict, link_project

    emulator = load_emulator(tpmlp_dir)
    rng = np.random.default_rng(9)
    x = np.concatenate(
        [
            rng.normal(0, 3, (200, 8)),  # off the input grid
            emulator.input_type.cast(rng.normal(0, 20, (200, 8))),  # on the grid
            rng.normal(0, 1e4, (100, 8)),  # far out of range: saturation
            np.full((1, 8), 5e-324),
            np.full((1, 8), -0.0),
            np.zeros((1, 8)),  # subnormal, ±0
            np.full((1, 8), 1e300),
        ]
    )
    model = link_project(tpmlp_dir)
    assert_array_equal(emulator.predict(x), csim_predict(model, x))


def test_emulate_cli_round_trip(tpmlp_dir: Path, tmp_path: Path) -> None:
    x = np.random.default_rng(1).normal(0, 5, (300, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    result = run_cli(
        "emulate",
        str(tpmlp_dir),
        "--input",
        str(tmp_path / "x.npy"),
        "--output",
        str(tmp_path / "y.npy"),
    )
    assert result.returncode == 0, result.stderr
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (300, 1)
    assert_array_equal(y, load_emulator(tpmlp_dir).predict(x.astype(np.float64)))


def test_emulate_and_verify_refuse_inputs_of_another_shape(tpmlp_dir: Path, tmp_path: Path) -> None:
    """Issue #16.2: (N, 8, 1) holds as many values as tpmlp's (N, 8) but is not its shape."""
    np.save(tmp_path / "x.npy", np.zeros((5, 8, 1)))
    for args in (
        (
            "emulate",
            str(tpmlp_dir),
            "--input",
            str(tmp_path / "x.npy"),
            "--output",
            str(tmp_path / "y.npy"),
        ),
        ("verify", str(tpmlp_dir), "--events", "5", "--data", str(tmp_path / "x.npy")),
    ):
        result = run_cli(*args)
        assert result.returncode == 1, result.stdout
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "(8, 1) per event does not match the model's (8,)" in lines[0]
    assert not (tmp_path / "y.npy").exists()


def test_verify_cli_reports_zero_mismatches(tpmlp_dir: Path) -> None:
    result = run_cli("verify", str(tpmlp_dir), "--events", "200")
    assert result.returncode == 0, result.stderr
    assert "out-of-range: 200 events, mismatching events per output [0]" in result.stdout


def test_bad_graphs_and_inputs_are_one_line_errors(tpmlp_dir: Path, tmp_path: Path) -> None:
    emulator = load_emulator(tpmlp_dir)
    with pytest.raises(EmulationError, match=r"input shape \(9,\) per event does not match"):
        emulator.predict(np.zeros((3, 9)))
    with pytest.raises(EmulationError, match="NaN or inf"):
        emulator.predict(np.array([[np.nan] * 8]))
    with pytest.raises(EmulationError, match="events axis"):
        emulator.predict(np.zeros(8))
    copy = tmp_path / "copy"
    (copy / "emulation").mkdir(parents=True)
    with pytest.raises(EmulationError, match=r"graph\.json not found"):
        load_emulator(copy)
    graph = json.loads((tpmlp_dir / "emulation" / "graph.json").read_text())
    (copy / "emulation" / "weights.npz").write_bytes(
        (tpmlp_dir / "emulation" / "weights.npz").read_bytes() + b"edit"
    )
    (copy / "emulation" / "graph.json").write_text(json.dumps(graph))
    with pytest.raises(EmulationError, match="does not match"):
        load_emulator(copy)
    (copy / "emulation" / "weights.npz").write_bytes(
        (tpmlp_dir / "emulation" / "weights.npz").read_bytes()
    )
    graph["layers"][1]["class"] = "LSTM"
    (copy / "emulation" / "graph.json").write_text(json.dumps(graph))
    with pytest.raises(EmulationError, match="not emulated"):
        load_emulator(copy)
    graph["schema_version"] = 99
    (copy / "emulation" / "graph.json").write_text(json.dumps(graph))
    with pytest.raises(EmulationError, match="schema_version"):
        load_emulator(copy)
    result = run_cli("emulate", str(copy), "--input", "x.npy", "--output", "y.npy")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1


def test_emulator_needs_no_hls4ml_or_tensorflow(tpmlp_dir: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "sys.modules['hls4ml'] = None; sys.modules['tensorflow'] = None\n"
        "sys.modules['tf_keras'] = None\n"
        "from triggerml.emulator import load_emulator\n"
        f"e = load_emulator({str(tpmlp_dir)!r})\n"
        "print(e.predict(np.ones((2, 8))).shape)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(2, 1)"


def test_fast_casts_equal_the_reference() -> None:
    import itertools

    from triggerml.emulator.fastcast import mantissa_from_double, requantize_fast
    from triggerml.fixed import FixedType, OverflowMode, QuantMode, requantize

    rng = np.random.default_rng(0)
    for q, o in itertools.product(QuantMode, OverflowMode):
        for signed, (w, i, sat) in itertools.product(
            (True, False), [(8, 3, 0), (1, 1, 0), (12, -2, 0), (40, 25, 0), (16, 6, 2)]
        ):
            target = FixedType(w, i, signed, q, o, sat)
            m = rng.integers(-(2**40), 2**40, 2000)
            for frac in (-3, 0, 7, 30):
                assert_array_equal(requantize_fast(m, frac, target), requantize(m, frac, target))
            lsb = 2.0 ** (i - w)
            values = np.concatenate(
                [
                    rng.normal(0, 2.0 ** (i + 1), 2000),
                    (rng.integers(-(2**w), 2**w, 500) + 0.5) * lsb,  # ties
                    [0.0, -0.0, 5e-324, -5e-324, 2.2e-308, -1e-310, 1e300, -1e300],
                    [np.inf, -np.inf, 2.0**62, -(2.0**63), 2.0**80 + 2.0**30],
                ]
            )
            expected = target.mantissa(values)
            assert_array_equal(mantissa_from_double(values, target), expected)
            if len(str(q)) + len(str(o)) + w in (17, 22):  # 1 type in ~25 (a compile
                # each): the emulator's kernel, specialized per type
                assert_array_equal(mantissa_from_double(values, target, True), expected)


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
    fast = kernels.fast_path(x_t, weight, w_t, w_t, accum_t)
    assert fast is not None
    assert fast[1] is exact_dtype
    fused = kernels.conv(
        x,
        layer,
        weight,
        w_t,
        bias,
        w_t,
        accum_t,
        result_t,
        relu_t,
        kernels.FusedPool(pool_layer, relu_t, None),
    )
    g = kernels.ConvGeometry.of(layer)
    plain = kernels._conv_im2col(
        x_t,
        x.mantissa.reshape(EVENTS, *g.in_hwc),
        g,
        weight,
        w_t,
        bias,
        w_t,
        accum_t,
        result_t,
        None,
    )
    plain = kernels.relu(
        kernels.Tensor(plain.mantissa.reshape(EVENTS, *layer["shape"]), plain.ftype), relu_t
    )
    pooled = kernels.pool(plain, pool_layer, relu_t, None)
    assert fused.ftype == pooled.ftype
    assert_array_equal(fused.mantissa, pooled.mantissa)


def _softmax_model(seed: int):  # type: ignore[no-untyped-def]
    import tf_keras
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    tf_keras.utils.set_random_seed(seed)
    inputs = tf_keras.Input((10,))
    x = QActivation(quantized_bits(10, 3, alpha=1))(inputs)
    q = quantized_bits(6, 0, alpha=1)
    x = QDense(12, kernel_quantizer=q, bias_quantizer=q)(x)
    x = QActivation(quantized_relu(8, 3))(x)
    x = QDense(5, kernel_quantizer=q, bias_quantizer=q)(x)
    x = QActivation(quantized_bits(10, 4, alpha=1))(x)
    outputs = tf_keras.layers.Activation("softmax", name="probabilities")(x)
    return tf_keras.Model(inputs, outputs)


def _build_warning_of_a_wide_port(path: Path, out: Path, config: BuildConfig) -> dict:
    """Build a softmax model: hls4ml's bit-exact softmax port is ap_ufixed<36,16> for values
    in [0, 1], which the build names in a warning (and the manifest)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manifest = build(path, out, config)
    wide = [str(w.message) for w in caught if w.category is BuildWarning]
    assert any("output port" in m and "more than 32" in m for m in wide), wide
    assert any("output port" in m for m in manifest["warnings"])
    return manifest


@pytest.mark.parametrize("implementation", ["latency", "stable", "argmax"])
def test_softmax_implementations_match_csim_exactly(implementation: str, tmp_path: Path) -> None:
    path = tmp_path / "softmax.h5"
    _softmax_model(11).save(path)
    config = BuildConfig(
        events=600,
        seed=3,
        LayerName={"probabilities": {"Implementation": implementation}},
    )
    # hls4ml's bit-exact softmax port is ap_ufixed<36,16> for values in [0, 1]: named
    manifest = _build_warning_of_a_wide_port(path, tmp_path / "build", config)
    assert manifest["csim"]["mismatches"] == 0
    assert manifest["csim"]["emulator_mismatches"] == 0
    graph = json.loads((tmp_path / "build" / "emulation" / "graph.json").read_text())
    assert graph["layers"][-1]["implementation"] == implementation


def _pixel_softmax_model(seed: int):  # type: ignore[no-untyped-def]
    """A softmax over the channels of every pixel (softmax_multidim, n_inner = 1)."""
    import tf_keras
    from qkeras import QActivation, QConv2D, quantized_bits

    tf_keras.utils.set_random_seed(seed)
    inputs = tf_keras.Input((5, 4, 2))
    x = QActivation(quantized_bits(10, 3, alpha=1))(inputs)
    q = quantized_bits(6, 0, alpha=1)
    x = QConv2D(4, (3, 3), padding="same", kernel_quantizer=q, bias_quantizer=q)(x)
    x = QActivation(quantized_bits(10, 4, alpha=1))(x)
    outputs = tf_keras.layers.Activation("softmax", name="probabilities")(x)
    return tf_keras.Model(inputs, outputs)


@pytest.mark.parametrize(
    ("io_type", "kind", "implementation"),
    [
        ("io_stream", "vector", "latency"),
        ("io_stream", "vector", "argmax"),
        ("io_parallel", "pixels", "stable"),
        ("io_stream", "pixels", "latency"),
    ],
)
def test_softmax_in_io_stream_and_per_pixel_matches_csim_exactly(
    io_type: str, kind: str, implementation: str, tmp_path: Path
) -> None:
    path = tmp_path / "softmax.h5"
    (_softmax_model(13) if kind == "vector" else _pixel_softmax_model(14)).save(path)
    config = BuildConfig(
        events=500,
        seed=4,
        io_type=io_type,
        LayerName={"probabilities": {"Implementation": implementation}},
    )
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        manifest = build(path, tmp_path / "build", config)
    assert manifest["csim"]["mismatches"] == 0
    assert manifest["csim"]["emulator_mismatches"] == 0
    graph = json.loads((tmp_path / "build" / "emulation" / "graph.json").read_text())
    # hls4ml normalizes all 5·4·4 values at once in io_parallel (and build warns)
    assert graph["layers"][-1]["n_slice"] == (5 if kind == "vector" else 80)
    warned = any("normalizes over all 80" in w for w in manifest["warnings"])
    assert warned == (kind == "pixels" and io_type == "io_parallel")


@pytest.mark.parametrize("implementation", ["latency", "legacy"])
def test_softmax_over_an_inner_axis_is_refused_by_name(implementation: str) -> None:
    from triggerml.emulator.kernels import SoftmaxTables
    from triggerml.fixed import parse_type

    layer = {"implementation": implementation, "n_inner": 3, "n_slice": 4, "shape": [4, 3]}
    with pytest.raises(ValueError, match="axis other than the last"):
        SoftmaxTables.build(layer, parse_type("ap_fixed<10,4>"), "io_parallel")


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_legacy_softmax_matches_csim_exactly(io_type: str, tmp_path: Path) -> None:
    """softmax_legacy: pairwise-difference exp table and 1/x table in activ_config's
    table_t; io_stream sizes both by table_size."""
    path = tmp_path / "softmax.h5"
    _softmax_model(12).save(path)
    config = BuildConfig(
        events=600,
        io_type=io_type,
        LayerName={"probabilities": {"Implementation": "legacy"}},
    )
    manifest = _build_warning_of_a_wide_port(path, tmp_path / "build", config)
    assert manifest["csim"]["mismatches"] == 0
    assert manifest["csim"]["emulator_mismatches"] == 0
    layer = json.loads((tmp_path / "build" / "emulation" / "graph.json").read_text())["layers"][-1]
    assert (layer["implementation"], layer["table_t"]) == (
        "legacy",
        "ap_fixed<18,8,AP_TRN,AP_WRAP>",
    )


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_quantized_tanh_matches_csim_exactly(io_type: str, tmp_path: Path) -> None:
    """QKeras quantized_tanh becomes hls4ml's hard_tanh (slope 0.5, shift 0.5)."""
    import tf_keras
    from qkeras import QActivation, QDense, quantized_bits, quantized_tanh

    tf_keras.utils.set_random_seed(5)
    inputs = tf_keras.Input((9,))
    x = QActivation(quantized_bits(10, 3, alpha=1))(inputs)
    q = quantized_bits(6, 0, alpha=1)
    x = QDense(8, kernel_quantizer=q, bias_quantizer=q)(x)
    x = QActivation(quantized_tanh(8, 1))(x)
    x = QDense(4, kernel_quantizer=q, bias_quantizer=q)(x)
    outputs = QActivation(quantized_tanh(6, 0))(x)
    path = tmp_path / "tanh.h5"
    tf_keras.Model(inputs, outputs).save(path)
    manifest = build(path, tmp_path / "build", BuildConfig(events=600, io_type=io_type))
    assert manifest["csim"]["mismatches"] == 0
    assert manifest["csim"]["emulator_mismatches"] == 0
    classes = {
        layer["activation"]
        for layer in json.loads((tmp_path / "build" / "emulation" / "graph.json").read_text())[
            "layers"
        ]
        if layer["class"] == "Activation"
    }
    assert "hard_tanh" in classes


def test_a_build_without_an_emulator_says_why(tmp_path: Path) -> None:
    """Issue #16.5: emulate on a build that has no emulation graph names the build's reason."""
    reason = "no emulator for this model: fixed-point width 65 is outside 1..62"
    (tmp_path / "manifest.json").write_text(
        json.dumps({"schema_version": 1, "hls_project": "hls_project", "warnings": [reason]})
    )
    with pytest.raises(EmulationError, match=r"built without an emulator .*width 65"):
        load_emulator(tmp_path)
    with pytest.raises(EmulationError, match="is not a build"):
        load_emulator(tmp_path / "elsewhere")


def test_emulate_input_and_output_errors_name_the_option(tpmlp_dir: Path, tmp_path: Path) -> None:
    """Issue #16.7: a text file named .npy, a missing output folder."""
    text = tmp_path / "x.npy"
    text.write_text("1,2,3\n")
    result = run_cli(
        "emulate", str(tpmlp_dir), "--input", str(text), "--output", str(tmp_path / "y.npy")
    )
    assert result.returncode == 2, result.stderr
    assert "--input" in result.stderr
    assert "not a .npy array" in result.stderr
    assert "pickle" not in result.stderr
    np.save(tmp_path / "good.npy", np.zeros((2, 8)))
    missing = tmp_path / "missing" / "dir" / "y.npy"
    result = run_cli(
        "emulate", str(tpmlp_dir), "--input", str(tmp_path / "good.npy"), "--output", str(missing)
    )
    assert result.returncode == 2, result.stderr
    assert "does not exist" in result.stderr
    assert not (tmp_path / "missing").exists()


def _probe(cache: Path, type_string: str) -> dict[str, int]:
    import json
    import os
    import subprocess
    import sys

    script = """
import json, sys
import numpy as np
from triggerml.emulator import fastcast
from triggerml.emulator.fastcast import _O, _Q
from triggerml.fixed import parse_type

t = parse_type(sys.argv[1])
x = np.concatenate([np.linspace(-70, 70, 2001), [0.0, -0.0, 1e-9, -1e9, 1e9]])
got = fastcast.mantissa_from_double(x, t, specialized=True)
assert np.array_equal(got, t.mantissa(x)), "specialized cast differs from the reference"
kernel = fastcast._from_doubles_for(
    t.frac_bits, t.width, t.signed, _Q[t.quant], _O[t.overflow], t.sat_bits,
    t.min_mantissa, t.max_mantissa,
)
print(json.dumps({"hits": sum(kernel.stats.cache_hits.values()),
                  "misses": sum(kernel.stats.cache_misses.values())}))
"""
    env = {**os.environ, "TRIGGERML_KERNEL_CACHE": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", script, type_string],
        check=False,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_kernel_cache_is_reused_across_processes_and_keyed_by_every_constant(
    tmp_path: Path,
) -> None:
    """A second process loads the compiled kernel from disk; a kernel for another type is a
    new file, compiled afresh, and still equals the reference cast (never a stale kernel)."""
    cache = tmp_path / "kernels"
    first = "ap_fixed<12,7,AP_RND_CONV,AP_SAT>"
    assert _probe(cache, first) == {"hits": 0, "misses": 1}
    sources = sorted(cache.glob("k_*.py"))
    assert len(sources) == 1
    assert _probe(cache, first) == {"hits": 1, "misses": 0}
    other = "ap_fixed<12,6,AP_TRN,AP_WRAP>"  # one integer bit fewer, other modes
    assert _probe(cache, other) == {"hits": 0, "misses": 1}
    assert len(sorted(cache.glob("k_*.py"))) == 2
    assert sources[0].read_text().count("kernel") >= 1


def test_kernel_cache_falls_back_to_a_private_folder_when_unwritable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triggerml.emulator import kernel_cache

    blocked = tmp_path / "a_file"  # a file where the folder should go: even root cannot
    blocked.write_text("")
    monkeypatch.setenv(kernel_cache.CACHE_ENV, str(blocked / "kernels"))
    folder = kernel_cache.cache_dir()
    assert folder != blocked / "kernels"
    assert folder.is_dir()
    path = kernel_cache.source_path("VALUE = 1\n")
    assert path.parent == folder
    assert kernel_cache.load("VALUE = 1\n", "VALUE") == 1


@pytest.mark.parametrize(("alpha", "quantized"), [(1.0, False), (0.3, True)])
def test_elu_matches_csim_exactly(alpha: float, quantized: bool, tmp_path: Path) -> None:
    """nnet::elu (hls4ml's table ELU): a float model on the config's ap_fixed<16,6> and a
    quantized one with alpha 0.3 (a C++ literal cast to param_t): the emulator equals the
    C simulation on inputs reaching deep into the negative table and past its end (−8)."""
    import tf_keras
    from qkeras import QActivation, QDense, quantized_bits

    tf_keras.utils.set_random_seed(5)
    inputs = tf_keras.Input((6,))
    if quantized:
        x = QActivation(quantized_bits(12, 5, alpha=1))(inputs)
        q = quantized_bits(8, 2, alpha=1)
        x = QDense(16, kernel_quantizer=q, bias_quantizer=q)(x)
        x = QActivation(quantized_bits(12, 5, alpha=1))(x)
    else:
        x = tf_keras.layers.Dense(16, kernel_initializer=tf_keras.initializers.RandomNormal(0, 2))(
            inputs
        )
    outputs = tf_keras.layers.ELU(alpha=alpha, name="elu_out")(x)
    path = tmp_path / "elu.h5"
    tf_keras.Model(inputs, outputs).save(path)
    # a quantized model's bit-exact ELU port would be 132 bits: its result type given
    result = {"elu_out": {"Precision": {"result": "ap_fixed<16,6>"}}} if quantized else {}
    with warnings.catch_warnings(record=True):  # float model: not bit-exact with Keras
        warnings.simplefilter("always")
        manifest = build(
            path, tmp_path / "build", BuildConfig(events=1500, seed=2, LayerName=result)
        )
    graph = json.loads((tmp_path / "build" / "emulation" / "graph.json").read_text())
    assert graph["layers"][-1]["activation"] == "elu"
    assert graph["layers"][-1]["alpha"] == pytest.approx(alpha)  # Keras keeps it as float32
    assert manifest["csim"]["emulator_mismatches"] == 0
    emulator = load_emulator(tmp_path / "build")
    y = emulator.predict(np.random.default_rng(1).normal(0, 3, (500, 6)))
    assert (y < -0.5 * alpha).any()  # the negative branch is exercised
