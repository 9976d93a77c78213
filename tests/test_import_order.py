"""`import triggerml` selects Keras 2 for QKeras, and refuses a TensorFlow already on Keras 3."""

from __future__ import annotations

import os
import subprocess
import sys


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=clean,
        timeout=300,
        check=False,
    )


def test_import_sets_legacy_keras_and_qkeras_builds_tf_keras_models() -> None:
    code = (
        "import triggerml, os\n"
        "assert os.environ['TF_USE_LEGACY_KERAS'] == '1'\n"
        "import tensorflow as tf\n"
        "from qkeras import QDense\n"
        "layer = QDense(2)\n"
        "print(type(layer).__mro__[1].__module__)\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1].startswith("tf_keras")


def test_tensorflow_imported_first_with_keras3_is_a_clear_error() -> None:
    result = _python("import tensorflow\nimport triggerml\n")
    assert result.returncode != 0
    assert "LegacyKerasError" in result.stderr
    assert "Import triggerml first" in result.stderr


def test_tensorflow_first_is_fine_when_the_variable_was_set() -> None:
    result = _python("import tensorflow\nimport triggerml\n", TF_USE_LEGACY_KERAS="1")
    assert result.returncode == 0, result.stderr[-2000:]
