"""Noise (triggerml.detector.noise): RMS and spectrum as configured and as the ENC and gain
give; the int16 noise pass, used when the pedestal and the noise banks cannot leave int16,
writes the samples the int32 one writes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from detector_support import quiet_scenario
from numpy.testing import assert_array_equal

from triggerml.detector.config import (
    PLANES,
    DetectorScenario,
    Readout,
    Supernova,
)
from triggerml.detector.noise import (
    BANK_LENGTH,
    BANK_ROWS,
    COHERENT_ROWS,
    QUANTIZATION_VARIANCE,
    NoiseBanks,
    expected_psd,
    fill_slice,
    int16_holds,
    make_bank,
    narrowest,
    noise_reach,
    noise_shape,
)
from triggerml.detector.response import PRE_TICKS, ResponseTemplates
from triggerml.detector.stream import ApaStream


@pytest.fixture(scope="module")
def noise_slices() -> tuple[DetectorScenario, np.ndarray, np.ndarray]:
    scenario = quiet_scenario()
    stream = ApaStream(scenario)
    adc = np.concatenate([stream.next_slice().adc for _ in range(3)], axis=1)
    return scenario, adc, stream.pedestals


@pytest.mark.parametrize("plane", PLANES)
def test_noise_rms_matches_config(noise_slices, plane: str) -> None:  # type: ignore[no-untyped-def]
    scenario, adc, pedestals = noise_slices
    g = scenario.geometry
    first, n = g.first_channel[plane], g.plane_channels[plane]
    block = adc[first : first + n].astype(np.float64) - pedestals[first : first + n, None]
    measured = block.std()
    expected = scenario.readout.noise_rms(plane)
    # rows are normalized exactly, so the spread comes from the shared (coherent) part and
    # the bank draws: well under 1 %
    assert measured == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize("plane", PLANES)
def test_noise_spectrum_matches_config(noise_slices, plane: str) -> None:  # type: ignore[no-untyped-def]
    scenario, adc, pedestals = noise_slices
    g, ro = scenario.geometry, scenario.readout
    first, n = g.first_channel[plane], g.plane_channels[plane]
    segment = 1024
    block = adc[first : first + n, : (adc.shape[1] // segment) * segment].astype(np.float64)
    block -= pedestals[first : first + n, None]
    pieces = block.reshape(n, -1, segment).reshape(-1, segment)
    window = np.hanning(segment)
    spectra = np.abs(np.fft.rfft(pieces * window, axis=1)) ** 2
    psd = 2 * spectra.mean(axis=0) / (ro.sampling_hz * (window**2).sum())
    freqs = np.fft.rfftfreq(segment, 1 / ro.sampling_hz)
    expected = expected_psd(freqs, ro, plane)
    bands = np.array_split(np.arange(4, freqs.size - 1), 12)
    ratios = [psd[b].mean() / expected[b].mean() for b in bands]
    # ≈ 2400 segments per band average: a few % statistical error, coherent part included
    assert np.allclose(ratios, 1.0, atol=0.06), np.round(ratios, 3)


@pytest.mark.parametrize("adc_bits", [12, 14])
def test_noise_follows_from_the_enc_and_the_gain(adc_bits: int) -> None:
    """ENC is the given: the noise in ADC is ENC × the response peak of one electron."""
    readout = Readout(adc_bits=adc_bits)
    templates = ResponseTemplates.build(readout).templates
    peak = float(templates[1, 0].max())  # collection, no diffusion, best phase
    assert readout.peak_adc_per_electron == pytest.approx(peak, rel=0.005)
    assert readout.noise_rms("x") == pytest.approx(600 * peak, rel=0.005)
    # DESIGN §4: ENC ≈ 600 e⁻ is ≈5 ADC at 12 bit, ≈20 at 14 bit
    assert readout.noise_rms("x") == pytest.approx(5.0 * 2 ** (adc_bits - 12), rel=0.05)


@pytest.mark.parametrize("adc_bits", [12, 14])
def test_int16_and_int32_noise_passes_write_the_same_samples(adc_bits: int) -> None:
    """A close supernova and a huge point deposit on top (signal rendering and clipping at
    the ADC's top included)."""
    scenario = dataclasses.replace(
        DetectorScenario(seed=4, readout=Readout(adc_bits=adc_bits)),
        seconds=0.012,
        supernova=Supernova(distance_kpc=0.3, duration_s=0.012),
    )
    narrow, wide = ApaStream(scenario), ApaStream(scenario)
    assert int16_holds(narrow.pedestals, narrow._noise_reach)  # the int16 pass runs here
    wide._noise_reach = 1 << 20  # forces the int32 pass
    for stream in (narrow, wide):  # 300 MeV at one point 5 cm from the wires: saturates
        stream.inject(np.array([[5.0, 300.0, 100.0, 300.0]]), time_tick=5000)
    clipped = 0
    for a, b in zip(narrow, wide, strict=True):
        assert_array_equal(a.adc, b.adc)
        clipped += int((a.adc == scenario.readout.adc_max).sum())
    assert clipped > 0  # the clipping path ran


def test_int8_banks_write_the_samples_int16_banks_write() -> None:
    """The stream keeps its noise banks in int8 when they fit: the same slices as int16."""
    scenario = dataclasses.replace(
        DetectorScenario(seed=6, supernova=Supernova(distance_kpc=0.5, duration_s=0.008)),
        seconds=0.008,
    )
    narrow, wide = ApaStream(scenario), ApaStream(scenario)
    assert narrow._inc_bank.dtype == np.int8
    assert narrow._coh_bank.dtype == np.int8
    wide._inc_bank = wide._inc_bank.astype(np.int16)
    wide._coh_bank = wide._coh_bank.astype(np.int16)
    for a, b in zip(narrow, wide, strict=True):
        assert_array_equal(a.adc, b.adc)


def test_a_bank_outside_int8_stays_int16() -> None:
    fits = np.array([[127, -128, 0]], dtype=np.int16)
    assert narrowest(fits).dtype == np.int8
    assert_array_equal(narrowest(fits), fits)
    for value in (128, -129):
        wide = np.array([[value, 0]], dtype=np.int16)
        assert narrowest(wide) is wide


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_noise_reach_is_the_largest_magnitude_of_each_bank_summed(dtype: type) -> None:
    """Taken from the banks' extremes, not an int64 copy: the most negative value of the
    type included (whose magnitude the type cannot hold)."""
    rng = np.random.default_rng(2)
    low, high = np.iinfo(dtype).min, np.iinfo(dtype).max
    for _ in range(20):
        inc = rng.integers(low, high + 1, (3, 40), dtype=dtype)
        coh = rng.integers(low // 4, high // 4, (2, 9), dtype=dtype)
        expected = sum(int(np.abs(bank.astype(np.int64)).max()) for bank in (inc, coh))
        assert noise_reach(inc, coh) == expected
    zeros = np.zeros((2, 3), dtype)
    assert noise_reach(np.full((1, 2), low, dtype), zeros) == -int(low)
    assert noise_reach(zeros, zeros) == 0


def _fill_reference(
    shape: tuple[int, int], start: int, args: dict, templates: np.ndarray, adc_max: int
) -> np.ndarray:
    """fill_slice as its docstring states it, channel by channel in numpy: pedestal + noise
    (rows wrap; a gain ≠ 1 scales and rounds the incoherent part) + the rounded float32 sum
    of every cluster's template, clipped to the ADC range."""
    n_ch, n_t = shape
    length = args["inc_bank"].shape[1]
    n_tpl, n_phase = templates.shape[3], templates.shape[2]
    out = np.empty(shape, np.int16)
    t = np.arange(n_t)
    for ch in range(n_ch):
        row = args["inc_bank"][args["inc_row"][ch]].astype(np.int64)
        inc = args["inc_sign"][ch] * row[(args["inc_offset"][ch] + t) % length]
        if args["gain"][ch] != 1.0:
            inc = np.rint(inc * args["gain"][ch]).astype(np.int64)
        g = args["group"][ch]
        crow = args["coh_bank"][args["coh_base"][ch] + args["coh_row"][g]].astype(np.int64)
        value = args["pedestal"][ch] + inc + crow[(args["coh_offset"][g] + t) % length]
        signal = np.zeros(n_t, np.float32)
        for c in range(args["cluster_ptr"][ch], args["cluster_ptr"][ch + 1]):
            t0 = args["cluster_t0"][c]
            tick = int(np.floor(t0))
            phase = min(int((t0 - tick) * n_phase), n_phase - 1)
            tpl = templates[args["cluster_kind"][c], args["cluster_sigma"][c], phase]
            base = tick - PRE_TICKS - start
            k = np.arange(max(0, -base), min(n_tpl, n_t - base))
            signal[base + k] += args["cluster_q"][c] * tpl[k]
        value += np.rint(signal).astype(np.int64)
        out[ch] = np.clip(value, 0, adc_max)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_fill_slice_equals_its_reference(seed: int) -> None:
    """Random banks, offsets near the wrap, gains ≠ 1, pedestals at both ends of the range
    (clipped runs take the kernel's recomputing path, the rest its add-to-noise path),
    overlapping pulses and pulses cut by the slice's edges."""
    rng = np.random.default_rng(seed)
    n_ch, n_t, length, adc_max, start = 24, 700, 1024, 4095, 10_000  # rows wrap once at most
    templates = ResponseTemplates.build(Readout()).templates
    n_groups = 4
    group = np.arange(n_ch) // (n_ch // n_groups)
    n_cl = 300
    channel = np.sort(rng.integers(0, n_ch, n_cl))
    t0 = start + rng.uniform(-80, n_t + 20, n_cl)
    t0[::7] = start + np.floor(rng.uniform(0, n_t, t0[::7].size))  # on the tick: phase 0
    order = np.lexsort((t0, channel))
    channel, t0 = channel[order], t0[order]
    pedestal = rng.integers(0, adc_max + 1, n_ch).astype(np.int32)
    pedestal[:3] = (0, 3, adc_max - 2)
    args = {
        "pedestal": pedestal,
        "gain": np.where(rng.random(n_ch) < 0.25, rng.uniform(0.8, 1.2, n_ch), 1.0),
        "inc_bank": rng.integers(-60, 61, (6, length)).astype(np.int16),
        "inc_row": rng.integers(0, 6, n_ch),
        "inc_offset": rng.choice([0, length - 1, length - 300, 17], n_ch),
        "inc_sign": rng.choice(np.array([-1, 1], dtype=np.int32), n_ch),
        "group": group,
        "coh_bank": rng.integers(-20, 21, (4, length)).astype(np.int16),
        "coh_base": np.zeros(n_ch, np.int64),
        "coh_row": rng.integers(0, 4, n_groups),
        "coh_offset": rng.choice([0, length - 5, 200], n_groups),
        "cluster_ptr": np.searchsorted(channel, np.arange(n_ch + 1)),
        "cluster_t0": t0,
        "cluster_q": rng.choice([60.0, 3e3, 4e5], n_cl).astype(np.float32),
        "cluster_sigma": rng.integers(0, templates.shape[1], n_cl),
        "cluster_kind": rng.integers(0, 2, n_cl).astype(np.int64),
    }
    expected = _fill_reference((n_ch, n_t), start, args, templates, adc_max)
    assert (expected == 0).any()
    assert (expected == adc_max).any()
    for narrow in (False, True):
        out = np.full((n_ch, n_t), -7, np.int16)
        fill_slice(out, start, *(args[k] for k in FILL_ARGS), templates, adc_max, narrow)
        assert_array_equal(out, expected)


FILL_ARGS = (
    "pedestal", "gain", "inc_bank", "inc_row", "inc_offset", "inc_sign", "group", "coh_bank",
    "coh_base", "coh_row", "coh_offset", "cluster_ptr", "cluster_t0", "cluster_q",
    "cluster_sigma", "cluster_kind",
)  # fmt: skip


def _bank_as_first_written(
    rms: float, readout: Readout, rng: np.random.Generator, rows: int, length: int
) -> np.ndarray:
    """make_bank as it was first written (complex temporaries): its rows are the spec."""
    freqs = np.fft.rfftfreq(length, d=1.0 / readout.sampling_hz)
    amplitude = np.sqrt(noise_shape(freqs, readout))
    amplitude[0] = 0.0
    spectrum = (
        rng.standard_normal((rows, freqs.size)) + 1j * rng.standard_normal((rows, freqs.size))
    ) * amplitude
    series = np.fft.irfft(spectrum, n=length, axis=1)
    series /= series.std(axis=1, keepdims=True)
    return np.rint(series * rms).astype(np.int16)


@pytest.mark.parametrize("seed", range(2))
def test_banks_are_the_rows_first_written(seed: int) -> None:
    """The same draws, the same rows: incoherent banks, and coherent banks made once and
    scaled per plane equal to one made per plane from the shared seed."""
    readout = Readout(adc_bits=14 if seed else 12)
    for rms, rows, length in ((3.7, 4, 4096), (19.2, 3, 1 << 16)):
        want = _bank_as_first_written(rms, readout, np.random.default_rng(seed), rows, length)
        got = make_bank(rms, readout, np.random.default_rng(seed), rows, length)
        assert_array_equal(got, want)
    banks = NoiseBanks.build(readout, np.random.default_rng(seed))
    check = np.random.default_rng(seed)
    coherent_seed = int(check.integers(2**63))
    for plane in PLANES:
        total = readout.noise_rms(plane) ** 2
        inc = np.sqrt((1 - readout.coherent_fraction) * total - QUANTIZATION_VARIANCE)
        coh = np.sqrt(readout.coherent_fraction * total - QUANTIZATION_VARIANCE)
        want_inc = _bank_as_first_written(inc, readout, check, BANK_ROWS, BANK_LENGTH)
        want_coh = _bank_as_first_written(
            coh, readout, np.random.default_rng(coherent_seed), COHERENT_ROWS, BANK_LENGTH
        )
        assert_array_equal(banks.incoherent[plane], want_inc)
        assert_array_equal(banks.coherent[plane], want_coh)
