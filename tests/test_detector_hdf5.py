"""Raw-data HDF5 in DUNE-DAQ layout: lossless round trip, and every corruption detected."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import h5py
import numpy as np
import pytest
from numpy.testing import assert_array_equal

from triggerml.detector import wibeth
from triggerml.detector.config import DetectorScenario
from triggerml.detector.hdf5io import (
    FRAGMENT_HEADER,
    RawDataError,
    RawFileReader,
    RawFileWriter,
)
from triggerml.detector.stream import ApaStream


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    scenario = dataclasses.replace(DetectorScenario(seed=3), seconds=0.006)
    slices = list(ApaStream(scenario))
    path = tmp_path_factory.mktemp("raw") / "run.h5"
    with RawFileWriter(path, scenario) as writer:
        for slice_ in slices:
            writer.write(slice_)
    return path, slices


def _copy(written: tuple[Path, list], tmp_path: Path) -> Path:
    target = tmp_path / "copy.h5"
    target.write_bytes(written[0].read_bytes())
    return target


def _first_fragment(handle: h5py.File) -> h5py.Dataset:
    record = sorted(k for k in handle if k.startswith("TimeSlice"))[0]
    raw = handle[record]["RawData"]
    return raw[sorted(raw)[0]]


def test_pack_unpack_is_exact_over_the_14_bit_range() -> None:
    rng = np.random.default_rng(0)
    adc = rng.integers(0, 2**14, size=(3, 64, 64)).astype(np.uint16)
    adc[0, 0] = 2**14 - 1
    adc[0, 1] = 0
    assert_array_equal(wibeth.unpack_adc(wibeth.pack_adc(adc)), adc)


def test_frame_layout_is_7200_bytes_with_dune_header_fields() -> None:
    adc = np.arange(64 * 128, dtype=np.int16).reshape(64, 128) % 16384
    payload = wibeth.encode_frames(
        adc, wibeth.StreamAddress(crate=2, slot=3, stream=5), first_sample=1000, first_frame=4095
    )
    assert payload.size == 2 * wibeth.FRAME_BYTES
    fields, timestamps, decoded = wibeth.decode_frames(payload)
    assert fields["crate"].tolist() == [2, 2]
    assert fields["slot"].tolist() == [3, 3]
    assert fields["stream"].tolist() == [5, 5]
    assert fields["det_id"].tolist() == [3, 3]
    assert fields["seq_id"].tolist() == [4095, 0]  # 12-bit sequence wraps
    assert fields["block_length"].tolist() == [900, 900]
    assert timestamps.tolist() == [32_000, 32_000 + 2048]
    assert_array_equal(decoded, adc)


def test_round_trip_is_lossless(written: tuple[Path, list]) -> None:
    path, slices = written
    with RawFileReader(path) as reader:
        back = list(reader)
        assert reader.report.clean, reader.report.messages
        assert reader.report.frames == len(slices) * 40 * 64
    assert len(back) == len(slices)
    for original, read in zip(slices, back, strict=True):
        assert read.start_tick == original.start_tick
        assert_array_equal(read.adc, original.adc)
        assert_array_equal(read.truth, original.truth)


def test_file_layout_follows_hdf5libs(written: tuple[Path, list]) -> None:
    with h5py.File(written[0], "r") as handle:
        assert handle.attrs["record_type"] == "TimeSlice"
        assert "TimeSlice000001" in handle
        raw = handle["TimeSlice000001/RawData"]
        names = sorted(raw)
        assert len(names) == 40
        assert names[0] == "Detector_Readout_0x00000000_WIBEth"
        header = raw[names[0]][: FRAGMENT_HEADER.itemsize].view(FRAGMENT_HEADER)[0]
        assert header["marker"] == 0x11112222
        assert header["fragment_type"] == 12
        assert header["size"] == raw[names[0]].size == 72 + 64 * 7200


def test_truncated_file_is_detected(written: tuple[Path, list], tmp_path: Path) -> None:
    target = tmp_path / "cut.h5"
    data = written[0].read_bytes()
    target.write_bytes(data[: len(data) // 2])
    with pytest.raises(RawDataError, match="truncated"):
        RawFileReader(target)


def test_truncated_fragment_is_detected(written: tuple[Path, list], tmp_path: Path) -> None:
    path = _copy(written, tmp_path)
    with h5py.File(path, "r+") as handle:
        record = handle["TimeSlice000002/RawData"]
        name = sorted(record)[7]
        data = record[name][()]
        del record[name]
        record.create_dataset(name, data=data[: data.size - 5000])
    with RawFileReader(path) as reader:
        list(reader)
        report = reader.report
    assert report.problems["truncated"] == 1
    assert report.problems["bad_frame"] == 1  # the partial frame left at the end


def test_bad_frame_is_detected(written: tuple[Path, list], tmp_path: Path) -> None:
    path = _copy(written, tmp_path)
    with h5py.File(path, "r+") as handle:
        dataset = _first_fragment(handle)
        data = dataset[()]
        words = data[72:].view(np.uint64).reshape(-1, 900)
        words[10, 0] ^= np.uint64(1) << np.uint64(8)  # det_id bit flipped in frame 10
        dataset[...] = data
    with RawFileReader(path) as reader:
        list(reader)
        assert reader.report.problems["bad_frame"] == 1
        assert "frame 10" in reader.report.messages[0]


def test_timestamp_gap_is_detected(written: tuple[Path, list], tmp_path: Path) -> None:
    path = _copy(written, tmp_path)
    with h5py.File(path, "r+") as handle:
        dataset = _first_fragment(handle)
        data = dataset[()]
        words = data[72:].view(np.uint64).reshape(-1, 900)
        words[20:, 1] += np.uint64(2048 * 3)  # three frames missing in time
        dataset[...] = data
    with RawFileReader(path) as reader:
        list(reader)
        problems = reader.report.problems
    # the jump inside the record, and the jump back at the next record
    assert problems["timestamp_gap"] == 2
    assert problems["sequence_gap"] == 0


def test_sequence_gap_is_detected(written: tuple[Path, list], tmp_path: Path) -> None:
    path = _copy(written, tmp_path)
    with h5py.File(path, "r+") as handle:
        dataset = _first_fragment(handle)
        data = dataset[()]
        words = data[72:].view(np.uint64).reshape(-1, 900)
        words[30, 0] ^= np.uint64(1) << np.uint64(41)  # seq_id of frame 30 corrupted
        dataset[...] = data
    with RawFileReader(path) as reader:
        list(reader)
        assert reader.report.problems["sequence_gap"] == 2  # into and out of frame 30
        assert reader.report.problems["timestamp_gap"] == 0


@pytest.mark.parametrize("damage", ["missing_stream", "two_dimensional"])
def test_wrong_shapes_are_detected(written: tuple[Path, list], tmp_path: Path, damage: str) -> None:
    path = _copy(written, tmp_path)
    with h5py.File(path, "r+") as handle:
        raw = handle["TimeSlice000001/RawData"]
        name = sorted(raw)[3]
        data = raw[name][()]
        del raw[name]
        if damage == "two_dimensional":
            raw.create_dataset(name, data=data[: 72 + 7200 * 2].reshape(2, -1))
    with RawFileReader(path) as reader:
        slices = list(reader)
        assert reader.report.problems["wrong_shape"] >= 1
    assert not slices[0].adc[3 * 64 : 4 * 64].any()  # the lost stream is zeros, and said so
