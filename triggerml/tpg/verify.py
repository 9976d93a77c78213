"""Python TPG vs the HLS C++ in firmware/tpg, compiled with g++: hit-for-hit equality.

Blocks of simulated collection-plane readout (supernova events, hits crossing block
boundaries, and injected samples at both ends of the ADC range) stream through both
implementations, state carried across blocks; every hit must match exactly.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from triggerml import toolchain
from triggerml.tpg.config import TpgConfig
from triggerml.tpg.hitfinder import HIT_DTYPE, HitFinder, _parameters

FIRMWARE_DIR = Path(__file__).resolve().parents[2] / "firmware" / "tpg"
MAX_TAPS = 15


def firmware_dir() -> Path:
    if not (FIRMWARE_DIR / "tpg.h").is_file():
        raise FileNotFoundError(
            f"firmware/tpg not found at {FIRMWARE_DIR}: run from a "
            "triggerml checkout (the HLS sources are not in the wheel)"
        )
    return FIRMWARE_DIR


def compile_testbench(cache_dir: Path | None = None) -> Path:
    """g++ the C++ test bench against hls4ml's ap_types headers (cached by source hash)."""
    return toolchain.compile_testbench(firmware_dir(), "tpg", "-O3", cache_dir)


class CppTpg:
    """The compiled test bench as a streaming process: feed blocks, get hits back."""

    def __init__(self, binary: Path, config: TpgConfig, n_channels: int) -> None:
        self.config = config
        self._proc = subprocess.Popen(
            [str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        taps = np.zeros(MAX_TAPS, dtype=np.int64)
        taps[: len(config.fir_taps)] = config.fir_taps
        header = np.concatenate(
            [_parameters(config), [len(config.fir_taps)], taps, [config.initial_iqr, n_channels]]
        ).astype(np.int64)
        self._write(header.tobytes())

    def _write(self, data: bytes) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(data)

    def process(self, adc: npt.NDArray[np.int16], first_sample: int) -> npt.NDArray:
        self._write(np.array([adc.shape[1], first_sample], dtype=np.int64).tobytes())
        self._write(np.ascontiguousarray(adc, dtype=np.int16).tobytes())
        assert self._proc.stdin is not None
        self._proc.stdin.flush()
        count = int(np.frombuffer(self._read(8), dtype=np.int64)[0])
        raw = np.frombuffer(self._read(48 * count), dtype=np.int64).reshape(count, 6)
        hits = np.empty(count, dtype=HIT_DTYPE)
        for index, name in enumerate(HIT_DTYPE.names or ()):
            hits[name] = raw[:, index]
        hits["channel"] += self.config.first_channel
        return hits[np.lexsort((hits["start"], hits["channel"]))]

    def _read(self, size: int) -> bytes:
        assert self._proc.stdout is not None
        data = self._proc.stdout.read(size)
        if len(data) != size:
            error = self._proc.stderr.read().decode() if self._proc.stderr else ""
            raise RuntimeError(f"C++ TPG test bench stopped early {error}".strip())
        return data

    def close(self) -> None:
        proc = self._proc
        try:
            if proc.stdin is not None and not proc.stdin.closed:
                proc.stdin.write(np.zeros(1, dtype=np.int64).tobytes())
                proc.stdin.close()
            proc.wait(timeout=60)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        finally:
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                if pipe is not None and not pipe.closed:
                    pipe.close()


def count_differences(a: npt.NDArray, b: npt.NDArray) -> int:
    """Hits in one list and not the other, as whole records, duplicates counted."""
    left = Counter(tuple(row) for row in a.tolist())
    right = Counter(tuple(row) for row in b.tolist())
    return sum(((left - right) + (right - left)).values())


def stress_samples(
    adc: npt.NDArray[np.int16], rng: np.random.Generator, adc_max: int
) -> npt.NDArray[np.int16]:
    """Put runs at both ends of the ADC range into a few channels (saturating sums too)."""
    out = adc.copy()
    for _ in range(4):
        channel = int(rng.integers(0, out.shape[0]))
        start = int(rng.integers(0, out.shape[1] - 40))
        length = int(rng.integers(2, 40))
        out[channel, start : start + length] = adc_max if rng.random() < 0.6 else 0
    return out


@dataclass
class VerifyResult:
    mode: str
    blocks: int
    samples: int
    hits_python: int
    hits_cpp: int
    differing: int


def collection_blocks(
    seconds: float, seed: int, distance_kpc: float = 0.5
) -> tuple[Iterator[npt.NDArray[np.int16]], int, int]:
    """Simulated collection-plane blocks with a supernova burst at 1 kpc in progress."""
    from triggerml.detector.config import DetectorScenario, Supernova
    from triggerml.detector.stream import ApaStream

    scenario = dataclasses.replace(
        DetectorScenario(seed=seed),
        seconds=seconds,
        supernova=Supernova(distance_kpc=distance_kpc, duration_s=max(seconds, 0.01)),
    )
    first = scenario.geometry.first_channel["x"]
    stream = ApaStream(scenario)
    rng = np.random.default_rng(seed)
    adc_max = scenario.readout.adc_max

    def blocks() -> Iterator[npt.NDArray[np.int16]]:
        for slice_ in stream:
            yield stress_samples(slice_.adc[first:], rng, adc_max)

    return blocks(), scenario.n_slices, scenario.geometry.plane_channels["x"]


def verify(
    config: TpgConfig,
    seconds: float,
    seed: int = 11,
    distance_kpc: float = 0.5,
    on_block: Callable[[int], None] | None = None,
    cache_dir: Path | None = None,
) -> VerifyResult:
    """Stream ``seconds`` of one APA's collection plane through both; count differing hits.

    The default supernova at 0.5 kpc over the whole stream gives ≈4000 νe-CC per second
    per APA: hits everywhere, many across block boundaries.
    """
    blocks, _, n_channels = collection_blocks(seconds, seed, distance_kpc)
    return compare_blocks(config, blocks, n_channels, on_block, cache_dir)


def compare_blocks(
    config: TpgConfig,
    blocks: Iterable[npt.NDArray[np.int16]],
    n_channels: int,
    on_block: Callable[[int], None] | None = None,
    cache_dir: Path | None = None,
) -> VerifyResult:
    """Stream the same blocks through the Python and the C++ TPG; count differing hits."""
    binary = compile_testbench(cache_dir)
    python = HitFinder(n_channels, config)
    cpp = CppTpg(binary, config, n_channels)
    differing = n_py = n_cpp = n_blocks = samples = 0
    try:
        for adc in blocks:
            first_sample = python.next_sample
            hits_py = python.process(adc)
            hits_cpp = cpp.process(adc, first_sample)
            differing += count_differences(hits_py, hits_cpp)
            n_py += hits_py.size
            n_cpp += hits_cpp.size
            n_blocks += 1
            samples += adc.size
            if on_block is not None:
                on_block(n_blocks)
    finally:
        cpp.close()
    return VerifyResult(config.mode.value, n_blocks, samples, n_py, n_cpp, differing)
