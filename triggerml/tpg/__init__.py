"""Trigger primitive generation, bit-identical to firmware/tpg (DESIGN.md §5)."""

from triggerml.tpg.config import ThresholdMode, TpgConfig, TpgMode
from triggerml.tpg.hitfinder import HIT_DTYPE, HitFinder, find_hits

__all__ = ["HIT_DTYPE", "HitFinder", "ThresholdMode", "TpgConfig", "TpgMode", "find_hits"]
