"""The source catalogue (triggerml.detector.catalogue): Ar-41 and Ar-37 cascades."""

from __future__ import annotations

import numpy as np
import pytest

from triggerml.detector import catalogue


def test_ar41_cascades_reproduce_the_cited_lines_and_sum_to_q() -> None:
    rng = np.random.default_rng(4)
    n = 40_000
    counts: dict[float, int] = {}
    for _ in range(n):
        cascade = catalogue.sample_cascade(rng, catalogue.AR41_LEVELS)
        assert sum(cascade) == pytest.approx(6.0989, abs=1e-9)
        for gamma in cascade:
            key = round(gamma, 3)
            counts[key] = counts.get(key, 0) + 1
    for line, cited in catalogue.AR41_CITED_LINES.items():
        measured = 100 * counts.get(round(line, 3), 0) / n
        assert measured == pytest.approx(cited, rel=0.10), (line, measured, cited)
    for _ in range(2000):
        assert sum(catalogue.sample_cascade(rng, catalogue.AR37_LEVELS)) == pytest.approx(8.7912)
