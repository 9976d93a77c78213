"""`triggerml build` (triggerml.compile.build and its steps): the manifest, exact C simulation,
precisions from build.yaml, multi-input graphs, merges, upsampling, refusals and folders."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_cli

from triggerml.compile.build import BuildConfig, BuildWarning, build
from triggerml.compile.model_file import ModelFileError


def _files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tpmlp_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("builds") / "tpmlp"
    manifest = build(REPO / "models" / "tpmlp.h5", out, BuildConfig(events=300))
    return out, manifest


def test_manifest_fields_and_exact_csim(tpmlp_build: tuple[Path, dict]) -> None:
    out, manifest = tpmlp_build
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["schema_version"] == 1
    assert manifest["hls_project"] == "hls_project"
    assert (manifest["backend"], manifest["io_type"], manifest["strategy"]) == (
        "Vitis",
        "io_parallel",
        "Latency",
    )
    assert manifest["inputs"] == [
        {"name": "x", "shape": [8], "precision": "ap_fixed<12,7,AP_RND_CONV,AP_SAT>"}
    ]
    assert manifest["csim"]["events"] == 300
    assert manifest["csim"]["mismatches"] == 0
    assert 0 <= manifest["csim"]["max_abs_diff"] < 2e-3
    assert [s["name"] for s in manifest["steps"]] == [
        "load",
        "convert",
        "write",
        "csim",
        "export",
        "verify",
    ]
    assert manifest["csim"]["emulator_mismatches"] == 0
    assert all(s["verdict"] == "ok" for s in manifest["steps"])
    # the sigmoid's port holds its table's values (ap_fixed<18,8>: 10 fractional bits), not
    # the bit-exact flow's ap_ufixed<127,1>; the emulator above follows it exactly
    assert manifest["outputs"][0]["precision"] == "ap_ufixed<11,1,AP_TRN,AP_WRAP>"
    defines = (out / "hls_project" / "firmware" / "defines.h").read_text()
    assert "typedef ap_ufixed<11,1> result_t;" in defines
    assert manifest["warnings"] == []
    documented = (REPO / "docs" / "manifest.md").read_text()
    for key in manifest:
        assert f"`{key}`" in documented, key
    assert manifest["source"]["sha256"]
    assert set(manifest["versions"]) == {"triggerml", "hls4ml", "qkeras", "tensorflow", "numpy"}
    dense = [layer for layer in manifest["layers"] if layer["class"] == "Dense"]
    assert dense[0]["weight_t"].startswith("ap_fixed<8,1")
    assert dense[0]["multiplications"] == 8 * 16
    project = out / "hls_project"
    assert str(out.resolve()) in (project / "hls4ml_config.yml").read_text()
    assert ".partial" not in (project / "hls4ml_config.yml").read_text()
    lines = (project / "tb_data" / "tb_input_features.dat").read_text().splitlines()
    assert len(lines) == 300
    assert len(lines[0].split()) == 8


def test_two_builds_differ_only_in_the_manifest_times(
    tpmlp_build: tuple[Path, dict], tmp_path: Path
) -> None:
    out, first = tpmlp_build
    before = _files(out)
    second = build(REPO / "models" / "tpmlp.h5", out, BuildConfig(events=300))
    after = _files(out)
    assert {k for k in before if before[k] != after.get(k)} == {"manifest.json"}
    strip = ("created", "steps")
    assert {k: v for k, v in first.items() if k not in strip} == {
        k: v for k, v in second.items() if k not in strip
    }
    assert [s["name"] for s in first["steps"]] == [s["name"] for s in second["steps"]]


def test_io_stream_conv_model_is_exact(tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BuildWarning)
        manifest = build(
            REPO / "models" / "wave1d.h5",
            tmp_path / "wave1d",
            BuildConfig(io_type="io_stream", events=200),
        )
    assert not [str(w.message) for w in caught if w.category is BuildWarning]
    assert manifest["io_type"] == "io_stream"
    assert manifest["csim"]["mismatches"] == 0
    assert manifest["csim"]["emulator_mismatches"] == 0


def _save(model, path: Path) -> Path:  # type: ignore[no-untyped-def]
    model.save(path)
    return path


def test_float_model_builds_with_a_precision_warning(tmp_path: Path) -> None:
    import tf_keras

    inputs = tf_keras.Input((6,))
    x = tf_keras.layers.Dense(4, activation="relu")(inputs)
    model = tf_keras.Model(inputs, tf_keras.layers.Dense(2)(x))
    path = _save(model, tmp_path / "float.h5")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BuildWarning)
        manifest = build(path, tmp_path / "out", BuildConfig(events=50))
    messages = [str(w.message) for w in caught if w.category is BuildWarning]
    assert any("no QKeras quantizers" in m for m in messages)
    assert manifest["inputs"][0]["precision"].startswith("ap_fixed<16,6")
    assert {s["name"]: s["verdict"] for s in manifest["steps"]}["csim"] in ("ok", "warn")
    assert manifest["warnings"] == messages
    assert manifest["csim"]["emulator_mismatches"] == 0


def test_a_float_model_gets_the_precision_its_config_gives(tmp_path: Path) -> None:
    """build.yaml `Model: {Precision: fixed<12,4>}` on a float model: weights, biases,
    accumulators and results are ap_fixed<12,4> as hls4ml writes them from that config —
    not types inferred from the float weights — and the emulator stays exact."""
    import tf_keras

    inputs = tf_keras.Input((6,))
    x = tf_keras.layers.Dense(4, activation="relu")(inputs)
    model = tf_keras.Model(inputs, tf_keras.layers.Dense(2)(x))
    path = _save(model, tmp_path / "float.h5")
    config = BuildConfig(events=200, Model={"Precision": "fixed<12,4>"})
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always", BuildWarning)
        manifest = build(path, tmp_path / "out", config)
    dense = [layer for layer in manifest["layers"] if layer["class"] == "Dense"]
    assert len(dense) == 2
    for layer in dense:
        for key in ("weight_t", "bias_t", "accum_t", "result_t"):
            assert layer[key].startswith("ap_fixed<12,4,"), (layer["name"], key, layer[key])
        assert layer["types_from"] == "config default"
    assert manifest["csim"]["emulator_mismatches"] == 0
    defines = (tmp_path / "out" / "hls_project" / "firmware" / "defines.h").read_text()
    assert "ap_fixed<12,4>" in defines


def test_a_result_precision_in_build_yaml_is_the_firmware_type(tmp_path: Path) -> None:
    """LayerName.<layer>.Precision.result on a quantized model: the bit-exact flow's own
    type is replaced by the user's, the manifest says so, C-sim and emulator agree."""
    config = BuildConfig(
        events=200, LayerName={"score": {"Precision": {"result": "ap_ufixed<8,1>"}}}
    )
    manifest = build(REPO / "models" / "tpmlp.h5", tmp_path / "out", config)
    score = next(layer for layer in manifest["layers"] if layer["name"] == "score")
    assert score["result_t"].startswith("ap_ufixed<8,1,")
    assert score["types_from"] == "config: result; quantizers: the others"
    assert manifest["outputs"][0]["precision"].startswith("ap_ufixed<8,1,")
    assert manifest["csim"]["emulator_mismatches"] == 0
    assert manifest["csim"]["mismatches"] == 0  # the logits, before the table, are untouched


