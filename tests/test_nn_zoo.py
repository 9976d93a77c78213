"""Zoo models (triggerml.nn.zoo): small, an input quantizer first, hls4ml's C simulation
equals QKeras up to the logits, bad model YAML named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_cli
from numpy.testing import assert_array_equal

from triggerml.compile.build import BuildConfig, build
from triggerml.config import ConfigError, from_mapping
from triggerml.fixed import parse_type
from triggerml.nn.zoo import ModelConfig, build_model, count_multiplications, load_model_config

ZOO = {
    "tpmlp": (8,),
    "tpmlphn": (8,),
    "tpmlpuvx": (14,),
    "tpmlpuvxb": (14,),
    "wave1d": (128, 1),
    "roi2d": (16, 32, 1),
    "roi32": (32, 32, 1),
}


# roi32's C simulation takes ≈4 min to compile: `make demo` builds and verifies it every time
SLOW_CSIM = {"roi32"}


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_models_are_small_and_start_with_an_input_quantizer(name: str) -> None:
    from triggerml.compile.keras2 import load_qkeras_model

    config = load_model_config(REPO / "models" / f"{name}.yaml")
    model = load_qkeras_model(str(REPO / "models" / f"{name}.h5"))
    assert model.layers[1].name == "input_quant"
    assert model.count_params() <= 50_000
    assert count_multiplications(model) <= 2_000_000
    assert tuple(model.input_shape[1:]) == ZOO[name]
    assert build_model(config, ZOO[name]).count_params() == model.count_params()
    card = (REPO / "models" / f"{name}.json").read_text()
    assert '"roc_auc"' in card


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_CSIM else n for n in sorted(ZOO)],
)
def test_csim_equals_qkeras_up_to_the_logits(name: str, tmp_path: Path) -> None:
    """The zoo model built as users build it: C-sim = QKeras on the logits and emulator =
    C-sim (the build's verdicts); then the emulator's logits — the C-sim's, bit for bit —
    equal QKeras's off the input grid and beyond its range (saturating) too."""
    import tf_keras

    from triggerml.compile.keras2 import load_qkeras_model
    from triggerml.emulator import load_emulator

    config = load_model_config(REPO / "models" / f"{name}.yaml")
    model = load_qkeras_model(str(REPO / "models" / f"{name}.h5"))
    manifest = build(REPO / "models" / f"{name}.h5", tmp_path / "fw", BuildConfig(events=200))
    assert manifest["csim"]["mismatches"] == 0
    assert manifest["csim"]["emulator_mismatches"] == 0
    assert manifest["csim"]["output_table"] is True
    grid = parse_type(config.input_quantizer.fixed_type)
    rng = np.random.default_rng(3)
    x = np.concatenate(
        [rng.normal(0, 4, (150, *ZOO[name])), rng.normal(0, 80, (50, *ZOO[name]))]
    )  # beyond ±64: saturates
    x = np.where(rng.random(x.shape) < 0.5, grid.cast(x), x)  # on and off the grid
    keras_logits = (
        tf_keras.Model(model.input, model.get_layer("logits").output)
        .predict(x, verbose=0)
        .reshape(len(x), -1)
        .astype(np.float64)
    )
    emulator = load_emulator(tmp_path / "fw")
    assert_array_equal(emulator.predict(x, logits=True), keras_logits)
    assert np.unique(keras_logits).size > 20
    # only the sigmoid table may differ, by its resolution
    assert np.abs(emulator.predict(x) - model.predict(x, verbose=0)).max() < 2e-3


@pytest.mark.parametrize(
    ("layers", "fragment"),
    [
        ([{"type": "lstm", "units": 4}], "unsupported layer type 'lstm'; supported: conv1d"),
        ([{"type": "dense", "units": 4, "bitz": 4}], "layers[0].bitz"),
        ([{"type": "dense", "units": 4, "bits": 40}], "layers[0].bits"),
        ([{"type": "relu", "bits": 4, "integer": 6}], "layers[0].integer"),
        ([{"units": 4}], "'type'"),
    ],
)
def test_bad_model_yaml_names_the_problem(layers: list, fragment: str) -> None:
    config = from_mapping(ModelConfig, {"name": "bad", "input": "tp_features", "layers": layers})
    with pytest.raises(ConfigError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        config.layer_specs()


def test_bad_model_yaml_on_the_cli_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\ninput: tp_features\nlayers:\n  - {type: gru, units: 3}\n")
    result = run_cli("train", str(path), "--data", str(tmp_path / "none.h5"))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "unsupported layer type 'gru'" in result.stderr
    path.write_text(
        "name: bad\ninput: tp_features\ninput_quantizer: {bits: 40}\n"
        "layers:\n  - {type: dense, units: 1}\n"
    )
    result = run_cli("train", str(path), "--data", str(tmp_path / "none.h5"))
    assert result.returncode == 1
    assert "input_quantizer.bits" in result.stderr
