"""Quantization-aware training of a zoo model, seeded and deterministic on the CPU.

Writes ``<out>/<name>.h5`` (tf_keras with QKeras layers), ``<name>_history.json``, the model
card (``<name>.json`` + ``<name>.md``) and ``<name>_efficiency.png``.  The card's figures all
come from this run: ROC AUC and signal efficiency at fixed background rejection on the test
split, efficiency vs true energy, and the gap to an identically trained float twin.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from triggerml.config import to_mapping
from triggerml.io import atomic_path, now_iso, sha256_file, write_json
from triggerml.nn.card import fpga_markdown, validation_markdown
from triggerml.nn.dataset import Dataset, load_dataset
from triggerml.nn.metrics import efficiency_at_rejection, roc_auc
from triggerml.nn.zoo import ModelConfig, build_model, count_multiplications

REJECTIONS = (0.99, 0.999)
HIGH_ENERGY_MEV = 10.0
ENERGY_EDGES = np.array([0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 50.0])


def _deterministic(seed: int) -> None:
    import tensorflow as tf
    import tf_keras

    tf_keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class _EpochCallback:
    """Bridges Keras epochs to a progress callable (epoch, logs)."""

    def __new__(cls, on_epoch: Callable[[int, dict[str, float]], None]) -> Any:
        import tf_keras

        class Callback(tf_keras.callbacks.Callback):
            def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
                on_epoch(epoch + 1, dict(logs or {}))

        return Callback()


def sample_weights(
    y: npt.NDArray[np.float32],
    meta: npt.NDArray,
    config: ModelConfig,
    class_weights: tuple[float, float],
) -> npt.NDArray[np.float32]:
    """Per example: its class's balanced weight (backgrounds × ``background_weight``), hard
    backgrounds (ADC sum ≥ ``hard_adc_sum``) × ``hard_weight`` on top, times its importance
    weight (1/boost for a boosted source's clusters)."""
    signal = y == 1
    weights = np.where(signal, class_weights[1], class_weights[0]) * meta["weight"]
    training = config.training
    if training.hard_adc_sum > 0:
        hard = ~signal & (meta["adc_sum"] >= training.hard_adc_sum)
        weights = np.where(hard, weights * training.hard_weight, weights)
    return weights.astype(np.float32)


def _fit(
    model: Any,
    data: Dataset,
    config: ModelConfig,
    phase: str,
    epochs: int,
    on_epoch: Callable[[str, int, int, dict[str, float]], None] | None,
) -> dict[str, list[float]]:
    """Train ``model`` for up to ``epochs`` epochs (early stopping on the weighted validation
    loss); ``on_epoch(phase, epoch, epochs, logs)`` after each."""
    import tf_keras

    x_train, y_train, meta_train = data.part("train")
    x_val, y_val, meta_val = data.part("val")
    positives = max(float(y_train.sum()), 1.0)
    # backgrounds counted by importance weight: the class balance of the unboosted world
    negatives = max(float(meta_train["weight"][y_train == 0].sum()), 1.0)
    total = positives + negatives
    class_weights = (
        config.training.background_weight * total / (2 * negatives),
        total / (2 * positives),
    )
    model.compile(
        optimizer=tf_keras.optimizers.Adam(config.training.learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
        weighted_metrics=[],  # the loss is weighted; accuracy stays a plain count
    )
    callbacks = [
        tf_keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=config.training.patience, restore_best_weights=True
        )
    ]
    if on_epoch is not None:
        report = on_epoch
        callbacks.append(_EpochCallback(lambda epoch, logs: report(phase, epoch, epochs, logs)))
    history = model.fit(
        x_train,
        y_train,
        sample_weight=sample_weights(y_train, meta_train, config, class_weights),
        # validated with the same weights: early stopping watches the loss that is trained
        validation_data=(x_val, y_val, sample_weights(y_val, meta_val, config, class_weights)),
        epochs=epochs,
        batch_size=config.training.batch_size,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    return {k: [float(v) for v in values] for k, values in history.history.items()}


@dataclass
class Evaluation:
    auc: float
    auc_high_energy_vs_radiological: float
    accuracy: float
    efficiency_at_rejection: dict[str, float]
    energy_edges: list[float]
    energy_efficiency: list[float | None]
    energy_counts: list[int]
    threshold_999: float


def evaluate(model: Any, data: Dataset) -> Evaluation:
    x, y, meta = data.part("test")
    scores = model.predict(x, verbose=0, batch_size=1024).reshape(-1)
    # an importance-sampled test split counts its backgrounds by weight
    w = None if np.all(meta["weight"] == 1) else meta["weight"]
    effs = {f"{r:g}": efficiency_at_rejection(scores, y, r, w)[0] for r in REJECTIONS}
    _, threshold = efficiency_at_rejection(scores, y, 0.999, w)
    signal = y == 1
    energy = meta["true_energy_mev"][signal]
    passed = scores[signal] > threshold
    counts = np.histogram(energy, ENERGY_EDGES)[0]
    found = np.histogram(energy[passed], ENERGY_EDGES)[0]
    eff = [float(f / n) if n else None for f, n in zip(found, counts, strict=True)]
    from triggerml.nn.dataset import BACKGROUND

    high = signal & (meta["true_energy_mev"] >= HIGH_ENERGY_MEV)
    radiological = meta["label"] == BACKGROUND
    pick = high | radiological
    return Evaluation(
        auc=roc_auc(scores, y, w),
        auc_high_energy_vs_radiological=roc_auc(
            scores[pick], high[pick], None if w is None else w[pick]
        ),
        accuracy=float(((scores > 0.5) == signal).mean()),
        efficiency_at_rejection=effs,
        energy_edges=[float(e) for e in ENERGY_EDGES],
        energy_efficiency=eff,
        energy_counts=[int(c) for c in counts],
        threshold_999=float(threshold),
    )


def train(
    config: ModelConfig,
    out_dir: str | Path,
    dataset_path: str | Path,
    on_epoch: Callable[[str, int, int, dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """Train the quantized model and its float twin; write weights, history and card."""
    out_dir = Path(out_dir)
    data = load_dataset(dataset_path, config.input, config.side_input)
    from triggerml.fixed import parse_type

    for kind, quantizer, actual, key in (
        (config.input, config.input_quantizer, data.input_type, "input_quantizer"),
        (config.side_input, config.side_input_quantizer, data.side_type, "side_input_quantizer"),
    ):
        if kind is None:
            continue
        expected = quantizer.fixed_type
        if parse_type(actual) != parse_type(expected):
            raise ValueError(
                f"model {config.name} quantizes its {kind} input as {expected}, but the "
                f"dataset's {kind} inputs are {actual}: make them match ({key} "
                "bits/integer or the dataset's input_type)"
            )
    shape = tuple(data.x.shape[1:])
    side_shape = None if data.side is None else tuple(data.side.shape[1:])
    started = time.perf_counter()
    _deterministic(config.training.seed)
    model = build_model(config, shape, quantized=True, side_shape=side_shape)
    history = _fit(model, data, config, "quantized", config.training.epochs, on_epoch)
    train_seconds = time.perf_counter() - started
    quantized_eval = evaluate(model, data)
    _deterministic(config.training.seed)
    float_model = build_model(config, shape, quantized=False, side_shape=side_shape)
    _fit(float_model, data, config, "float", config.training.float_epochs, on_epoch)
    float_eval = evaluate(float_model, data)

    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f"{config.name}.h5"
    with atomic_path(weights) as tmp:
        model.save(tmp, save_format="h5")
    write_json(out_dir / f"{config.name}_history.json", history)
    plot_efficiency(quantized_eval, out_dir / f"{config.name}_efficiency.png", config.name)
    card = model_card(
        config,
        model,
        data,
        quantized_eval,
        float_eval,
        train_seconds,
        dataset_path,
        weights,
        len(history.get("loss", [])),
    )
    write_json(out_dir / f"{config.name}.json", card)
    with atomic_path(out_dir / f"{config.name}.md") as tmp:
        tmp.write_text(card_markdown(card))
    return card


def model_card(
    config: ModelConfig,
    model: Any,
    data: Dataset,
    q: Evaluation,
    f: Evaluation,
    seconds: float,
    dataset_path: str | Path,
    weights: Path,
    epochs: int,
) -> dict[str, Any]:
    _, y_train, _ = data.part("train")
    _, y_test, _ = data.part("test")
    specs = config.layer_specs()
    return {
        "schema_version": 1,
        "name": config.name,
        "description": config.description,
        "input": {
            "kind": config.input,
            "shape": list(data.x.shape[1:]),
            "type": config.input_quantizer.fixed_type,
        },
        **(
            {}
            if data.side is None
            else {
                "side_input": {
                    "kind": config.side_input,
                    "shape": list(data.side.shape[1:]),
                    "type": config.side_input_quantizer.fixed_type,
                    "joins_after": f"layers[{config.merge_after}]",
                }
            }
        ),
        "parameters": int(model.count_params()),
        "multiplications": count_multiplications(model),
        "bit_widths": {
            "weights": sorted(
                {s.bits for s in specs if s.type.value in ("conv1d", "conv2d", "dense")}
            ),
            "activations": sorted({s.bits for s in specs if s.type.value == "relu"}),
            "input": config.input_quantizer.bits,
            "logits": config.logit_quantizer.bits,
        },
        "dataset": {
            "path": str(dataset_path),
            "sha256": sha256_file(dataset_path),
            "train": int(y_train.shape[0]),
            "test": int(y_test.shape[0]),
            "test_signal": int(y_test.sum()),
            "config": data.config.get("name"),
        },
        "metrics": {
            "roc_auc": q.auc,
            "accuracy": q.accuracy,
            "roc_auc_ge_10mev_vs_radiological": q.auc_high_energy_vs_radiological,
            "signal_efficiency_at_background_rejection": q.efficiency_at_rejection,
            "efficiency_vs_true_energy": {
                "edges_mev": q.energy_edges,
                "efficiency": q.energy_efficiency,
                "signal_events": q.energy_counts,
                "score_threshold": q.threshold_999,
                "background_rejection": 0.999,
            },
        },
        "float_twin": {
            "roc_auc": f.auc,
            "accuracy": f.accuracy,
            "auc_gap": f.auc - q.auc,
            "accuracy_gap": f.accuracy - q.accuracy,
        },
        "training": {
            **to_mapping(config.training),
            "epochs_run": epochs,
            "seconds": round(seconds, 1),
        },
        "weights": {"path": weights.name, "sha256": sha256_file(weights)},
        "created": now_iso(),
    }


def card_markdown(card: dict[str, Any]) -> str:
    m = card["metrics"]
    eff = m["signal_efficiency_at_background_rejection"]
    rows = "\n".join(
        f"| {lo:g}–{hi:g} | {n} | {'—' if e is None else f'{e:.3f}'} |"
        for lo, hi, n, e in zip(
            m["efficiency_vs_true_energy"]["edges_mev"][:-1],
            m["efficiency_vs_true_energy"]["edges_mev"][1:],
            m["efficiency_vs_true_energy"]["signal_events"],
            m["efficiency_vs_true_energy"]["efficiency"],
            strict=True,
        )
    )
    ds, tr, ft = card["dataset"], card["training"], card["float_twin"]
    data_line = (
        f"`{ds['path']}` ({ds['train']:,} train, {ds['test']:,} test, "
        f"sha256 `{ds['sha256'][:12]}…`)"
    )
    train_line = (
        f"{tr['epochs_run']} epochs (early stopping), {tr['seconds']} s on the CPU, "
        f"seed {tr['seed']}"
    )
    auc_high = m["roc_auc_ge_10mev_vs_radiological"]
    side = card.get("side_input")
    side_row = (
        f"| side input | {side['kind']} {tuple(side['shape'])}, `{side['type']}`, joins "
        f"after {side['joins_after']} |\n"
        if side
        else ""
    )
    return (
        f"""# Model card: {card["name"]}

{card["description"]}

| | |
|---|---|
| input | {card["input"]["kind"]} {tuple(card["input"]["shape"])}, `{card["input"]["type"]}` |
{side_row}| parameters | {card["parameters"]:,} |
| multiplications / inference | {card["multiplications"]:,} |
| weight bits | {card["bit_widths"]["weights"]} |
| activation bits | {card["bit_widths"]["activations"]} |
| dataset | {data_line} |
| training | {train_line} |

## Test split

| metric | quantized | float twin |
|---|---|---|
| ROC AUC (signal vs background + noise) | {m["roc_auc"]:.4f} | {ft["roc_auc"]:.4f} |
| ROC AUC, electrons ≥ 10 MeV vs radiological decays | {auc_high:.4f} | |
| accuracy at score 0.5 | {m["accuracy"]:.4f} | {ft["accuracy"]:.4f} |
| signal efficiency at 99 % background rejection | {eff["0.99"]:.3f} | |
| signal efficiency at 99.9 % background rejection | {eff["0.999"]:.3f} | |

Efficiency vs true electron energy at 99.9 % background rejection (score >
{m["efficiency_vs_true_energy"]["score_threshold"]:.4f}), plot: `{card["name"]}_efficiency.png`:

| true energy (MeV) | signal events | efficiency |
|---|---|---|
{rows}

Weights: `{card["weights"]["path"]}` (sha256 `{card["weights"]["sha256"][:12]}…`); every figure
above comes from the training run recorded in `{card["name"]}.json` ({card["created"]}).
"""
        + ("\n" + validation_markdown(card) if card.get("validation") else "")
        + ("\n" + fpga_markdown(card) if card.get("fpga") else "")
    )


def plot_efficiency(evaluation: Evaluation, out: Path, name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from triggerml.stats import clopper_pearson

    edges = np.array(evaluation.energy_edges)
    counts = np.array(evaluation.energy_counts)
    eff = np.array([np.nan if e is None else e for e in evaluation.energy_efficiency])
    found = np.nan_to_num(eff) * counts
    lo, hi = clopper_pearson(np.round(found), counts)
    centers = 0.5 * (edges[1:] + edges[:-1])
    ok = counts > 0
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    ax.errorbar(
        centers[ok],
        eff[ok],
        xerr=0.5 * np.diff(edges)[ok],
        yerr=[eff[ok] - lo[ok], hi[ok] - eff[ok]],
        fmt="o",
        capsize=2,
    )
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("true electron energy (MeV)")
    ax.set_ylabel("signal efficiency")
    ax.set_title(f"{name}: efficiency at 99.9 % background rejection (test split)")
    ax.grid(alpha=0.3)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def scores(model: Any, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    return model.predict(x, verbose=0, batch_size=1024).reshape(-1).astype(np.float64)