def test_weight_and_accum_precisions_in_build_yaml_are_the_firmware_types(tmp_path: Path) -> None:
    """LayerName.<layer>.Precision.accum/weight on a quantized model: the firmware uses them
    (defines.h and the manifest), the emulator follows them exactly, and the C-sim's
    difference from QKeras is a warning naming the setting, not a silent change."""
    config = BuildConfig(
        events=200,
        LayerName={
            "dense_0": {"Precision": {"accum": "ap_fixed<14,6>", "weight": "ap_fixed<6,1>"}}
        },
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BuildWarning)
        manifest = build(REPO / "models" / "tpmlp.h5", tmp_path / "out", config)
    dense = next(layer for layer in manifest["layers"] if layer["name"] == "dense_0")
    assert dense["accum_t"].startswith("ap_fixed<14,6,")
    assert dense["weight_t"].startswith("ap_fixed<6,1,")
    assert dense["types_from"] == "config: accum, weight; quantizers: the others"
    defines = (tmp_path / "out" / "hls_project" / "firmware" / "parameters.h").read_text()
    defines += (tmp_path / "out" / "hls_project" / "firmware" / "defines.h").read_text()
    assert "ap_fixed<14,6>" in defines
    assert "ap_fixed<6,1>" in defines
    assert manifest["csim"]["emulator_mismatches"] == 0
    assert manifest["csim"]["mismatches"] > 0
    messages = [str(w.message) for w in caught if w.category is BuildWarning]
    assert any("sets dense_0.accum, dense_0.weight" in m for m in messages)
    assert {s["name"]: s["verdict"] for s in manifest["steps"]}["csim"] == "warn"
    with pytest.raises(ValueError, match=r"dense_0 \(Dense\) has no scale type; it has result"):
        build(
            REPO / "models" / "tpmlp.h5",
            tmp_path / "bad",
            BuildConfig(LayerName={"dense_0": {"Precision": {"scale": "ap_fixed<8,2>"}}}),
        )


