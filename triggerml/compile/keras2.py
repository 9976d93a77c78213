"""The one Keras-2 shim: make hls4ml see tf_keras while it handles a QKeras model.

hls4ml 1.3 picks its converter from ``import keras; keras.__version__``.  With TensorFlow
2.16+ the installed ``keras`` is Keras 3, but QKeras models are tf_keras (Keras 2) models, so
hls4ml takes the Keras-3 path and fails (``'Node' object has no attribute 'arguments'``).
Inside :func:`hls4ml_sees_keras2`, ``sys.modules['keras']`` is tf_keras.  Every hls4ml call on
a Keras model — config, convert, write, compile, link — goes through it: outside it, ``write``
serializes the model with Keras 3 and ``link_existing_project`` cannot read it back.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

import triggerml  # noqa: F401  (selects legacy Keras before TensorFlow loads)

_lock = threading.RLock()
_MISSING = object()


@contextmanager
def hls4ml_sees_keras2() -> Iterator[ModuleType]:
    """Map ``keras`` to tf_keras for the duration; yields the hls4ml module.

    Re-entrant and serialized by a lock, since ``sys.modules`` is process-wide.
    """
    with _lock:
        tf_keras = importlib.import_module("tf_keras")
        saved = sys.modules.get("keras", _MISSING)
        sys.modules["keras"] = tf_keras
        try:
            hls4ml = importlib.import_module("hls4ml")
            from triggerml.compile import bit_exact_resize

            bit_exact_resize.register()
            yield hls4ml
        finally:
            if saved is _MISSING:
                sys.modules.pop("keras", None)
            else:
                sys.modules["keras"] = saved  # type: ignore[assignment]


def qkeras_custom_objects() -> dict[str, object]:
    """Every QKeras layer and quantizer, for loading saved QKeras models."""
    from qkeras.utils import _add_supported_quantized_objects

    objects: dict[str, object] = {}
    _add_supported_quantized_objects(objects)
    return objects


def load_qkeras_model(path: str) -> object:
    """Load a QKeras ``.h5``/``.keras`` model as a tf_keras model."""
    import tf_keras

    return tf_keras.models.load_model(path, custom_objects=qkeras_custom_objects(), compile=False)
