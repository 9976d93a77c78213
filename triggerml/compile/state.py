"""What the build steps share: the build's settings, the state they hand on, the output
folder's layout, and the warning every step gives the same way."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from triggerml.compile import model_file
from triggerml.config import require
from triggerml.fixed import cpp_spelling

SCHEMA_VERSION = 1
PROJECT_DIR = "hls_project"
EMULATION_DIR = "emulation"
TABLE_ACTIVATIONS = ("sigmoid", "softmax")
MAX_OUTPUT_BITS = 32  # wider output ports get a warning
WIDE_TABLE_INPUT_INTEGER_BITS = 8  # ±128: 16× the table range


class BuildWarning(UserWarning):
    """Something the user should know about a build that still succeeds."""


class Backend(StrEnum):
    VITIS = "Vitis"
    VIVADO = "Vivado"


class IoType(StrEnum):
    PARALLEL = "io_parallel"
    STREAM = "io_stream"


class Strategy(StrEnum):
    LATENCY = "Latency"
    RESOURCE = "Resource"


@dataclass(frozen=True)
class BuildConfig:
    """One build; ``Model`` and ``LayerName`` are hls4ml's own HLSConfig sections."""

    backend: Backend = Backend.VITIS
    io_type: IoType = IoType.PARALLEL
    strategy: Strategy = Strategy.LATENCY
    reuse_factor: int = 1
    part: str | None = None  # None: hls4ml's default for the backend
    clock_ns: float | None = None
    events: int = 1000  # events compared in the C simulation
    csim: bool = True
    input_precision: str = "ap_fixed<16,6>"  # for models without an input quantizer
    seed: int = 0  # random events when the model's dataset is not at hand
    Model: dict[str, Any] = field(default_factory=dict)
    LayerName: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, enum in (("backend", Backend), ("io_type", IoType), ("strategy", Strategy)):
            object.__setattr__(self, name, enum(getattr(self, name)))

    def validate(self) -> None:
        require(self.reuse_factor >= 1, "reuse_factor", "must be at least 1")
        require(self.events >= 1, "events", "must be at least 1")
        if self.clock_ns is not None:
            require(self.clock_ns > 0, "clock_ns", "must be positive")


@dataclass
class BuildState:
    """What the steps hand to each other."""

    source: Path
    config: BuildConfig
    work: Path  # the temporary DIR
    final: Path
    model: Any = None
    info: model_file.ModelInfo | None = None
    hls_model: Any = None
    events: list[npt.NDArray[np.float64]] | None = None  # one array per input
    csim: dict[str, Any] | None = None
    csim_outputs: npt.NDArray[np.float64] | None = None  # every output, side by side
    onnx: Any = None  # onnx_import.OnnxSource for a QONNX source
    input_shapes: list[tuple[int, ...]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def warn(state: BuildState, message: str) -> None:
    state.warnings.append(message)
    warnings.warn(message, BuildWarning, stacklevel=3)


def merge(target: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = value


def cpp_type(precision: Any) -> str:
    return cpp_spelling(precision)