def test_wide_sigmoid_input_warns(tmp_path: Path) -> None:
    import tf_keras
    from qkeras import QActivation, QDense, quantized_bits

    inputs = tf_keras.Input((4,))
    x = QActivation(quantized_bits(10, 5, alpha=1))(inputs)
    x = QDense(
        1,
        kernel_quantizer=quantized_bits(8, 0, alpha=1),
        bias_quantizer=quantized_bits(8, 0, alpha=1),
    )(x)
    model = tf_keras.Model(inputs, tf_keras.layers.Activation("sigmoid")(x))
    # hls4ml sizes bit-exact accumulators from the weights: make the logits range wide
    model.layers[2].set_weights([np.full((4, 1), 0.96875), np.zeros(1)])
    path = _save(model, tmp_path / "wide.h5")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BuildWarning)
        build(path, tmp_path / "out", BuildConfig(csim=False))
    assert any("lookup table" in str(w.message) for w in caught if w.category is BuildWarning)


def test_a_wide_linear_output_keeps_its_type_with_a_warning(tmp_path: Path) -> None:
    """A last layer without a quantizer keeps its accumulator-derived type (exact), and a
    port wider than 32 bits is named in the manifest's warnings."""
    import tf_keras
    from qkeras import QActivation, QDense, quantized_bits

    inputs = tf_keras.Input((64,))
    x = QActivation(quantized_bits(24, 12, alpha=1))(inputs)
    x = QDense(
        1,
        kernel_quantizer=quantized_bits(24, 12, alpha=1),
        bias_quantizer=quantized_bits(24, 12, alpha=1),
    )(x)
    model = tf_keras.Model(inputs, x)
    model.layers[2].set_weights([np.full((64, 1), 1000.0 + 2**-11), np.zeros(1)])
    path = _save(model, tmp_path / "wide_linear.h5")
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always", BuildWarning)
        manifest = build(path, tmp_path / "out", BuildConfig(csim=False))
    port = manifest["outputs"][0]["precision"]
    width = int(port.split("<")[1].split(",")[0])
    assert width > 32
    assert any(f"output port {manifest['outputs'][0]['name']}" in w for w in manifest["warnings"])


def _two_input_two_output_model():  # type: ignore[no-untyped-def]
    """ROI-like and side inputs (no input quantizers), two branches merged, two heads: a
    sigmoid score from the merge and three linear outputs from one branch."""
    import tf_keras
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    def dense(units: int, name: str) -> QDense:
        q = quantized_bits(8, 1, alpha=1)
        return QDense(units, kernel_quantizer=q, bias_quantizer=q, name=name)

    roi, side = tf_keras.Input((8,), name="roi"), tf_keras.Input((4,), name="side")
    a = QActivation(quantized_relu(8, 4), name="relu_a")(dense(6, "dense_a")(roi))
    b = QActivation(quantized_relu(8, 4), name="relu_b")(dense(3, "dense_b")(side))
    merged = tf_keras.layers.Concatenate(name="merge")([a, b])
    score = tf_keras.layers.Activation("sigmoid", name="score")(dense(1, "logit")(merged))
    model = tf_keras.Model([roi, side], [score, dense(3, "aux")(a)])
    rng = np.random.default_rng(3)
    for layer in model.layers:
        if layer.get_weights():
            layer.set_weights([rng.normal(0, 0.6, w.shape) for w in layer.get_weights()])
    return model


