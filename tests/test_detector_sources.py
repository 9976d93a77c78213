"""The background model source by source (triggerml.detector.sources): decay and capture
counts, Q values, outer APAs, plate-out, single particles."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import signal
import subprocess
import sys

import numpy as np
import pytest
from detector_support import QUIET, quiet_scenario
from scipy import stats

from triggerml.detector import catalogue
from triggerml.detector.config import (
    ApaKind,
    DetectorScenario,
    Singles,
    Supernova,
)
from triggerml.detector.drift import inside, visible_energy_mev
from triggerml.detector.sources import EventGenerator, external_max_mev


def scenario_of(kind: ApaKind, **backgrounds: float) -> DetectorScenario:
    return DetectorScenario(
        apa_kind=kind,
        backgrounds=dict(QUIET, **backgrounds),
        singles=Singles(),
        supernova=Supernova(),
    )


def count_in(generator: EventGenerator, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    return generator.window(0, round(seconds / generator.tick_s))


def poisson_ok(count: int, expected: float) -> bool:
    low, high = stats.poisson.interval(0.9999, expected)
    return bool(low <= count <= high)


@pytest.mark.parametrize("kind", list(ApaKind))
def test_decay_counts_follow_activity_times_amount_times_live_time(kind: ApaKind) -> None:
    """Each location's source against its expectation, computed here from the config."""
    sc = scenario_of(kind)
    st = sc.structures
    volumes = 2 if kind is ApaKind.CENTRAL else 1
    volume_kg = 3.5 * 6.0 * 2.3 * 1396.0
    sheet_kg = 600 * 230 * st.cpa_thickness_cm * st.fr4_density_g_cm3 / 1e3
    seconds = 0.2
    cases = {
        "Ar39": (1.01, 1.01 * volumes * volume_kg),
        # 80 % of K-42 ions on the cathode sheets, from both drift volumes beside each sheet
        "K42_cathode": (None, 92e-6 * 0.8 * 2 * volume_kg * volumes),
        # FR4 chain: 9 members in equilibrium + Po-212 (64 %) + Tl-208 (36 %) = 10 decays
        "Th232_cpa": (7.2, 7.2 * sheet_kg * volumes * 10),
        "Co60_apa": (0.137, 0.137 * st.frame_steel_kg),
        "Pb210_pds": (0.2, 0.2 * st.pds_modules * st.pds_module_area_cm2 / 1e4 * 3),
        # photons from the plane above (and, for outer APAs, through the wall side)
        "gamma_cavern": (
            1.05104,
            1.05104
            * (volumes * 350 * 230 + (600 * 230 * st.wall_factor_gamma if volumes == 1 else 0)),
        ),
    }
    for name, (activity, per_second) in cases.items():
        backgrounds = {name: activity} if activity is not None else {"Ar42": 92e-6}
        generator = EventGenerator(
            scenario_of(kind, **backgrounds), np.random.default_rng(7), only={name}
        )
        truth, _ = count_in(generator, seconds)
        expected = per_second * seconds
        assert poisson_ok(generator.emitted[name], expected), (name, generator.emitted, expected)
        if name != "gamma_cavern":  # every decay has a truth row; photons only when they hit
            assert int((truth["kind"] == name.encode()).sum()) == generator.emitted[name]


def test_neutron_captures_follow_the_module_average_rate() -> None:
    sc = scenario_of(ApaKind.CENTRAL, ncapture=2.6996e-7)
    generator = EventGenerator(sc, np.random.default_rng(3), only={"ncapture"})
    seconds = 3000.0
    truth, _ = count_in(generator, seconds)
    surface_cm2 = 2 * (12 * 14 + 12 * 57.5 + 14 * 57.5) * 1e4  # 12 m high, 14 m across, 57.5 m
    expected = 2.6996e-7 * surface_cm2 / (sc.module_mass_t() * 1e3) * sc.mass_per_apa_t * 1e3
    assert poisson_ok(generator.emitted["ncapture"], expected * seconds)
    isotopes = truth["isotope"]
    ar36 = float((isotopes == b"Ar36").mean())
    assert 0.0 < ar36 < 0.1  # ≈2.6 % of thermal captures


