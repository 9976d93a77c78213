"""Event display: one slice as channel × tick images per plane, with truth boxes."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from matplotlib.patches import Rectangle

from triggerml.detector.config import PLANES, Geometry
from triggerml.io import atomic_path

BOX_KINDS_MIN_MEV = 1.0  # draw truth boxes for events depositing at least this much
LABEL_MIN_MEV = 3.0  # and name those above this (signals always): ≈40 γ blips ≥ 1 MeV a slice


def draw_slice(
    adc: npt.NDArray[np.int16],
    start_tick: int,
    truth: npt.NDArray,
    geometry: Geometry,
    out: str | Path,
    title: str = "",
) -> Path:
    """Write a PNG: pedestal-subtracted ADC per plane; boxes around collection truth."""
    fig, axes = plt.subplots(3, 1, figsize=(12, 11), constrained_layout=True)
    for ax, plane in zip(axes, PLANES, strict=True):
        first = geometry.first_channel[plane]
        n = geometry.plane_channels[plane]
        block = adc[first : first + n].astype(np.float32)
        block -= np.median(block, axis=1, keepdims=True)
        noise = 1.4826 * float(np.median(np.abs(block))) or 1.0  # robust σ
        scale = 10.0 * noise
        cmap = "viridis" if plane == "x" else "RdBu_r"
        vmin = -scale * 0.1 if plane == "x" else -scale
        image = ax.imshow(
            block,
            aspect="auto",
            origin="lower",
            cmap=cmap,
            vmin=vmin,
            vmax=scale,
            interpolation="nearest",
            extent=(start_tick, start_tick + adc.shape[1], first, first + n),
        )
        fig.colorbar(image, ax=ax, label="ADC − pedestal")
        ax.set_ylabel(f"{plane.upper()} channel")
        if plane == "x":
            _draw_truth(ax, truth)
    axes[-1].set_xlabel("tick (512 ns)")
    axes[0].set_title(title or f"slice at tick {start_tick}")
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    return Path(out)


def _draw_truth(ax: plt.Axes, truth: npt.NDArray) -> None:
    shown = truth[
        (truth["channel_min"] >= 0) & (truth["deposited_energy_mev"] >= BOX_KINDS_MIN_MEV)
    ]
    for event in shown:
        ax.add_patch(
            Rectangle(
                (event["tick_min"] - 10, event["channel_min"] - 2),
                event["tick_max"] - event["tick_min"] + 30,
                event["channel_max"] - event["channel_min"] + 4,
                fill=False,
                edgecolor="red",
                linewidth=0.8,
            )
        )
        signal = event["kind"].startswith((b"single_", b"snb_"))
        if signal or event["deposited_energy_mev"] >= LABEL_MIN_MEV:
            ax.annotate(
                f"{event['kind'].decode()} {event['deposited_energy_mev']:.1f} MeV",
                (event["tick_min"], event["channel_max"] + 3),
                color="red",
                fontsize=8,
                annotation_clip=True,  # a label past the axes is dropped, not drawn outside
                clip_on=True,
            )
