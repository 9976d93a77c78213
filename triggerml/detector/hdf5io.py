"""Raw-data HDF5 files in DUNE-DAQ's layout (hdf5libs TimeSlice records of WIBEth fragments).

Layout written (file-layout version 4 conventions): one group per slice,
``TimeSlice%06d``, holding a ``TimeSliceHeader`` dataset and ``RawData/
Detector_Readout_0x%08x_WIBEth`` datasets, each the bytes of one daqdataformats Fragment: a
72-byte FragmentHeader (marker 0x11112222, size, window, run number, fragment type 12 =
WIBEth, SourceID) followed by 7200-byte WIBEth frames.  triggerml's truth rides along in
``triggerml_truth/TimeSlice%06d`` and the scenario in the file attributes; DUNE tools ignore
both.  The reader walks any such file (records and fragments found by name and type, not by
fixed paths) and *reports* what it cannot trust — truncation, bad frames, timestamp and
sequence gaps, wrong shapes — instead of dropping it silently.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import h5py
import numpy as np
import numpy.typing as npt

from triggerml.config import to_mapping
from triggerml.detector import wibeth
from triggerml.detector.config import DetectorScenario
from triggerml.detector.stream import Slice
from triggerml.io import atomic_path, versions

FRAGMENT_HEADER = np.dtype(
    [
        ("marker", "<u4"),
        ("version", "<u4"),
        ("size", "<u8"),
        ("trigger_number", "<u8"),
        ("trigger_timestamp", "<u8"),
        ("window_begin", "<u8"),
        ("window_end", "<u8"),
        ("run_number", "<u4"),
        ("error_bits", "<u4"),
        ("fragment_type", "<u4"),
        ("sequence_number", "<u2"),
        ("unused", "<u2"),
        ("source_version", "<u2"),
        ("subsystem", "<u2"),
        ("source_id", "<u4"),
    ]
)
assert FRAGMENT_HEADER.itemsize == 72
TIMESLICE_HEADER = np.dtype(
    [
        ("marker", "<u4"),
        ("version", "<u4"),
        ("timeslice_number", "<u8"),
        ("run_number", "<u4"),
        ("unused", "<u4"),
        ("source_version", "<u2"),
        ("subsystem", "<u2"),
        ("source_id", "<u4"),
    ]
)
FRAGMENT_MARKER = 0x11112222
TIMESLICE_MARKER = 0x55556666
FRAGMENT_TYPE_WIBETH = 12
SUBSYSTEM_DETECTOR_READOUT = 1
RECORD_PREFIX = "TimeSlice"
TRUTH_GROUP = "triggerml_truth"
TICKS_PER_FRAME = wibeth.SAMPLES_PER_FRAME * wibeth.TICKS_PER_SAMPLE


class RawDataError(ValueError):
    """A raw-data file that cannot be read at all (not HDF5, truncated header)."""


def source_id(apa: int, stream: int) -> int:
    return (apa << 8) | stream


class RawFileWriter:
    """Write slices of one APA; the file appears (renamed into place) only when closed."""

    def __init__(
        self, path: str | Path, scenario: DetectorScenario, apa: int = 0, run_number: int = 1
    ) -> None:
        n_ch = scenario.geometry.n_channels
        if n_ch % wibeth.CHANNELS_PER_FRAME:
            raise ValueError(f"{n_ch} channels do not fill whole 64-channel WIBEth streams")
        if scenario.readout.adc_bits > wibeth.BITS_PER_ADC:
            raise ValueError("WIBEth frames hold 14-bit ADCs; adc_bits is larger")
        self.scenario, self.apa, self.run_number = scenario, apa, run_number
        self._atomic = atomic_path(path)
        self._tmp = self._atomic.__enter__()
        self._file = h5py.File(self._tmp, "w")
        attrs = self._file.attrs
        attrs["record_type"] = RECORD_PREFIX
        attrs["filelayout_version"] = 4
        attrs["run_number"] = run_number
        attrs["application_name"] = "triggerml simulate"
        attrs["triggerml_scenario"] = json.dumps(to_mapping(scenario))
        attrs["triggerml_versions"] = json.dumps(versions())
        attrs["triggerml_apa"] = apa
        self._frames = 0

    def write(self, slice_: Slice) -> None:
        number = slice_.index + 1
        group = self._file.create_group(f"{RECORD_PREFIX}{number:06d}")
        header = np.zeros(1, dtype=TIMESLICE_HEADER)
        header[0] = (
            TIMESLICE_MARKER,
            2,
            number,
            self.run_number,
            0,
            2,
            SUBSYSTEM_DETECTOR_READOUT,
            self.apa,
        )
        group.create_dataset("TimeSliceHeader", data=header.view(np.uint8))
        raw = group.create_group("RawData")
        n_streams = slice_.adc.shape[0] // wibeth.CHANNELS_PER_FRAME
        n_frames = slice_.adc.shape[1] // wibeth.SAMPLES_PER_FRAME
        begin = slice_.start_tick * wibeth.TICKS_PER_SAMPLE
        for k in range(n_streams):
            block = slice_.adc[k * 64 : (k + 1) * 64]
            payload = wibeth.encode_frames(
                block, wibeth.StreamAddress.of(self.apa, k), slice_.start_tick, self._frames
            )
            frag = np.zeros(1, dtype=FRAGMENT_HEADER)
            frag[0] = (
                FRAGMENT_MARKER,
                5,
                FRAGMENT_HEADER.itemsize + payload.size,
                number,
                begin,
                begin,
                begin + n_frames * TICKS_PER_FRAME,
                self.run_number,
                0,
                FRAGMENT_TYPE_WIBETH,
                0,
                0xFFFF,
                2,
                SUBSYSTEM_DETECTOR_READOUT,
                source_id(self.apa, k),
            )
            data = np.concatenate([frag.view(np.uint8), payload])
            raw.create_dataset(f"Detector_Readout_0x{source_id(self.apa, k):08x}_WIBEth", data=data)
        self._frames += n_frames
        self._file.create_dataset(f"{TRUTH_GROUP}/{RECORD_PREFIX}{number:06d}", data=slice_.truth)

    def close(self) -> None:
        self._file.attrs["closed_cleanly"] = True
        self._file.close()
        self._atomic.__exit__(None, None, None)

    def abort(self, error: BaseException) -> None:
        self._file.close()
        self._atomic.__exit__(type(error), error, error.__traceback__)

    def __enter__(self) -> RawFileWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if error is None:
            self.close()
        else:
            self.abort(error)


@dataclass
class ReadReport:
    """What the reader saw: records, frames, and every problem by kind."""

    records: int = 0
    frames: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    messages: list[str] = field(default_factory=list)

    def flag(self, kind: str, message: str) -> None:
        self.problems[kind] += 1
        if len(self.messages) < 50:
            self.messages.append(f"{kind}: {message}")

    @property
    def clean(self) -> bool:
        return not self.problems


class RawFileReader:
    """Read slices back from a raw-data file (ours or DUNE-DAQ's), checking as it goes."""

    def __init__(self, path: str | Path, n_channels: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise RawDataError(f"{self.path} not found: give a raw-data file `simulate` wrote")
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as error:
            raise RawDataError(
                f"{self.path} cannot be opened as HDF5 ({error}): the file is truncated, "
                "corrupt or not a raw-data file"
            ) from None
        self.report = ReadReport()
        attrs = self._file.attrs
        self.scenario_json = attrs.get("triggerml_scenario")
        if n_channels is None and self.scenario_json is not None:
            geometry = json.loads(self.scenario_json)["geometry"]
            n_channels = (
                geometry["channels_u"]
                + geometry["channels_v"]
                + 2 * geometry["channels_x_per_face"]
            )
        self.n_channels = n_channels
        if not attrs.get("closed_cleanly", False) and self.scenario_json is not None:
            self.report.flag("truncated", "the writer did not close the file cleanly")
        self._last: dict[int, tuple[int, int]] = {}  # stream → (last seq_id, last timestamp)

    def records(self) -> list[str]:
        return sorted(
            name for name in self._file if name.startswith(("TimeSlice", "TriggerRecord"))
        )

    def __iter__(self) -> Iterator[Slice]:
        for index, name in enumerate(self.records()):
            yield self.read_record(name, index)

    def read_record(self, name: str, index: int) -> Slice:
        report = self.report
        report.records += 1
        group = self._file[name]
        streams: dict[int, tuple[int, npt.NDArray[np.uint16]]] = {}
        raw = group.get("RawData")
        if raw is None:
            report.flag("wrong_shape", f"{name} has no RawData group")
            raw = {}
        for ds_name in raw:
            fragment = self._read_dataset(raw[ds_name], f"{name}/RawData/{ds_name}")
            if fragment is None:
                continue
            decoded = self._decode_fragment(fragment, f"{name}/{ds_name}")
            if decoded is not None:
                stream, first_tick, adc = decoded
                streams[stream] = (first_tick, adc)
        return self._assemble(name, index, streams, self._truth(name))

    def _read_dataset(self, dataset: h5py.Dataset, where: str) -> npt.NDArray[np.uint8] | None:
        try:
            data = dataset[()]
        except (OSError, KeyError) as error:
            self.report.flag("truncated", f"{where} unreadable: {error}")
            return None
        if not isinstance(data, np.ndarray) or data.ndim != 1 or data.dtype.itemsize != 1:
            self.report.flag("wrong_shape", f"{where} is not a 1-D byte dataset")
            return None
        return data.view(np.uint8)

    def _decode_fragment(
        self, data: npt.NDArray[np.uint8], where: str
    ) -> tuple[int, int, npt.NDArray[np.uint16]] | None:
        report = self.report
        size = FRAGMENT_HEADER.itemsize
        if data.size < size:
            report.flag("truncated", f"{where}: {data.size} bytes, shorter than a header")
            return None
        header = data[:size].view(FRAGMENT_HEADER)[0]
        if header["marker"] != FRAGMENT_MARKER:
            report.flag("bad_frame", f"{where}: fragment marker {header['marker']:#x}")
            return None
        if header["fragment_type"] != FRAGMENT_TYPE_WIBETH:
            return None  # another detector's data: not ours to read
        if header["size"] != data.size:
            report.flag(
                "truncated", f"{where}: header says {header['size']} bytes, dataset has {data.size}"
            )
        payload = data[size:]
        whole = payload.size // wibeth.FRAME_BYTES
        if payload.size % wibeth.FRAME_BYTES:
            report.flag(
                "bad_frame",
                f"{where}: {payload.size % wibeth.FRAME_BYTES} bytes of a partial frame",
            )
        if whole == 0:
            return None
        fields, timestamps, adc = wibeth.decode_frames(payload[: whole * wibeth.FRAME_BYTES])
        report.frames += whole
        bad = (fields["det_id"] != wibeth.DET_ID_HD_TPC) | (
            fields["block_length"] != wibeth.FRAME_BYTES // 8
        )
        for i in np.flatnonzero(bad):
            report.flag(
                "bad_frame",
                f"{where}: frame {i} has det_id {fields['det_id'][i]}, "
                f"block length {fields['block_length'][i]}",
            )
        stream = int(fields["slot"][0] * wibeth.STREAMS_PER_SLOT + fields["stream"][0])
        if np.any(fields["slot"] != fields["slot"][0]) or np.any(
            fields["stream"] != fields["stream"][0]
        ):
            report.flag("bad_frame", f"{where}: frames from more than one stream")
        self._check_continuity(stream, fields["seq_id"], timestamps, where)
        return stream, int(timestamps[0] // wibeth.TICKS_PER_SAMPLE), adc

    def _check_continuity(
        self, stream: int, seq: npt.NDArray[np.int64], timestamps: npt.NDArray[np.int64], where: str
    ) -> None:
        if stream in self._last:
            last_seq, last_ts = self._last[stream]
            seq = np.concatenate([[last_seq], seq])
            timestamps = np.concatenate([[last_ts], timestamps])
        ts_gaps = np.flatnonzero(np.diff(timestamps) != TICKS_PER_FRAME)
        for i in ts_gaps:
            self.report.flag(
                "timestamp_gap",
                f"{where}: timestamp jumps by {timestamps[i + 1] - timestamps[i]} ticks",
            )
        seq_gaps = np.flatnonzero((np.diff(seq) % 4096) != 1)
        for i in seq_gaps:
            self.report.flag("sequence_gap", f"{where}: seq_id {seq[i]} → {seq[i + 1]}")
        self._last[stream] = (int(seq[-1]), int(timestamps[-1]))

    def _assemble(
        self,
        name: str,
        index: int,
        streams: dict[int, tuple[int, npt.NDArray[np.uint16]]],
        truth: npt.NDArray,
    ) -> Slice:
        report = self.report
        n_channels = self.n_channels or 64 * (max(streams, default=-1) + 1)
        lengths = {adc.shape[1] for _, adc in streams.values()}
        if len(lengths) > 1:
            report.flag("wrong_shape", f"{name}: streams carry {sorted(lengths)} samples")
        n_ticks = max(lengths, default=0)
        adc = np.zeros((n_channels, n_ticks), dtype=np.int16)
        expected = set(range(n_channels // 64))
        missing = expected - set(streams)
        if missing:
            report.flag(
                "wrong_shape",
                f"{name}: {len(missing)} of {len(expected)} streams missing (their samples are 0)",
            )
        start = min((tick for tick, _ in streams.values()), default=0)
        for stream, (_, block) in streams.items():
            if stream not in expected:
                report.flag("wrong_shape", f"{name}: stream {stream} outside the APA")
                continue
            adc[stream * 64 : stream * 64 + 64, : block.shape[1]] = block
        return Slice(index, start, adc, truth)

    def _truth(self, name: str) -> npt.NDArray:
        from triggerml.detector.sources import TRUTH_DTYPE

        path = f"{TRUTH_GROUP}/{name}"
        if path in self._file:
            try:
                return self._file[path][()]
            except OSError as error:
                self.report.flag("truncated", f"{path} unreadable: {error}")
        return np.zeros(0, dtype=TRUTH_DTYPE)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RawFileReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