def test_a_two_input_two_output_graph_builds_and_emulates_exactly(tmp_path: Path) -> None:
    from triggerml.emulator import EmulationError, load_emulator

    path = _save(_two_input_two_output_model(), tmp_path / "two.h5")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BuildWarning)
        manifest = build(path, tmp_path / "out", BuildConfig(events=300))
    messages = [str(w.message) for w in caught if w.category is BuildWarning]
    assert any("no input quantizer after the Input (roi, side)" in m for m in messages)
    assert [p["name"] for p in manifest["inputs"]] == ["roi", "side"]
    assert [p["shape"] for p in manifest["outputs"]] == [[1], [3]]
    assert manifest["csim"]["events"] == 300
    assert manifest["csim"]["output_table"] is True
    assert manifest["csim"]["mismatches"] == 0
    assert manifest["csim"]["emulator_mismatches"] == 0
    # the test bench gets both inputs on one line, in port order
    tb = np.loadtxt(tmp_path / "out" / "hls_project" / "tb_data" / "tb_input_features.dat")
    assert tb.shape == (300, 12)
    emulator = load_emulator(tmp_path / "out")
    assert emulator.input_names == ["roi", "side"]
    assert emulator.input_shapes == [(8,), (4,)]
    rng = np.random.default_rng(0)
    x = [rng.normal(0, 2, (50, 8)), rng.normal(0, 2, (50, 4))]
    score, aux = emulator.predict(x)
    logit, aux_again = emulator.predict(x, logits=True)
    assert score.shape == (50, 1)
    assert aux.shape == (50, 3)
    np.testing.assert_array_equal(aux, aux_again)  # a linear output has no table to skip
    assert np.all(np.diff(score[np.argsort(logit[:, 0]), 0]) >= 0)  # the table is monotone
    # the side input changes the score: the inputs are not mixed up
    swapped = emulator.predict([x[0], x[1][::-1]])[0]
    assert np.any(swapped != score)
    with pytest.raises(EmulationError, match=r"2 inputs \(roi, side\)"):
        emulator.predict(x[0])
    with pytest.raises(EmulationError, match="input 'side': input shape"):
        emulator.predict([x[0], x[0]])
    with pytest.raises(EmulationError, match="same events"):
        emulator.predict([x[0], x[1][:10]])
    by_name = emulator.predict({"side": x[1], "roi": x[0]})
    np.testing.assert_array_equal(by_name[0], score)
    # the command line: NAME=X.npy per input, one array per output in Y.npz
    np.save(tmp_path / "roi.npy", x[0])
    np.save(tmp_path / "side.npy", x[1])
    out = str(tmp_path / "out")
    roi, side = f"roi={tmp_path / 'roi.npy'}", f"side={tmp_path / 'side.npy'}"
    done = run_cli("emulate", out, "--input", roi, "--input", side, "--output", f"{out}/y.npz")
    assert done.returncode == 0, done.stderr
    with np.load(tmp_path / "out" / "y.npz") as y:
        np.testing.assert_array_equal(y["score"], score)
        np.testing.assert_array_equal(y["aux"], aux)
    missing = run_cli("emulate", out, "--input", roi, "--output", f"{out}/y.npz")
    assert missing.returncode != 0
    assert "no array for side" in missing.stderr
    assert "Traceback" not in missing.stderr
    verified = run_cli("verify", out, "--events", "100")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "out-of-range: 100 events, mismatching events per output [0, 0, 0, 0]" in verified.stdout


