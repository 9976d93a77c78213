"""Python TPG ≡ firmware/tpg C++ (g++ with hls4ml's ap_types), hit for hit, both modes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from triggerml.config import from_mapping
from triggerml.tpg import HitFinder, TpgConfig
from triggerml.tpg.verify import (
    CppTpg,
    collection_blocks,
    compare_blocks,
    compile_testbench,
    count_differences,
)


@pytest.fixture(scope="module")
def testbench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_testbench(tmp_path_factory.mktemp("tpg_tb"))


@pytest.fixture(scope="module")
def blocks() -> list[np.ndarray]:
    """Three blocks of the collection plane: a supernova at 0.5 kpc, ADC-limit runs."""
    generator, _, _ = collection_blocks(seconds=0.005, seed=21)
    return list(generator)


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"mode": "dunedaq", "threshold": 60},
        {"mode": "dunedaq", "threshold": 10, "initial_pedestal": 3600},
        {"coherent_group": 64, "absolute_value": True},
        {"threshold_mode": "absolute", "threshold": 40, "fir_taps": [1, 2, 1], "fir_shift": 2},
    ],
)
def test_cpp_and_python_agree_on_simulated_blocks(
    config: dict, testbench: Path, blocks: list[np.ndarray]
) -> None:
    cfg = from_mapping(TpgConfig, config)
    result = compare_blocks(cfg, blocks, 960, cache_dir=testbench.parent)
    assert result.blocks == 3
    assert result.hits_python > 100
    assert result.differing == 0
    assert result.hits_python == result.hits_cpp


def test_saturation_and_limits_agree(testbench: Path) -> None:
    rng = np.random.default_rng(4)
    adc = rng.integers(0, 16384, (64, 600)).astype(np.int16)  # every value, wildly
    adc[:, 300:340] = 16383
    adc[:, 340:360] = 0
    for config in (TpgConfig(), from_mapping(TpgConfig, {"mode": "dunedaq", "threshold": 5})):
        cpp = CppTpg(testbench, config, 64)
        python = HitFinder(64, config)
        try:
            for a, b in [(0, 250), (250, 600)]:
                hits_py = python.process(adc[:, a:b])
                hits_cpp = cpp.process(adc[:, a:b], a)
                assert count_differences(hits_py, hits_cpp) == 0
                assert hits_py.size > 0
        finally:
            cpp.close()


def test_a_changed_cpp_would_be_caught() -> None:
    hits = np.zeros(3, dtype=[("channel", "i4"), ("start", "i8")])
    other = hits.copy()
    other["start"][1] = 1
    assert count_differences(hits, other) == 2
    assert count_differences(hits, hits[:2]) == 1  # a duplicate hit counts too
    assert count_differences(hits, hits.copy()) == 0


def test_verify_tpg_cli(tmp_path: Path) -> None:
    result = run_cli(
        "verify-tpg", "--seconds", "0.003", "--mode", "dunedaq", env={"TMPDIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    assert "0 differing hits" in result.stdout
