"""Every emulated layer kind against hls4ml's C simulation, bit for bit: random models,
the zoo's tpmlp on adversarial inputs, softmax (every implementation, io_stream, per pixel,
legacy), quantized tanh, ELU (triggerml.emulator.layers and the kernels behind them)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
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
