"""triggerml: quantized neural networks for DUNE far-detector triggers, from training to FPGA
firmware, with a bit-exact firmware emulator.

QKeras builds on ``tensorflow.keras``; with TensorFlow 2.16+ that is Keras 3 unless
``TF_USE_LEGACY_KERAS=1`` is set before TensorFlow's first import.  Importing triggerml sets
it, and refuses to continue if TensorFlow was already loaded with Keras 3.
"""

from __future__ import annotations

import os
import sys

from triggerml._version import __version__

__all__ = ["LegacyKerasError", "__version__"]


class LegacyKerasError(ImportError):
    """TensorFlow was imported with Keras 3 before triggerml could select Keras 2."""


def _select_legacy_keras() -> None:
    if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        raise LegacyKerasError(
            "TensorFlow was imported before triggerml with Keras 3: QKeras models need "
            "Keras 2 (tf_keras). Import triggerml first, or set TF_USE_LEGACY_KERAS=1 "
            "before anything imports TensorFlow."
        )
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


_select_legacy_keras()
