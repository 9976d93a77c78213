"""Zoo models: configs, hls4ml exactness up to the logits, dataset and QAT reproducibility."""

from __future__ import annotations

import dataclasses
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


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from triggerml.nn.dataset import build_dataset, load_config

    config = load_config(REPO / "models" / "dataset.yaml")
    config = dataclasses.replace(
        config,
        detector=dataclasses.replace(config.detector, seconds=0.06),
        background_prescale=0.5,
        induction_planes=True,
    )
    path = tmp_path_factory.mktemp("data") / "small.h5"
    counts = build_dataset(config, path)
    assert counts["signal"] > 50
    return path


def test_dataset_inputs_are_on_the_model_grid(small_dataset: Path) -> None:
    from triggerml.nn.dataset import SIGNAL, load_dataset

    kinds = (
        ("roi2d", (16, 32, 1)),
        ("waveform", (128, 1)),
        ("tp_features", (8,)),
        ("tp_features_uvx", (14,)),
    )
    for kind, shape in kinds:
        data = load_dataset(small_dataset, kind)
        assert data.x.shape[1:] == shape
        grid = parse_type(data.input_type)
        assert_array_equal(grid.cast(data.x.astype(np.float64)), data.x)
        signal = data.meta["label"] == SIGNAL
        assert np.all(data.meta["true_energy_mev"][signal] > 0)
        assert set(np.unique(data.split)) <= {0, 1, 2}


def test_multi_plane_inputs_extend_the_collection_features_with_heights(
    small_dataset: Path,
) -> None:
    """tp_features_uvx = tp_features + the induction features: signal electrons, uniform in
    the volume, get heights spread over the APA; the collection part is unchanged."""
    from triggerml.nn.dataset import SIGNAL, load_dataset
    from triggerml.tpg.planes import INDUCTION_FEATURES

    plain = load_dataset(small_dataset, "tp_features")
    uvx = load_dataset(small_dataset, "tp_features_uvx")
    assert_array_equal(uvx.x[:, :8], plain.x)
    height = uvx.x[:, 8 + INDUCTION_FEATURES.index("height_m")]
    signal = height[(uvx.meta["label"] == SIGNAL) & (uvx.meta["adc_sum"] > 10000)]
    assert np.mean(signal >= 0) > 0.9  # nearly every signal electron is matched
    assert signal.min() < 1.5
    assert signal.max() > 4.5
    assert np.all((height == -1) | ((height >= 0) & (height <= 6)))


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


def test_boosted_sources_come_more_often_weighted_by_one_over_the_boost() -> None:
    """Importance sampling: Rn-222 (and its cathode plate-out, derived from it) at 20× its
    activity gives many times the clusters, each weighted 1/20; other sources keep weight 1."""
    from triggerml.nn.dataset import BACKGROUND, collect, load_config

    config = load_config(REPO / "models" / "dataset.yaml")
    config = dataclasses.replace(
        config,
        detector=dataclasses.replace(config.detector, seconds=0.05),
        background_prescale=1.0,
        precut_adc_sum=0,
    )
    found = {}
    for boost in (1.0, 20.0):
        _, meta = collect(dataclasses.replace(config, boost={"Rn222": boost}))
        background = meta[meta["label"] == BACKGROUND]
        radon = np.isin(background["kind"], [b"Rn222", b"Rn222_cathode"])
        assert radon.any()
        assert_array_equal(background["weight"][radon], 1 / boost)
        assert np.all(background["weight"][~radon] == 1)
        found[boost] = int(radon.sum())
    assert 8 * found[1.0] < found[20.0] < 40 * found[1.0]


@pytest.mark.parametrize(
    ("boost", "fragment"),
    [
        ({"K42": 10}, "follows Ar42's activity: boost Ar42"),
        ({"radon": 10}, "no such source"),
        ({"Ar42": 0.5}, "must be ≥ 1"),
    ],
)
def test_bad_boosts_name_the_source(boost: dict, fragment: str) -> None:
    from triggerml.config import ConfigError
    from triggerml.nn.dataset import DatasetConfig

    with pytest.raises(ConfigError, match=fragment):
        DatasetConfig(boost=boost).validate()


def test_weighted_metrics_equal_the_unweighted_ones_on_duplicated_examples() -> None:
    """A weight of k counts an example k times: the AUC and the threshold at a rejection
    equal those of the dataset with each example repeated k times."""
    from triggerml.nn.metrics import efficiency_at_rejection, roc_auc

    rng = np.random.default_rng(2)
    scores = np.round(rng.normal(0, 1, 400), 1)  # ties included
    labels = rng.random(400) < 0.3
    weights = rng.integers(1, 5, 400)
    repeated = (np.repeat(scores, weights), np.repeat(labels, weights))
    assert roc_auc(scores, labels, weights) == pytest.approx(roc_auc(*repeated), rel=1e-12)
    assert roc_auc(scores, labels, np.ones(400)) == pytest.approx(roc_auc(scores, labels))
    for rejection in (0.5, 0.9, 0.99):
        assert efficiency_at_rejection(scores, labels, rejection, weights) == (
            efficiency_at_rejection(*repeated, rejection)
        )


