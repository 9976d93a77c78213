"""The streaming chain (triggerml.trigger.chain): the pre-cut, and the inputs it builds equal
the training code's for multi-plane and two-input models."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from trigger_support import (
    REPO,
    chain_and_training_inputs,
    scenario_file,
)

from triggerml.compile.build import BuildConfig, build
from triggerml.trigger.scenario import load_study, resolve


def test_the_pre_cut_scores_only_clusters_above_it_and_leaves_their_scores_unchanged(
    firmware: Path, tmp_path: Path, monkeypatch_module: None
) -> None:
    """The firmware scores clusters passing the loose ADC-sum pre-cut; every other cluster
    gets −inf, and the scored ones keep exactly the scores of the chain without a pre-cut."""

    from triggerml.emulator import load_emulator
    from triggerml.trigger.tasks import Task, run_task

    resolved = resolve(load_study(scenario_file(tmp_path, firmware)))
    emulator = load_emulator(firmware)
    task = Task(0, 3, 6)
    full = run_task(resolved, task, emulator).candidates
    cut = 3000
    chain = dataclasses.replace(resolved.chain, precut_adc_sum=cut)
    pre = run_task(dataclasses.replace(resolved, chain=chain), task, emulator).candidates
    assert np.array_equal(
        full[["start", "channel_min", "adc_sum"]], pre[["start", "channel_min", "adc_sum"]]
    )
    above = pre["adc_sum"] >= cut
    assert 0 < above.sum() < above.size
    assert np.array_equal(pre["score"][above], full["score"][above])
    assert np.all(np.isneginf(pre["score"][~above]))
    assert np.all(np.isfinite(full["score"]))


def test_the_multi_plane_chain_scores_what_the_training_code_builds(tmp_path: Path) -> None:
    """The chain runs the U and V planes' TPG beside the collection plane's and matches each
    cluster with its buffered induction hits, in a task that starts mid-stream: its scores
    equal the firmware's on inputs built from the same slices by the code path the training
    set uses, cluster for cluster."""
    from triggerml.emulator import load_emulator
    from triggerml.tpg.roi import InputKind, RoiConfig
    from triggerml.trigger.chain import ChainConfig

    out = tmp_path / "uvx"
    build(REPO / "models" / "tpmlpuvx.h5", out, BuildConfig(csim=False))
    emulator = load_emulator(out)
    config = ChainConfig(roi=RoiConfig(kind=InputKind.TP_FEATURES_UVX), precut_adc_sum=3000)
    clusters, streamed_scores, (inputs,) = chain_and_training_inputs(emulator, config, 2, 6)
    passing = clusters["adc_sum"] >= config.precut_adc_sum
    assert passing.sum() > 10  # electrons above the pre-cut
    assert inputs.shape == (passing.sum(), 14)
    heights = inputs[:, -1]
    assert np.mean(heights >= 0) > 0.8  # the induction hits were found and matched
    expected = emulator.predict(inputs, logits=True)[:, -1]
    assert np.array_equal(streamed_scores[passing], expected)


def test_a_side_input_model_is_fed_both_inputs_by_the_chain(tmp_path: Path) -> None:
    """A model with a side input (collection TP features, then the multi-plane features
    joined after its first hidden layer): the chain builds both inputs for every cluster
    above the pre-cut and its scores equal the firmware's on the two inputs the training
    code path builds from the same slices."""
    from triggerml.emulator import load_emulator
    from triggerml.nn.zoo import ModelConfig, build_model
    from triggerml.tpg.roi import InputKind, RoiConfig
    from triggerml.trigger.chain import ChainConfig

    model_config = ModelConfig(
        name="side",
        input="tp_features",
        side_input="tp_features_uvx",
        merge_after=1,
        layers=(
            {"type": "dense", "units": 8, "bits": 8},
            {"type": "relu", "bits": 8, "integer": 4},
            {"type": "dense", "units": 1, "bits": 8},
        ),
    )
    model_config.validate()
    model = build_model(model_config, (8,), side_shape=(14,))
    assert [tuple(t.shape[1:]) for t in model.inputs] == [(8,), (14,)]
    rng = np.random.default_rng(8)
    for layer in model.layers:
        if layer.get_weights():
            layer.set_weights([rng.normal(0, 0.5, w.shape) for w in layer.get_weights()])
    model.save(tmp_path / "side.h5")
    out = tmp_path / "fw"
    manifest = build(tmp_path / "side.h5", out, BuildConfig(events=200))
    assert [p["shape"] for p in manifest["inputs"]] == [[8], [14]]
    assert manifest["csim"]["mismatches"] == 0
    assert manifest["csim"]["emulator_mismatches"] == 0
    emulator = load_emulator(out)
    main = RoiConfig(kind=InputKind.TP_FEATURES)
    side = RoiConfig(kind=InputKind.TP_FEATURES_UVX)
    config = ChainConfig(roi=main, side=side, precut_adc_sum=3000)
    with pytest.raises(ValueError, match="builder makes"):  # the side input missing
        chain_and_training_inputs(emulator, ChainConfig(roi=main), 0, 1)
    clusters, scores, inputs = chain_and_training_inputs(emulator, config, 0, 6)
    passing = clusters["adc_sum"] >= config.precut_adc_sum
    assert passing.sum() > 10
    expected = emulator.predict(inputs, logits=True)[:, -1]
    assert np.array_equal(scores[passing], expected)
    # the side input matters: the same clusters without it score differently
    blank = emulator.predict([inputs[0], np.zeros_like(inputs[1])], logits=True)[:, -1]
    assert np.any(blank != expected)
