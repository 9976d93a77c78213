"""The Keras-2 shim: hls4ml converts and compiles a QKeras model, exactly, and keras is restored."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from triggerml.compile.keras2 import hls4ml_sees_keras2, load_qkeras_model


def _tiny_qkeras_model():  # type: ignore[no-untyped-def]
    import tf_keras
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    tf_keras.utils.set_random_seed(3)
    inputs = tf_keras.Input((8,), name="x")
    x = QActivation(quantized_bits(10, 3, alpha=1), name="q_in")(inputs)
    x = QDense(
        6,
        kernel_quantizer=quantized_bits(6, 0, alpha=1),
        bias_quantizer=quantized_bits(6, 0, alpha=1),
        name="dense1",
    )(x)
    x = QActivation(quantized_relu(6, 2), name="relu1")(x)
    x = QDense(
        3,
        kernel_quantizer=quantized_bits(6, 0, alpha=1),
        bias_quantizer=quantized_bits(6, 0, alpha=1),
        name="dense2",
    )(x)
    return tf_keras.Model(inputs, x)


def test_keras_is_tf_keras_only_inside_the_shim() -> None:
    import tf_keras

    before = sys.modules.get("keras")
    with hls4ml_sees_keras2():
        import keras

        assert keras is tf_keras
        with hls4ml_sees_keras2():  # re-entrant
            assert sys.modules["keras"] is tf_keras
        assert sys.modules["keras"] is tf_keras
    assert sys.modules.get("keras") is before


def test_shim_restores_keras_after_an_error() -> None:
    before = sys.modules.get("keras")
    with pytest.raises(RuntimeError, match="boom"), hls4ml_sees_keras2():
        raise RuntimeError("boom")
    assert sys.modules.get("keras") is before


def test_qkeras_model_converts_compiles_and_matches_exactly(tmp_path: Path) -> None:
    model = _tiny_qkeras_model()
    path = tmp_path / "tiny.h5"
    model.save(path)
    model = load_qkeras_model(str(path))
    with hls4ml_sees_keras2() as hls4ml:
        config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
        hls_model = hls4ml.converters.convert_from_keras_model(
            model,
            hls_config=config,
            output_dir=str(tmp_path / "prj"),
            backend="Vitis",
            bit_exact=True,
        )
        hls_model.compile()
    rng = np.random.default_rng(11)
    x = np.concatenate([rng.uniform(-6, 6, (300, 8)), rng.uniform(-40, 40, (50, 8))])
    csim = hls_model.predict(x.astype(np.float64))
    qkeras_out = model.predict(x, verbose=0)
    assert_array_equal(
        np.asarray(csim, dtype=np.float64).reshape(qkeras_out.shape), qkeras_out.astype(np.float64)
    )
    assert np.unique(csim).size > 10  # not a constant output
