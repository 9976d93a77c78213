"""Reading a model file safely: inspect its JSON config before anything is deserialized.

A Keras file may carry Python code (Lambda layers hold marshalled bytecode; custom objects
name arbitrary classes).  We read the architecture as plain JSON first and refuse anything
outside the supported layer list, so loading never runs code from the file.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py

SUPPORTED_LAYERS = (
    "InputLayer",
    "QDense",
    "QConv1D",
    "QConv2D",
    "QActivation",
    "QBatchNormalization",
    "Dense",
    "Conv1D",
    "Conv2D",
    "Activation",
    "ReLU",
    "ELU",
    "Softmax",
    "BatchNormalization",
    "MaxPooling1D",
    "MaxPooling2D",
    "AveragePooling1D",
    "AveragePooling2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "Flatten",
    "Reshape",
    "Dropout",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "UpSampling1D",
    "UpSampling2D",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Concatenate",
)
SUPPORTED_QUANTIZERS = ("quantized_bits", "quantized_relu", "quantized_tanh")
QUANTIZED_LAYERS = ("QDense", "QConv1D", "QConv2D", "QActivation", "QBatchNormalization")


class ModelFileError(ValueError):
    """A model file that cannot or must not be built; the message says why and what to do."""


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    layers: list[dict[str, Any]]  # {"class_name", "name", "config"}

    @property
    def quantized(self) -> bool:
        return any(layer["class_name"] in QUANTIZED_LAYERS for layer in self.layers)


def read_architecture(path: str | Path) -> ModelInfo:
    """The model's layer list from its stored JSON config (no deserialization)."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"model file {path} not found")
    if not path.is_file():
        raise ModelFileError(f"{path} is not a file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".h5", ".hdf5"):
            with h5py.File(path, "r") as handle:
                raw = handle.attrs.get("model_config")
            if raw is None:
                raise ModelFileError(
                    f"{path} is an HDF5 file without a Keras model config: "
                    "save the model with model.save('model.h5')"
                )
            config = json.loads(raw if isinstance(raw, str) else raw.decode())
        elif suffix == ".keras":
            with zipfile.ZipFile(path) as archive:
                config = json.loads(archive.read("config.json"))
        else:
            raise ModelFileError(
                f"{path}: unsupported model format {suffix or '(none)'}; "
                "give a QKeras .h5/.keras file or a QONNX .onnx file"
            )
    except (OSError, zipfile.BadZipFile, KeyError, json.JSONDecodeError) as error:
        raise ModelFileError(
            f"{path} is not a readable Keras model file ({error}): is it corrupt or truncated?"
        ) from None
    layers = _layers(config)
    if not layers:
        raise ModelFileError(f"{path}: the model config lists no layers")
    return ModelInfo(path, layers)


def _layers(config: dict[str, Any]) -> list[dict[str, Any]]:
    inner = config.get("config", {})
    layers = inner.get("layers", []) if isinstance(inner, dict) else []
    out = []
    for layer in layers:
        class_name = layer.get("class_name", "?")
        if class_name in ("Functional", "Sequential", "Model"):
            out.extend(_layers(layer))
            continue
        out.append(
            {
                "class_name": class_name,
                "name": layer.get("config", {}).get("name", "?"),
                "config": layer.get("config", {}),
            }
        )
    return out


def check_supported(info: ModelInfo) -> None:
    """Refuse unsupported layers and quantizers before the model is loaded."""
    for layer in info.layers:
        kind = layer["class_name"]
        if kind == "Lambda":
            raise ModelFileError(
                f"layer {layer['name']!r} is a Lambda layer: it carries Python code, which "
                "triggerml never runs; replace it with supported layers"
            )
        if kind not in SUPPORTED_LAYERS:
            raise ModelFileError(
                f"unsupported layer {layer['name']!r} ({kind}); supported: "
                f"{', '.join(SUPPORTED_LAYERS)}"
            )
        for key, value in layer["config"].items():
            if key.endswith(("quantizer", "activation")) and isinstance(value, dict):
                name = value.get("class_name", "")
                alpha = (value.get("config") or {}).get("alpha")
                if isinstance(alpha, str) and alpha.startswith("auto"):
                    raise ModelFileError(
                        f"layer {layer['name']!r}: {key} {name}(alpha={alpha!r}) is not built "
                        "(hls4ml 1.3 writes its per-channel scales with numpy.product, which "
                        "NumPy 2 removed): train with alpha=1"
                    )
                if name and name not in SUPPORTED_QUANTIZERS and kind in QUANTIZED_LAYERS:
                    raise ModelFileError(
                        f"layer {layer['name']!r} uses quantizer {name}; supported: "
                        f"{', '.join(SUPPORTED_QUANTIZERS)}"
                    )