def test_labelling_only_usable_clusters_gives_the_same_labels_for_them() -> None:
    """The dataset labels only clusters it can keep; for those the labels equal a full
    labelling, and every cluster a full labelling calls signal touches a signal box."""
    from triggerml.detector.sources import TRUTH_DTYPE
    from triggerml.nn.dataset import SIGNAL, label_clusters, touches_signal
    from triggerml.tpg.clusters import CLUSTER_DTYPE

    rng = np.random.default_rng(5)
    truth = np.zeros(60, TRUTH_DTYPE)
    truth["event_id"] = np.arange(60)
    truth["kind"] = rng.choice([b"Ar39", b"gamma_cavern", b"single_electron", b"snb_nue"], 60)
    truth["deposited_energy_mev"] = rng.uniform(0.1, 20, 60)
    truth["channel_min"] = rng.integers(-1, 120, 60)  # -1: no collection charge
    truth["channel_max"] = truth["channel_min"] + rng.integers(0, 8, 60)
    truth["tick_min"] = rng.integers(0, 1000, 60)
    truth["tick_max"] = truth["tick_min"] + rng.integers(0, 60, 60)
    clusters = np.zeros(500, CLUSTER_DTYPE)
    clusters["channel_min"] = rng.integers(0, 120, 500)
    clusters["channel_max"] = clusters["channel_min"] + rng.integers(0, 5, 500)
    clusters["start"] = rng.integers(0, 1000, 500)
    clusters["end"] = clusters["start"] + rng.integers(1, 40, 500)
    clusters["adc_sum"] = rng.integers(0, 20_000, 500)
    full = label_clusters(clusters, truth)
    touched = touches_signal(clusters, truth)
    assert np.all(touched[full["label"] == SIGNAL])
    assert 0 < (full["label"] == SIGNAL).sum() < touched.sum() < clusters.size
    usable = touched | (clusters["adc_sum"] >= 15_000)
    partial = label_clusters(clusters, truth, only=usable)
    assert_array_equal(partial[usable], full[usable])
    assert np.all(partial["event_id"][~usable] == -1)
    assert np.all(partial["label"][~usable] == 0)


def _read_all(path: Path) -> dict[str, np.ndarray]:
    import h5py

    with h5py.File(path, "r") as handle:
        out = {f"x/{k}": handle[f"x/{k}"][()] for k in handle["x"]}
        out["meta"] = handle["meta"][()]
        out["split"] = handle["split"][()]
    return out


def test_dataset_builds_in_tasks_over_both_apa_kinds_resume_and_run_on_dask(
    tmp_path: Path,
) -> None:
    """A build is tasks (APA kind × stream × slice range): a rerun after a kill does only the
    missing tasks, Dask workers give the same bytes, and every signal event contributes
    one example."""
    from triggerml.detector.config import ApaKind
    from triggerml.nn.dataset import (
        SIGNAL,
        build_dataset,
        load_config,
        parts_dir,
        plan,
        run_and_store,
    )

    config = load_config(REPO / "models" / "dataset.yaml")
    config = dataclasses.replace(
        config,
        detector=dataclasses.replace(config.detector, seconds=0.03),
        background_prescale=0.5,
        apa_kinds=(ApaKind.CENTRAL, ApaKind.OUTER),
        chunk_slices=8,
    )
    tasks = plan(config)
    assert [t.kind for t in tasks] == ["central", "central", "outer", "outer"]
    fresh = tmp_path / "fresh.h5"
    build_dataset(config, fresh)
    assert not parts_dir(config, fresh).exists()  # merged and cleaned up
    reference = _read_all(fresh)
    meta = reference["meta"]
    assert set(np.unique(meta["apa"] // 1000)) == {0, 1}  # both kinds
    signal = meta[meta["label"] == SIGNAL]
    keys = signal["apa"].astype(np.int64) << 40 | signal["event_id"]
    assert np.unique(keys).size == keys.size  # one example per signal event
    # every task counts the clusters that start inside its own range, and has some
    ticks = config.detector.slice_ticks
    slice_of = meta["start"] // ticks
    for task in tasks:
        mine = (meta["apa"] == task.apa) & (meta["event_id"] >> 24 == task.first_slice)
        mine |= (meta["apa"] == task.apa) & (meta["label"] != SIGNAL)
        inside = (slice_of >= task.first_slice) & (slice_of < task.last_slice)
        assert ((meta["apa"] == task.apa) & inside).sum() > 0, task.key
        signal_mine = mine & (meta["label"] == SIGNAL)
        assert np.all(inside[signal_mine]), task.key

    resumed = tmp_path / "resumed.h5"
    parts = parts_dir(config, resumed)
    parts.mkdir()
    run_and_store(config, str(parts), tasks[2])  # a killed build left one task behind
    progress: list[int] = []
    build_dataset(config, resumed, on_task=lambda done, _total: progress.append(done))
    assert progress == [1, 2, 3, 4]
    on_dask = tmp_path / "dask.h5"
    build_dataset(config, on_dask, workers=2)
    for other in (resumed, on_dask):
        for name, values in _read_all(other).items():
            assert_array_equal(values, reference[name], err_msg=name)