def test_every_merge_of_two_branches_builds_and_emulates_exactly(tmp_path: Path) -> None:
    """Add, Subtract, Multiply, Average, Maximum, Minimum and Concatenate on two quantized
    branches of one input (hls4ml's merge tests, in one graph), io_parallel and io_stream."""
    import tf_keras
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    q = quantized_bits(8, 2, alpha=1)
    inputs = tf_keras.Input((6,), name="x")
    x = QActivation(quantized_bits(10, 4, alpha=1), name="input_quant")(inputs)
    a = QActivation(quantized_relu(8, 3), name="ra")(
        QDense(4, kernel_quantizer=q, bias_quantizer=q, name="da")(x)
    )
    b = QDense(4, kernel_quantizer=q, bias_quantizer=q, name="db")(x)
    layers = tf_keras.layers
    merged = [
        merge(name=name)([a, b])
        for merge, name in (
            (layers.Add, "add"),
            (layers.Subtract, "sub"),
            (layers.Multiply, "mul"),
            (layers.Average, "avg"),
            (layers.Maximum, "max"),
            (layers.Minimum, "min"),
        )
    ]
    joined = merged[0]
    for k, other in enumerate(merged[1:]):
        joined = layers.Concatenate(name=f"cat{k}")([joined, other])
    out = QDense(2, kernel_quantizer=q, bias_quantizer=q, name="out")(joined)
    out = QActivation(quantized_bits(16, 8, alpha=1), name="out_quant")(out)
    model = tf_keras.Model(inputs, out)
    rng = np.random.default_rng(4)
    for layer in model.layers:
        if layer.get_weights():
            layer.set_weights([rng.normal(0, 0.7, w.shape) for w in layer.get_weights()])
    path = _save(model, tmp_path / "merges.h5")
    for io_type in ("io_parallel", "io_stream"):
        manifest = build(path, tmp_path / io_type, BuildConfig(events=300, io_type=io_type))
        assert manifest["csim"]["mismatches"] == 0, io_type
        assert manifest["csim"]["emulator_mismatches"] == 0, io_type
        assert manifest["emulation_graph"] is not None, io_type


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_upsampling_builds_and_emulates_exactly(tmp_path: Path, io_type: str) -> None:
    """UpSampling1D/2D (hls4ml's Resize, nearest; its bit-exact pass gains the rule): a
    common autoencoder layer, exact.  Activations stay narrow so that QKeras's float32
    arithmetic is exact too."""
    import tf_keras
    from qkeras import QActivation, QConv1D, QConv2D, QDense, quantized_bits, quantized_relu

    q = quantized_bits(6, 1, alpha=1)
    layers = tf_keras.layers

    def relu(name: str) -> QActivation:
        return QActivation(quantized_relu(6, 3), name=name)

    image = tf_keras.Input((3, 4, 2), name="image")
    x = QActivation(quantized_bits(8, 3, alpha=1), name="input_quant")(image)
    x = QConv2D(3, (3, 3), padding="same", kernel_quantizer=q, bias_quantizer=q, name="c1")(x)
    x = layers.UpSampling2D((2, 3), name="up2")(relu("r1")(x))
    x = relu("r2")(QConv2D(2, (3, 3), kernel_quantizer=q, bias_quantizer=q, name="c2")(x))
    two_d = tf_keras.Model(
        image, QDense(2, kernel_quantizer=q, bias_quantizer=q, name="d")(layers.Flatten()(x))
    )
    trace = tf_keras.Input((5, 2), name="trace")
    y = QActivation(quantized_bits(8, 3, alpha=1), name="input_quant")(trace)
    y = layers.UpSampling1D(3, name="up1")(y)
    y = relu("r")(QConv1D(2, 3, kernel_quantizer=q, bias_quantizer=q, name="c")(y))
    one_d = tf_keras.Model(
        trace, QDense(1, kernel_quantizer=q, bias_quantizer=q, name="d")(layers.Flatten()(y))
    )
    rng = np.random.default_rng(6)
    for name, model in (("two_d", two_d), ("one_d", one_d)):
        for layer in model.layers:
            if layer.get_weights():
                layer.set_weights([rng.normal(0, 0.7, w.shape) for w in layer.get_weights()])
        path = _save(model, tmp_path / f"{name}.h5")
        manifest = build(path, tmp_path / name, BuildConfig(events=200, io_type=io_type))
        assert "Resize" in [layer["class"] for layer in manifest["layers"]], name
        assert manifest["csim"]["mismatches"] == 0, name
        assert manifest["csim"]["emulator_mismatches"] == 0, name


