"""ONNX out and in: QKeras → QONNX (exact in qonnx's executor), QCDQ for onnxruntime, and
QONNX → hls4ml firmware equal to the QKeras build's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_cli
from numpy.testing import assert_array_equal

from triggerml.compile.build import BuildConfig, build
from triggerml.compile.keras2 import load_qkeras_model
from triggerml.compile.model_file import ModelFileError
from triggerml.compile.onnx_export import OnnxExportError, execute, export_qonnx, to_qcdq
from triggerml.emulator import load_emulator


def _logits_model(name: str):  # type: ignore[no-untyped-def]
    import tf_keras

    model = load_qkeras_model(str(REPO / "models" / f"{name}.h5"))
    return tf_keras.Model(model.input, model.get_layer("logits").output, name=name)


def _events(shape: tuple[int, ...], n: int = 300, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 8, (n, *shape)).astype(np.float32)
    x[: n // 6] *= 40  # far out of range: the input quantizer saturates
    x[n // 6 : n // 3] += 0.0123  # off the input grid
    return x


@pytest.mark.parametrize("name", ["tpmlp", "wave1d", "roi2d"])
def test_qonnx_export_reproduces_qkeras_logits_exactly(name: str) -> None:
    model = _logits_model(name)
    graph = export_qonnx(model)
    assert any(n.op_type == "Quant" for n in graph.graph.node)
    x = _events(tuple(model.input_shape[1:]))
    expected = model.predict(x, verbose=0).astype(np.float64)
    assert_array_equal(execute(graph, x), expected)


def _small_8bit_model():  # type: ignore[no-untyped-def]
    import tf_keras
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    tf_keras.utils.set_random_seed(3)
    inputs = tf_keras.Input((6,))
    x = QActivation(quantized_bits(8, 3, alpha=1))(inputs)
    q = quantized_bits(6, 0, alpha=1)
    x = QDense(5, kernel_quantizer=q, bias_quantizer=q)(x)
    x = QActivation(quantized_relu(6, 2))(x)
    x = QDense(2, kernel_quantizer=q, bias_quantizer=q)(x)
    outputs = QActivation(quantized_bits(8, 3, alpha=1))(x)
    return tf_keras.Model(inputs, outputs)


def test_qcdq_runs_in_onnxruntime_and_matches_qkeras() -> None:
    import onnxruntime

    model = _small_8bit_model()
    graph = to_qcdq(export_qonnx(model))
    ops = {n.op_type for n in graph.graph.node}
    assert "Quant" not in ops
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    session = onnxruntime.InferenceSession(graph.SerializeToString())
    x = _events((6,), n=400)
    got = session.run(None, {"x": x})[0].astype(np.float64)
    assert_array_equal(got, model.predict(x, verbose=0).astype(np.float64))


def test_qcdq_refuses_wide_quantizers_by_name() -> None:
    with pytest.raises(OnnxExportError, match="12 bits"):
        to_qcdq(export_qonnx(_logits_model("tpmlp")))


def test_unexportable_quantizer_is_named() -> None:
    import tf_keras
    from qkeras import QActivation, QDense, quantized_bits

    inputs = tf_keras.Input((4,))
    x = QActivation(quantized_bits(8, 3, alpha=1))(inputs)
    auto = quantized_bits(6, 0, alpha="auto")
    outputs = QDense(2, kernel_quantizer=auto, bias_quantizer=auto, name="scaled")(x)
    with pytest.raises(OnnxExportError, match=r"scaled.*alpha"):
        export_qonnx(tf_keras.Model(inputs, outputs))


def test_onnx_build_equals_the_qkeras_build(tmp_path: Path) -> None:
    """Round trip: QKeras → QONNX → firmware gives the C simulation of QKeras → firmware."""
    onnx_path = tmp_path / "tpmlp.onnx"
    done = run_cli("export-onnx", str(REPO / "models" / "tpmlp.h5"), "--out", str(onnx_path))
    assert done.returncode == 0, done.stderr
    from_onnx = build(onnx_path, tmp_path / "onnx", BuildConfig(events=300))
    from_keras = build(REPO / "models" / "tpmlp.h5", tmp_path / "keras", BuildConfig(events=300))
    for manifest in (from_onnx, from_keras):
        assert manifest["csim"]["mismatches"] == 0
        assert manifest["csim"]["emulator_mismatches"] == 0
    assert from_onnx["inputs"][0]["precision"] == from_keras["inputs"][0]["precision"]
    x = _events((8,), n=2000, seed=4).astype(np.float64)
    a = load_emulator(tmp_path / "onnx").predict(x)  # each equal to its C simulation
    b = load_emulator(tmp_path / "keras").predict(x)
    assert_array_equal(a, b)


def test_bad_onnx_files_are_one_line_errors(tmp_path: Path) -> None:
    from onnx import TensorProto, helper, save

    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"not a protobuf at all")
    with pytest.raises(ModelFileError, match="not a readable ONNX"):
        build(corrupt, tmp_path / "a")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])
    for op, message in (("Tanh", "unsupported ONNX operators Tanh"), ("Relu", "no QONNX Quant")):
        graph = helper.make_graph([helper.make_node(op, ["x"], ["y"])], "g", [x], [y])
        path = tmp_path / f"{op}.onnx"
        save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
        with pytest.raises(ModelFileError, match=message):
            build(path, tmp_path / op)
        assert not (tmp_path / op).exists()
    result = run_cli("build", str(tmp_path / "Tanh.onnx"), "--out", str(tmp_path / "cli"))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0


def test_one_dimensional_pooling_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "wave1d.onnx"
    export_qonnx(_logits_model("wave1d"), path)
    with pytest.raises(ModelFileError, match="1D pooling"):
        build(path, tmp_path / "out")


@pytest.mark.slow
def test_roi2d_onnx_build_equals_the_qkeras_build(tmp_path: Path) -> None:
    onnx_path = tmp_path / "roi2d.onnx"
    export_qonnx(load_qkeras_model(str(REPO / "models" / "roi2d.h5")), onnx_path)
    from_onnx = build(onnx_path, tmp_path / "onnx", BuildConfig(events=300))
    from_keras = build(REPO / "models" / "roi2d.h5", tmp_path / "keras", BuildConfig(events=300))
    for manifest in (from_onnx, from_keras):
        assert manifest["csim"]["mismatches"] == 0
        assert manifest["csim"]["emulator_mismatches"] == 0
    x = _events((16, 32, 1), n=2000, seed=5).astype(np.float64)
    assert_array_equal(
        load_emulator(tmp_path / "onnx").predict(x), load_emulator(tmp_path / "keras").predict(x)
    )
