"""Training sets (triggerml.nn.dataset): inputs on the model grid, multi-plane features,
boosted sources, labelling, tasks over both APA kinds that resume and run on Dask."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from numpy.testing import assert_array_equal

from triggerml.config import ConfigError
from triggerml.fixed import parse_type


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
    from triggerml.nn.dataset import DatasetConfig

    with pytest.raises(ConfigError, match=fragment):
        DatasetConfig(boost=boost).validate()


def random_boxes_and_clusters(
    rng: np.random.Generator, n_truth: int, n_clusters: int, channels: int, ticks: int
) -> tuple[np.ndarray, np.ndarray]:
    """Truth boxes (some without collection charge: channel −1) and clusters scattered over
    ``channels`` × ``ticks``, for the labelling tests."""
    from triggerml.detector.sources import TRUTH_DTYPE
    from triggerml.tpg.clusters import CLUSTER_DTYPE

    truth = np.zeros(n_truth, TRUTH_DTYPE)
    truth["event_id"] = np.arange(n_truth)
    kinds = [b"Ar39", b"gamma_cavern", b"single_electron", b"snb_nue"]
    truth["kind"] = rng.choice(kinds, n_truth)
    truth["deposited_energy_mev"] = rng.uniform(0.1, 20, n_truth)
    truth["channel_min"] = rng.integers(-1, channels, n_truth)  # -1: no collection charge
    truth["channel_max"] = truth["channel_min"] + rng.integers(0, 8, n_truth)
    truth["tick_min"] = rng.integers(0, ticks, n_truth)
    truth["tick_max"] = truth["tick_min"] + rng.integers(0, 60, n_truth)
    clusters = np.zeros(n_clusters, CLUSTER_DTYPE)
    clusters["channel_min"] = rng.integers(0, channels, n_clusters)
    clusters["channel_max"] = clusters["channel_min"] + rng.integers(0, 5, n_clusters)
    clusters["start"] = rng.integers(0, ticks, n_clusters)
    clusters["end"] = clusters["start"] + rng.integers(1, 40, n_clusters)
    return truth, clusters


def test_labelling_only_usable_clusters_gives_the_same_labels_for_them() -> None:
    """The dataset labels only clusters it can keep; for those the labels equal a full
    labelling, and every cluster a full labelling calls signal touches a signal box."""
    from triggerml.nn.dataset import SIGNAL, label_clusters, touches_signal

    rng = np.random.default_rng(5)
    truth, clusters = random_boxes_and_clusters(rng, 60, 500, 120, 1000)
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


def test_cluster_labels_equal_a_per_cluster_numpy_match() -> None:
    """The compiled matcher against the plain one it replaced: per cluster, the touching
    box (`_overlaps`) with the largest deposit, the first of equals, its truth copied."""
    from triggerml.nn.dataset import BACKGROUND, SIGNAL, SIGNAL_KINDS, _overlaps, label_clusters

    rng = np.random.default_rng(8)
    truth, clusters = random_boxes_and_clusters(rng, 300, 2000, 200, 3000)
    truth["deposited_energy_mev"] = rng.choice([0.5, 1.0, 2.0, 3.0], 300)  # many equal
    truth["true_energy_mev"] = rng.uniform(0, 30, 300)
    truth["neutrino_energy_mev"] = rng.uniform(0, 50, 300)
    meta = label_clusters(clusters, truth)
    boxes = truth[truth["channel_min"] >= 0]
    matched = 0
    for i, cluster in enumerate(clusters):
        overlap = _overlaps(boxes, cluster)
        if not overlap.any():
            assert (meta["label"][i], meta["event_id"][i]) == (0, -1)
            continue
        best = boxes[overlap][np.argmax(boxes[overlap]["deposited_energy_mev"])]
        matched += 1
        assert meta["label"][i] == (SIGNAL if best["kind"] in SIGNAL_KINDS else BACKGROUND)
        for name in ("kind", "event_id", "true_energy_mev", "neutrino_energy_mev"):
            assert meta[name][i] == best[name], name
    assert 100 < matched < clusters.size