@pytest.mark.parametrize("name", [s.name for s in catalogue.SOURCES])
def test_no_source_is_seen_above_its_q_value(name: str) -> None:
    source = catalogue.SOURCE_BY_NAME[name]
    kind = ApaKind.OUTER if name.startswith("gamma") else ApaKind.CENTRAL
    sc = DetectorScenario(apa_kind=kind, singles=Singles(), supernova=Supernova())
    rate = sum(e.rate_hz for e in EventGenerator(sc, np.random.default_rng(0)).emissions
               if e.source.name == name)  # fmt: skip
    generator = EventGenerator(sc, np.random.default_rng(11), only={name})
    truth, deposits = count_in(generator, min(max(300 / rate, 1e-3), 2e4))
    kept = deposits[inside(deposits, sc)]
    first = int(truth["event_id"][0]) if truth.size else 0
    visible = np.bincount(
        kept[:, 4].astype(np.int64) - first,
        weights=visible_energy_mev(kept, sc),
        minlength=truth.size,
    )
    if source.spectrum is not None:
        limits = np.full(truth.size, external_max_mev(source.spectrum))
    elif name == "ncapture":
        limits = np.where(truth["isotope"] == b"Ar40", 6.0989, 8.7912)
    else:
        limits = np.array([catalogue.q_value_mev(i.decode()) for i in truth["isotope"]])
    assert truth.size > 0
    assert np.all(visible <= limits + 1e-9), (name, float((visible - limits).max()))


def test_outer_apas_see_one_drift_volume_and_the_wall() -> None:
    outer = scenario_of(ApaKind.OUTER, Ar39=1.01, gamma_cavern=1.05104)
    generator = EventGenerator(outer, np.random.default_rng(2))
    truth, deposits = count_in(generator, 0.01)
    kept = deposits[inside(deposits, outer)]
    assert np.all(kept[:, 0] > 0)
    assert np.all(truth["x_cm"][truth["kind"] == b"Ar39"] >= 0)
    planes = {e.plane for e in generator.emissions if e.source.name == "gamma_cavern"}
    assert planes == {"top", "wall"}
    central = EventGenerator(
        scenario_of(ApaKind.CENTRAL, gamma_cavern=1.0), np.random.default_rng(2)
    )
    assert {e.plane for e in central.emissions} == {"top"}


def test_plateout_moves_daughters_between_liquid_and_cathode() -> None:
    base = scenario_of(ApaKind.CENTRAL, Rn222=1e-3)
    rates = {
        e.source.name + e.isotope: e.rate_hz
        for e in EventGenerator(base, np.random.default_rng(0)).emissions
    }
    all_on_cathode = dataclasses.replace(base, plateout={"Bi214": 1.0})
    moved = {
        e.source.name + e.isotope: e.rate_hz
        for e in EventGenerator(all_on_cathode, np.random.default_rng(0)).emissions
    }
    assert "Rn222Bi214" not in moved  # nothing left in the liquid
    volume_kg = base.drift_volume_mass_kg
    assert moved["Rn222_cathodeBi214"] == pytest.approx(1e-3 * 1.0 * 2 * volume_kg * 2)
    assert rates["Rn222Bi214"] == pytest.approx(1e-3 * (1 - 0.672) * 2 * volume_kg)


def test_singles_in_an_energy_range_are_flat_within_it() -> None:
    from triggerml.detector.config import DetectorScenario, Particle, Singles
    from triggerml.detector.sources import EventGenerator

    scenario = DetectorScenario(
        singles=Singles(
            particle=Particle.ELECTRON, rate_hz=1.0, energies_mev=(2.0,), ranges_mev=((5.0, 10.0),)
        )
    )
    generator = EventGenerator(scenario, np.random.default_rng(1))
    energies = generator._single_energies(scenario.singles, 20_000)
    fixed = energies == 2.0
    assert 0.47 < fixed.mean() < 0.53
    flat = energies[~fixed]
    assert flat.min() >= 5.0
    assert flat.max() <= 10.0
    counts, _ = np.histogram(flat, bins=5, range=(5.0, 10.0))
    assert stats.chisquare(counts).pvalue > 1e-3


def test_ar39_decays_match_activity_mass_and_live_time() -> None:
    rates = dict(QUIET, Ar39=1.01)
    scenario = quiet_scenario(backgrounds=rates)
    generator = EventGenerator(scenario, np.random.default_rng(5))
    ticks = 40_000
    truth, _ = generator.window(0, ticks)
    live = ticks * scenario.readout.tick_ns * 1e-9
    expected = 1.01 * scenario.mass_per_apa_t * 1e3 * live
    count = int((truth["kind"] == b"Ar39").sum())
    low, high = stats.poisson.interval(0.9999, expected)
    assert low <= count <= high, (count, expected)