def test_lambda_and_unsupported_layers_are_refused_before_loading(tmp_path: Path) -> None:
    import tf_keras

    inputs = tf_keras.Input((4,))
    lam = tf_keras.Model(inputs, tf_keras.layers.Lambda(lambda t: t * 2)(inputs))
    with pytest.raises(ModelFileError, match="Lambda layer"):
        build(_save(lam, tmp_path / "lam.h5"), tmp_path / "a")
    seq = tf_keras.Input((5, 3))
    lstm = tf_keras.Model(seq, tf_keras.layers.LSTM(2)(seq))
    with pytest.raises(ModelFileError, match=r"unsupported layer .*LSTM.*supported: InputLayer"):
        build(_save(lstm, tmp_path / "lstm.h5"), tmp_path / "b")
    assert not any(p.name in ("a", "b") for p in tmp_path.iterdir())
    assert not list(tmp_path.glob(".*.partial"))


@pytest.mark.parametrize("kind", ["missing", "corrupt", "not_a_model"])
def test_bad_files_are_one_line_errors_and_leave_nothing(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "model.h5"
    if kind == "corrupt":
        data = (REPO / "models" / "tpmlp.h5").read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif kind == "not_a_model":
        import h5py

        with h5py.File(path, "w") as handle:
            handle["x"] = np.arange(3)
    out = tmp_path / "out"
    result = run_cli("build", str(path), "--out", str(out), "--no-csim")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert not list(tmp_path.glob(".*.partial"))


def test_build_cli_with_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "build.yaml"
    config.write_text(
        "events: 64\nreuse_factor: 2\nstrategy: Resource\n"
        "LayerName:\n  dense_0:\n    ReuseFactor: 4\n"
    )
    out = tmp_path / "tpmlp"
    result = run_cli(
        "build",
        str(REPO / "models" / "tpmlp.h5"),
        "--out",
        str(out),
        "--config",
        str(config),
        "--events",
        "80",
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["csim"]["events"] == 80  # the flag overrides the file
    assert manifest["strategy"] == "Resource"
    assert manifest["reuse_factor"] == 2
    layers = {layer["name"]: layer for layer in manifest["layers"]}
    assert layers["dense_0"]["reuse_factor"] == 4
    assert "C simulation vs QKeras on 80 events: 0 logit mismatches" in result.stdout
    assert "after the output table" in result.stdout


def test_a_folder_with_a_user_file_is_refused_then_replaced_with_force(tmp_path: Path) -> None:
    """Issue #16.1: a build into a folder that is not a build used to delete its files."""
    out = tmp_path / "clone"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    (out / ".git").mkdir()
    result = run_cli("build", str(REPO / "models" / "tpmlp.h5"), "--out", str(out), "--no-csim")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "--force" in lines[0]
    assert "notes.txt" in lines[0]
    assert (out / "notes.txt").read_text() == "my notes"
    assert (out / ".git").is_dir()
    assert not list(tmp_path.glob(".*.partial"))
    forced = run_cli(
        "build", str(REPO / "models" / "tpmlp.h5"), "--out", str(out), "--no-csim", "--force"
    )
    assert forced.returncode == 0, forced.stderr
    assert "csim skipped" in forced.stdout  # issue #16.8: not "csim 0.0 s"
    # issue #16.9: TensorFlow's and absl's start-up lines go to OUT.log, not the terminal
    assert forced.stderr.strip() == "", forced.stderr
    assert (tmp_path / "clone.log").is_file()
    assert not (out / "notes.txt").exists()
    assert (out / "manifest.json").is_file()
    again = run_cli("build", str(REPO / "models" / "tpmlp.h5"), "--out", str(out), "--no-csim")
    assert again.returncode == 0, again.stderr  # an earlier build is ours: replaced


def test_an_empty_folder_is_built_into(tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    build(REPO / "models" / "tpmlp.h5", out, BuildConfig(csim=False))
    assert (out / "manifest.json").is_file()
