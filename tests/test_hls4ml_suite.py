"""The QKeras models of hls4ml 1.3's own test suite (test/pytest/test_qkeras.py) that hls4ml
converts with ``bit_exact``: built with a clean verdict and emulated bit for bit; the ones
triggerml does not build are refused with one line naming the layer or quantizer.

hls4ml's suite compares within a bit or a tolerance; here C-sim must equal QKeras exactly
and the emulator must equal the C-sim (slow: ≈20 builds with their C simulation)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from triggerml.compile.build import BuildConfig, BuildWarning, build
from triggerml.compile.model_file import ModelFileError

pytestmark = pytest.mark.slow


def _save(model: Any, path: Path) -> Path:
    model.save(path)
    return path


def _build_exact(model: Any, tmp_path: Path, io_type: str) -> dict:
    path = _save(model, tmp_path / "model.h5")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BuildWarning)
        manifest = build(path, tmp_path / io_type, BuildConfig(events=300, io_type=io_type))
    messages = [str(w.message) for w in caught if w.category is BuildWarning]
    # the suite's models have no input quantizer: the one inserted is the only warning
    assert all("no input quantizer" in m for m in messages), messages
    assert manifest["csim"]["mismatches"] == 0
    assert manifest["csim"]["emulator_mismatches"] == 0
    return manifest


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_single_dense_activation_exact(tmp_path: Path, io_type: str) -> None:
    import tf_keras
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    model = tf_keras.Sequential(
        [
            QDense(
                16,
                input_shape=(16,),
                name="fc1",
                kernel_quantizer=quantized_bits(4, 0, alpha=1),
                bias_quantizer=quantized_bits(4, 0, alpha=1),
                kernel_initializer="lecun_uniform",
            ),
            QActivation(activation=quantized_relu(4, 0), name="relu1"),
        ]
    )
    _build_exact(model, tmp_path, io_type)


QUANTIZERS = [
    "quantized_relu(4)",
    "quantized_relu(4, 2)",
    "quantized_relu(8)",
    "quantized_relu(8, 4)",
    "quantized_relu(10)",
    "quantized_relu(10, 5)",
]


@pytest.mark.parametrize("quantizer", QUANTIZERS)
def test_quantizer_exact(tmp_path: Path, quantizer: str) -> None:
    import tf_keras
    from qkeras import QActivation

    model = tf_keras.Sequential(
        [QActivation(input_shape=(1,), activation=quantizer, name="quantizer")]
    )
    _build_exact(model, tmp_path, "io_parallel")


@pytest.mark.parametrize("activation", ["quantized_relu(4, 0)", "quantized_relu(8, 0)"])
def test_qdense_activation_kwarg_exact(tmp_path: Path, activation: str) -> None:
    import tf_keras
    from qkeras import QDense

    inputs = tf_keras.Input(shape=(10,))
    outputs = QDense(
        10,
        activation=activation,
        name="qdense",
        kernel_quantizer="quantized_bits(4, 0, alpha=1)",
        bias_quantizer="quantized_bits(4, 0, alpha=1)",
        kernel_initializer="lecun_uniform",
    )(inputs)
    _build_exact(tf_keras.Model(inputs, outputs), tmp_path, "io_parallel")


@pytest.mark.parametrize(
    "quantizer",
    [
        "quantized_bits(8, 0)",
        "quantized_bits(8, 4)",
        "quantized_bits(4, 2)",
        "quantized_bits(4, 0)",
        "quantized_bits(10, 0)",
    ],
)
def test_a_model_that_only_quantizes_its_input_is_refused(tmp_path: Path, quantizer: str) -> None:
    """hls4ml's bit-exact flow folds a lone quantized_bits into the input port (and writes
    the port twice): there is no firmware to build, which the user is told in one line."""
    import tf_keras
    from qkeras import QActivation

    model = tf_keras.Sequential(
        [QActivation(input_shape=(1,), activation=quantizer, name="quantizer")]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BuildWarning)
        _refused(tmp_path, model, "only quantizes its input")


def _refused(tmp_path: Path, model: Any, fragment: str) -> None:
    with pytest.raises(ModelFileError, match=fragment) as error:
        build(_save(model, tmp_path / "refused.h5"), tmp_path / "out")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "out").exists()


def test_what_triggerml_does_not_build_is_refused_in_one_line(tmp_path: Path) -> None:
    import tf_keras
    from qkeras import QActivation, QDense, binary, quantized_bits, ternary
    from qkeras.qconv2d_batchnorm import QConv2DBatchnorm

    ternary_dense = tf_keras.Sequential(
        [
            QDense(10, input_shape=(10,), kernel_quantizer=ternary(alpha=1), name="dense"),
            QActivation(binary(), name="act"),
        ]
    )
    _refused(tmp_path, ternary_dense, r"layer 'dense' uses quantizer ternary; supported:")
    folded = tf_keras.Sequential(
        [
            QConv2DBatchnorm(
                4,
                kernel_size=(3, 3),
                input_shape=(8, 8, 1),
                kernel_quantizer=quantized_bits(8, 0, alpha=1),
                bias_quantizer=quantized_bits(8, 0, alpha=1),
                name="conv_bn",
            )
        ]
    )
    _refused(tmp_path, folded, r"unsupported layer 'conv_bn' \(QConv2DBatchnorm\)")
    po2 = tf_keras.Sequential(  # the suite's alpha='auto_po2' case
        [
            QDense(
                16,
                input_shape=(16,),
                kernel_quantizer=quantized_bits(4, 0, alpha="auto_po2"),
                bias_quantizer=quantized_bits(4, 0, alpha=1),
                name="fc1",
            )
        ]
    )
    _refused(tmp_path, po2, r"layer 'fc1': kernel_quantizer quantized_bits\(alpha='auto_po2'\)")
