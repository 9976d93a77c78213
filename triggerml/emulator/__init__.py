"""Bit-exact emulation of hls4ml firmware, from the emulation graph that `build` exports.

``load_emulator(DIR).predict(X)`` equals the hls4ml C simulation of the firmware in DIR bit
for bit (on float64 input).  Loading needs numpy only: no hls4ml, TensorFlow or compiler.
"""

from triggerml.emulator.model import EmulationError, Emulator, load_emulator

__all__ = ["EmulationError", "Emulator", "load_emulator"]
