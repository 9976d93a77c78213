"""Benchmarks (triggerml.bench) that need a study: the chain's stream bench and the scale-out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from trigger_support import (
    scenario_file,
    stable,
)


def test_one_and_two_dask_workers_give_the_in_process_summary(
    tiny_study: tuple[Path, dict], firmware: Path, tmp_path: Path, monkeypatch_module: None
) -> None:
    """``bench study`` runs the study on 1 and 2 workers: both equal the in-process run,
    and it reports their wall times, speed-up and each run's worker memory."""
    from triggerml.bench import bench_study

    _, full = tiny_study
    rows = bench_study(str(scenario_file(tmp_path, firmware)), [1, 2], tmp_path / "bench")
    for count in (1, 2):
        distributed = json.loads(
            (tmp_path / "bench" / f"workers_{count}" / "summary.json").read_text()
        )
        assert stable(distributed) == stable(json.loads(json.dumps(full, default=str)))
    assert [row["workers"] for row in rows] == [1, 2]
    assert rows[0]["speedup"] == 1.0
    assert rows[1]["speedup"] == pytest.approx(rows[0]["wall_seconds"] / rows[1]["wall_seconds"])
    assert rows[0]["tasks"] == rows[1]["tasks"] == full["tasks"]
    assert rows[0]["apa_seconds"] == pytest.approx(sum(full["apa_seconds"].values()))
    for row in rows:  # a worker holds at least the emulator, numba and numpy: > 100 MB
        assert 100 < row["peak_rss_mb_per_worker"] < 8000


def test_bench_stream_reports_stages_memory_and_real_time(
    firmware: Path, tmp_path: Path, monkeypatch_module: None
) -> None:
    from triggerml.bench import STREAM_POOL, bench_stream

    bench = bench_stream(str(scenario_file(tmp_path, firmware)), slices=STREAM_POOL + 2)
    record = bench.as_dict()
    assert record["slices"] == STREAM_POOL + 2  # two replayed
    assert set(record["stages"]) == {"tpg", "cluster", "inputs", "model"}
    assert all(seconds >= 0 for seconds in record["stages"].values())
    chain_seconds = (STREAM_POOL + 2) * 2560 * 4096 / bench.result.throughput
    assert sum(record["stages"].values()) <= chain_seconds
    assert bench.real_time == pytest.approx(2560 * 1e9 / 512)  # DESIGN §5: the whole APA
    assert record["fraction_of_real_time"] == pytest.approx(
        bench.result.throughput / bench.real_time
    )
    pool_mb = STREAM_POOL * 2560 * 4096 * 2 / 2**20  # the slices simulated beforehand
    assert record["peak_rss_mb"] > pool_mb
