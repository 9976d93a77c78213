"""Quantization-aware training (triggerml.nn.train): deterministic, two-input models, the
background and hard-negative weights in the loss."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from numpy.testing import assert_array_equal

from triggerml.config import ConfigError
from triggerml.nn.zoo import ModelConfig, load_model_config


def test_training_is_deterministic(small_dataset: Path, tmp_path: Path) -> None:
    import json

    from triggerml.nn.train import train

    config = load_model_config(REPO / "models" / "tpmlp.yaml")
    config = dataclasses.replace(
        config, training=dataclasses.replace(config.training, epochs=6, float_epochs=2)
    )
    first = train(config, tmp_path / "a", small_dataset)
    second = train(config, tmp_path / "b", small_dataset)
    assert first["weights"]["sha256"] == second["weights"]["sha256"]
    assert first["metrics"] == second["metrics"]
    assert first["metrics"]["roc_auc"] > 0.9
    card = json.loads((tmp_path / "a" / "tpmlp.json").read_text())
    assert card["dataset"]["sha256"]
    assert (tmp_path / "a" / "tpmlp.md").read_text().startswith("# Model card: tpmlp")
    assert (tmp_path / "a" / "tpmlp_efficiency.png").read_bytes()[:4] == b"\x89PNG"


def test_a_side_input_model_trains_on_both_input_kinds(small_dataset: Path, tmp_path: Path) -> None:
    """A model with a side input trains on two input kinds of one training set, the card
    names both, and a side input the training set lacks is a one-line error."""
    import json

    from triggerml.compile.keras2 import load_qkeras_model
    from triggerml.nn.train import train

    config = ModelConfig(
        name="side",
        input="tp_features",
        side_input="tp_features_uvx",
        merge_after=1,
        layers=(
            {"type": "dense", "units": 8, "bits": 8},
            {"type": "relu", "bits": 8, "integer": 4},
            {"type": "dense", "units": 1, "bits": 8},
        ),
        training=dataclasses.replace(
            load_model_config(REPO / "models" / "tpmlp.yaml").training, epochs=1, float_epochs=1
        ),
    )
    card = train(config, tmp_path / "side", small_dataset)
    assert card["side_input"]["kind"] == "tp_features_uvx"
    assert card["side_input"]["shape"] == [14]
    assert "| side input | tp_features_uvx (14,)" in (tmp_path / "side" / "side.md").read_text()
    model = load_qkeras_model(str(tmp_path / "side" / "side.h5"))
    assert [tuple(t.shape[1:]) for t in model.inputs] == [(8,), (14,)]
    assert json.loads((tmp_path / "side" / "side.json").read_text())["multiplications"] == (
        8 * 8 + (8 + 14) * 1
    )
    with pytest.raises(ConfigError, match="merge_after"):
        dataclasses.replace(config, merge_after=2).validate()
    from triggerml.nn.dataset import load_dataset

    with pytest.raises(ValueError, match="no inputs of kind 'nope'"):
        load_dataset(small_dataset, "tp_features", "nope")


def test_background_weight_scales_the_background_part_of_the_loss(
    small_dataset: Path, tmp_path: Path
) -> None:
    """Backgrounds weighted ×30 in the loss: the first epoch's loss grows by between 1× (no
    effect) and 30× (backgrounds alone) — the weight reaches the fit."""
    import json

    from triggerml.nn.train import train

    config = load_model_config(REPO / "models" / "tpmlp.yaml")
    first_loss = {}
    for weight in (1.0, 30.0):
        weighted = dataclasses.replace(
            config,
            training=dataclasses.replace(
                config.training, epochs=1, float_epochs=1, background_weight=weight
            ),
        )
        train(weighted, tmp_path / str(weight), small_dataset)
        history = json.loads((tmp_path / str(weight) / "tpmlp_history.json").read_text())
        first_loss[weight] = history["loss"][0]
    assert 1.5 < first_loss[30.0] / first_loss[1.0] < 30.0


def test_hard_backgrounds_weigh_hard_weight_more_than_other_backgrounds() -> None:
    """Only backgrounds at or above hard_adc_sum gain the factor; signals keep theirs."""
    from triggerml.nn.dataset import META_DTYPE
    from triggerml.nn.train import sample_weights

    config = load_model_config(REPO / "models" / "tpmlphn.yaml")
    meta = np.zeros(4, META_DTYPE)
    meta["adc_sum"] = [9_999, 10_000, 50_000, 50_000]
    meta["weight"] = 1.0
    y = np.array([0, 0, 0, 1], np.float32)
    weights = sample_weights(y, meta, config, (0.5, 3.0))
    assert config.training.hard_adc_sum == 10_000
    assert config.training.hard_weight == 10.0
    assert_array_equal(weights, np.array([0.5, 5.0, 5.0, 3.0], np.float32))
    unweighted = dataclasses.replace(
        config, training=dataclasses.replace(config.training, hard_adc_sum=0)
    )
    assert_array_equal(sample_weights(y, meta, unweighted, (0.5, 3.0)), [0.5, 0.5, 0.5, 3.0])
    meta["weight"][2] = 0.01  # a boosted source's cluster: its importance weight on top
    assert_array_equal(sample_weights(y, meta, config, (0.5, 3.0)), np.float32([0.5, 5, 0.05, 3]))