@pytest.mark.parametrize("kind", list(ApaKind))
def test_numba_draws_are_the_numpy_codes_events(kind: ApaKind) -> None:
    """Decays and external photons drawn by the sampling kernels: the same events, deposits
    and counts as the numpy code, window after window, and the generator left where numpy
    leaves it — windows of one tick (mostly nothing drawn) to 32 slices, every background
    source at 20× its activity (every placement branch, many γ), a supernova and singles
    drawing from the same generator in between."""
    boosted = {s.name: 20 * DetectorScenario().activity(s.name) for s in catalogue.SOURCES}
    boosted = {name: value for name, value in boosted.items() if name in catalogue.INDEPENDENT}
    scenario = DetectorScenario(
        seed=3,
        apa_kind=kind,
        backgrounds=boosted,
        supernova=Supernova(distance_kpc=2.0, duration_s=1.0),
        singles=Singles(rate_hz=3000.0, energies_mev=[3.0, 12.0]),
    )
    fast = EventGenerator(scenario, np.random.default_rng(7))
    spec = EventGenerator(scenario, np.random.default_rng(7), numba_draws=False)
    assert fast.numba_draws
    start = 0
    for length in [1, 4096, 7, 4096 * 32, 64, 4096, 1, 9000]:
        got_truth, got_deposits = fast.window(start, start + length)
        want_truth, want_deposits = spec.window(start, start + length)
        assert got_truth.tobytes() == want_truth.tobytes()
        np.testing.assert_array_equal(got_deposits, want_deposits)
        start += length
    assert fast.emitted == spec.emitted
    assert fast.rng.bit_generator.state == spec.rng.bit_generator.state
    assert sum(fast.emitted.values()) > 10_000


def test_a_copied_or_unpickled_generator_draws_from_its_own_generator() -> None:
    """The kernels hold the Generator's addresses: a deep copy or a pickle round trip must
    read its own, or it would draw from the original's generator (or from freed memory)."""
    original = EventGenerator(DetectorScenario(seed=4), np.random.default_rng(9))
    original.window(0, 4096)
    twins = [copy.deepcopy(original), pickle.loads(pickle.dumps(original))]
    want_truth, want_deposits = original.window(4096, 8192)
    for twin in twins:
        got_truth, got_deposits = twin.window(4096, 8192)
        assert got_truth.tobytes() == want_truth.tobytes()
        np.testing.assert_array_equal(got_deposits, want_deposits)
        assert twin.rng is not original.rng
    assert sum(original.emitted.values()) > 0


INTERRUPTED_WINDOWS = """
import signal, sys, time, traceback
import numpy as np
from triggerml.detector.config import DetectorScenario
from triggerml.detector.sources import EventGenerator

class Stop(BaseException):
    pass

raised = {}

def stop(signum, frame):
    raised["at"] = time.monotonic()
    raised["where"] = "".join(traceback.format_stack(frame))
    raise Stop

generator = EventGenerator(DetectorScenario(seed=1), np.random.default_rng(1))
generator.window(0, 4096)
signal.signal(signal.SIGALRM, stop)
stopped = 0
for trial in range(int(sys.argv[1])):
    try:
        raised.clear()
        signal.setitimer(signal.ITIMER_REAL, 1e-5 * (1 + trial % 40))
        while True:
            generator.window(0, 512)
            if raised and time.monotonic() - raised["at"] > 1.0:
                print("the handler's exception was lost; raised at:", raised["where"])
                sys.exit(3)
    except Stop:
        stopped += 1
print(stopped)
"""


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX interval timers")
def test_a_signal_during_event_generation_is_an_exception_not_a_crash() -> None:
    """A signal handler that raises (Ctrl-C, the CLI's SIGTERM) anywhere in a window is
    that exception, raised in Python.  A numba kernel taking a ``np.random.Generator``
    broke this (numba unboxes it through Python calls and loses the handler's exception:
    a segfault in one of ≈ 2,000 interrupts, a SystemError in the CLI's signal test), so
    the window's kernels take the generator as addresses (:mod:`bitgen`).  An exception
    lost on the way left the loop running (numpy discards the exceptions of its Python
    helper ``npy_ctypes_check``, which making a ``void`` dtype ran: ``records._void``): the
    script says where the handler ran instead of hanging."""
    trials = 1500
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_WINDOWS, str(trials)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert done.stdout.split() == [str(trials)]
