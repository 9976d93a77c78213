"""hls4ml 1.3's bit-exact type inference for Resize (UpSampling1D/2D, nearest), which it lacks.

hls4ml's ``bit_exact`` pass asks every layer for the (keep-sign, integer, fractional) bits
of each output element; it has no rule for Resize and raises ``NotImplementedError``, so a
quantized model with an UpSampling layer could not be converted exactly.  Nearest-neighbour
resizing copies input pixels, so each output element has the bits of the pixel it copies —
the rule registered here, with the template's own index arithmetic.  Every input pixel is
copied at least once for whole factors, so the result type is the input type, which the
template requires (it reads and writes one ``data_T``).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np


@functools.cache
def register() -> None:
    """Add the Resize rule to hls4ml's bit-exact pass (once per process)."""
    from hls4ml.model.layers import Resize
    from hls4ml.model.optimizer.passes import bit_exact

    @bit_exact._produce_kif.register(Resize)
    def _(layer: Any) -> Any:
        k, i, f = bit_exact.produce_kif(bit_exact.get_input_layers(layer)[0])
        height = int(layer.get_attr("in_height"))
        width = int(layer.get_attr("in_width"))
        new_height = int(layer.get_attr("out_height"))
        new_width = int(layer.get_attr("out_width"))
        rows = (np.arange(new_height) * (((height << 16) // new_height) + 1)) >> 16
        cols = (np.arange(new_width) * (((width << 16) // new_width) + 1)) >> 16
        out_shape = bit_exact.get_output_shape(layer)

        def resized(values: Any) -> Any:
            image = np.asarray(values).reshape(height, width, -1)
            return image[rows][:, cols].reshape(out_shape)

        return resized(k), resized(i), resized(f)
