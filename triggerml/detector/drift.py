"""Charge → wires: recombination, drift, lifetime, diffusion, projection onto U/V/X channels.

Each energy deposit becomes drifting electrons (E / W × recombination, alphas quenched),
attenuated by the electron lifetime over the drift time, smeared by longitudinal diffusion
(a time σ) and transverse diffusion (shared among neighbouring wires by the Gaussian
integral).  The result is a list of *clusters* — (channel, arrival tick, electrons, σ,
collection?) — that :func:`triggerml.detector.noise.fill_slice` renders into waveforms.

Wire coordinates: X (collection) wires are vertical, counted along z on each face (face 0
at x > 0); U and V wires lie at ±angle to the vertical and wrap around the APA, so their
channel is the wire coordinate modulo the plane's channel count.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

from triggerml.detector import libm
from triggerml.detector.config import ApaKind, DetectorScenario

CLUSTER_DTYPE = np.dtype(
    [
        ("channel", np.int32),
        ("t0", np.float64),  # arrival tick (absolute, fractional)
        ("electrons", np.float32),
        ("sigma", np.float32),  # longitudinal σ in ticks
        ("collection", np.int8),
        ("event", np.int64),
    ]
)
SQRT2 = math.sqrt(2.0)  # np.sqrt(2) in the numpy specification: the same correctly rounded value
TRANSVERSE_SPAN = 2  # wires each side of the nearest that may receive charge
MIN_ELECTRONS = 50.0  # smaller shares are dropped: far below one ADC count


def _erf_fast(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    # Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7): plenty for charge sharing.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return sign * (1.0 - poly * libm.exp(-a * a))


def wire_coordinates(
    xyz_cm: npt.NDArray[np.float64], scenario: DetectorScenario
) -> dict[str, npt.NDArray[np.float64]]:
    """Continuous wire coordinate (in pitches) of each point, per plane."""
    g = scenario.geometry
    y, z = xyz_cm[:, 1] * 10, xyz_cm[:, 2] * 10  # mm
    face = xyz_cm[:, 0] < 0
    z_face = np.where(face, g.width_m * 1000 - z, z)  # the back face sees z mirrored
    angle = math.radians(g.wire_angle_deg)
    return {
        "u": (z_face * math.cos(angle) + y * math.sin(angle)) / g.pitch_u_mm,
        "v": (z_face * math.cos(angle) - y * math.sin(angle)) / g.pitch_v_mm,
        "x": z / g.pitch_x_mm,
    }


def drift_time_us(deposits: npt.NDArray[np.float64], scenario: DetectorScenario) -> npt.NDArray:
    """Drift time of each deposit: the APA is at x = 0, the cathodes at ±drift length."""
    return np.abs(deposits[:, 0] * 10) / scenario.geometry.drift_velocity_mm_per_us


def collected_electrons(
    deposits: npt.NDArray[np.float64], scenario: DetectorScenario
) -> npt.NDArray[np.float64]:
    """Electrons reaching the wires from each deposit: E / W × recombination (alphas
    quenched) × exp(−drift time / lifetime)."""
    phys = scenario.physics
    recomb = np.where(deposits[:, 5] > 0, phys.alpha_recombination, phys.recombination)
    electrons = deposits[:, 3] * 1e6 / phys.w_ion_ev * recomb
    lifetime_us = phys.electron_lifetime_ms * 1e3
    return electrons * libm.exp(-drift_time_us(deposits, scenario) / lifetime_us)


def visible_energy_mev(
    deposits: npt.NDArray[np.float64], scenario: DetectorScenario
) -> npt.NDArray[np.float64]:
    """Collected charge of each deposit as energy on a MIP's scale (× W / recombination)."""
    phys = scenario.physics
    return collected_electrons(deposits, scenario) * phys.w_ion_ev / 1e6 / phys.recombination


def deposits_to_clusters(
    deposits: npt.NDArray[np.float64],
    event_ticks: npt.NDArray[np.int64],
    scenario: DetectorScenario,
) -> npt.NDArray:
    """Clusters of drifting charge from deposits (x, y, z, MeV, event, alpha) in the volume.

    ``event_ticks[i]`` is the interaction tick of the deposit's event.  Ordered plane by
    plane (u, v, x), wire offset by offset, deposit by deposit.

    One numba pass with the C library's ``exp`` (:mod:`libm`): the numbers of
    :func:`reference_clusters` (the numpy specification, tested equal) at a fraction of its
    ≈ 50 numpy calls a slice.
    """
    if deposits.shape[0] == 0:
        return np.empty(0, dtype=CLUSTER_DTYPE)
    g, phys, ro = scenario.geometry, scenario.physics, scenario.readout
    deposits = np.ascontiguousarray(deposits, dtype=np.float64)
    angle = math.radians(g.wire_angle_deg)
    tick_us = ro.tick_ns / 1e3
    out = np.empty(3 * (2 * TRANSVERSE_SPAN + 1) * deposits.shape[0], dtype=CLUSTER_DTYPE)
    count = _clusters_into(
        deposits,
        np.ascontiguousarray(event_ticks, dtype=np.int64),
        g.drift_velocity_mm_per_us,
        tick_us,
        2 * phys.diffusion_long_cm2_s,
        2 * phys.diffusion_trans_cm2_s,
        g.drift_velocity_mm_per_us * tick_us,
        g.width_m * 1000,
        math.cos(angle),
        math.sin(angle),
        np.array([g.pitch_u_mm, g.pitch_v_mm, g.pitch_x_mm]),
        phys.electron_lifetime_ms * 1e3,
        phys.w_ion_ev,
        phys.alpha_recombination,
        phys.recombination,
        np.array([g.plane_channels[p] for p in ("u", "v", "x")], dtype=np.int64),
        np.array([g.first_channel[p] for p in ("u", "v", "x")], dtype=np.int64),
        g.channels_x_per_face,
        out,
    )
    return out[:count]


@numba.njit(cache=True, nogil=True)
def _clusters_into(
    deposits: np.ndarray,
    event_ticks: np.ndarray,
    velocity_mm_us: float,
    tick_us: float,
    two_d_long: float,
    two_d_trans: float,
    velocity_tick: float,
    width_mm: float,
    cos_a: float,
    sin_a: float,
    pitches: np.ndarray,
    lifetime_us: float,
    w_ion_ev: float,
    alpha_recombination: float,
    recombination: float,
    plane_channels: np.ndarray,
    first: np.ndarray,
    x_per_face: int,
    out: np.ndarray,
) -> int:
    """:func:`deposits_to_clusters` into ``out``; returns how many clusters.  Per deposit:
    drift, arrival, longitudinal σ, collected electrons, and the erf (Abramowitz–Stegun
    7.1.26, as :func:`_erf_fast`) at each wire edge of each plane; then the shares above
    :data:`MIN_ELECTRONS` plane by plane, offset by offset, deposit by deposit."""
    n = deposits.shape[0]
    n_edges = 2 * TRANSVERSE_SPAN + 2
    arrival = np.empty(n)
    sigma_t = np.empty(n)
    electrons = np.empty(n)
    nearest = np.empty((3, n), dtype=np.int64)
    erf_edge = np.empty((n_edges, 3, n))
    w = np.empty(3)
    for d in range(n):
        drift = abs(deposits[d, 0] * 10) / velocity_mm_us
        arrival[d] = event_ticks[d] + drift / tick_us
        drift_s = drift * 1e-6
        sigma_t[d] = math.sqrt(two_d_long * drift_s) * 10 / velocity_tick
        sigma_trans_mm = math.sqrt(two_d_trans * drift_s) * 10
        recomb = alpha_recombination if deposits[d, 5] > 0 else recombination
        electrons[d] = deposits[d, 3] * 1e6 / w_ion_ev * recomb * libm.c_exp(-drift / lifetime_us)
        y = deposits[d, 1] * 10
        z = deposits[d, 2] * 10
        z_face = width_mm - z if deposits[d, 0] < 0 else z
        w[0] = (z_face * cos_a + y * sin_a) / pitches[0]
        w[1] = (z_face * cos_a - y * sin_a) / pitches[1]
        w[2] = z / pitches[2]
        for p in range(3):
            sigma_w = max(sigma_trans_mm / pitches[p], 1e-3)
            wire = np.int64(math.floor(w[p]))
            nearest[p, d] = wire
            scale = SQRT2 * sigma_w
            for e in range(n_edges):
                x = (np.float64(wire + e - TRANSVERSE_SPAN) - w[p]) / scale
                erf_edge[e, p, d] = _erf(x)
    count = 0
    for p in range(3):
        for o in range(n_edges - 1):
            for d in range(n):
                q = electrons[d] * (0.5 * (erf_edge[o + 1, p, d] - erf_edge[o, p, d]))
                wire = nearest[p, d] + o - TRANSVERSE_SPAN
                if p == 2:
                    if wire < 0 or wire >= x_per_face:
                        continue
                    channel = first[2] + (x_per_face if deposits[d, 0] < 0 else 0) + wire
                else:
                    channel = first[p] + wire % plane_channels[p]
                if not q > MIN_ELECTRONS:
                    continue
                rec = out[count]
                rec.channel = channel
                rec.t0 = arrival[d]
                rec.electrons = q
                rec.sigma = sigma_t[d]
                rec.collection = p == 2
                rec.event = np.int64(deposits[d, 4])
                count += 1
    return count


@numba.njit(cache=True, nogil=True, inline="always")
def _erf(x: float) -> float:
    """:func:`_erf_fast` at one point."""
    sign = 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)
    a = abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return sign * (1.0 - poly * libm.c_exp(-a * a))


def reference_clusters(
    deposits: npt.NDArray[np.float64],
    event_ticks: npt.NDArray[np.int64],
    scenario: DetectorScenario,
) -> npt.NDArray:
    """:func:`deposits_to_clusters` in numpy: the specification its numba passes are
    tested equal to."""
    g, phys, ro = scenario.geometry, scenario.physics, scenario.readout
    if deposits.shape[0] == 0:
        return np.empty(0, dtype=CLUSTER_DTYPE)
    xyz = deposits[:, :3]
    drift_us = drift_time_us(deposits, scenario)
    electrons = collected_electrons(deposits, scenario)
    tick_us = ro.tick_ns / 1e3
    arrival = event_ticks + drift_us / tick_us
    drift_s = drift_us * 1e-6
    sigma_t_ticks = (
        np.sqrt(2 * phys.diffusion_long_cm2_s * drift_s)
        * 10
        / (g.drift_velocity_mm_per_us * tick_us)
    )
    sigma_trans_mm = np.sqrt(2 * phys.diffusion_trans_cm2_s * drift_s) * 10
    coords = wire_coordinates(xyz, scenario)
    # every plane and every wire offset at once, (plane, offset, deposit): the same numbers,
    # in the same order, as plane by plane and offset by offset
    w = np.stack(list(coords.values()))  # (plane, deposit)
    pitches = np.array([g.pitch_u_mm, g.pitch_v_mm, g.pitch_x_mm])[:, None]
    sigma_w = np.maximum(sigma_trans_mm / pitches, 1e-3)
    nearest = np.floor(w).astype(np.int64)
    # the Gaussian integral at each wire edge once: a wire's upper edge is the next one's
    # lower edge (the same numbers, so the same shares as edge-by-edge)
    edge_offsets = np.arange(-TRANSVERSE_SPAN, TRANSVERSE_SPAN + 2)[:, None, None]
    edges = _erf_fast((nearest + edge_offsets - w) / (np.sqrt(2) * sigma_w))
    share = (0.5 * (edges[1:] - edges[:-1])).transpose(1, 0, 2)  # (plane, offset, deposit)
    q = electrons * share
    wire = nearest[:, None, :] + edge_offsets[:-1].transpose(1, 0, 2)
    channel = np.empty_like(wire)
    valid = np.ones(wire.shape, dtype=bool)
    for index, plane in enumerate(coords):
        if plane == "x":
            face_wire = wire[index]
            valid[index] = (face_wire >= 0) & (face_wire < g.channels_x_per_face)
            face = np.where(xyz[:, 0] < 0, g.channels_x_per_face, 0)
            channel[index] = g.first_channel["x"] + face + face_wire
        else:
            channel[index] = g.first_channel[plane] + np.mod(wire[index], g.plane_channels[plane])
    keep = valid & (q > MIN_ELECTRONS)
    plane_of = np.broadcast_to(np.arange(len(coords))[:, None, None], keep.shape)[keep]
    deposit = np.broadcast_to(np.arange(xyz.shape[0]), keep.shape)[keep]
    clusters = np.empty(deposit.size, dtype=CLUSTER_DTYPE)
    clusters["channel"] = channel[keep]
    clusters["t0"] = arrival[deposit]
    clusters["electrons"] = q[keep]
    clusters["sigma"] = sigma_t_ticks[deposit]
    clusters["collection"] = plane_of == list(coords).index("x")
    clusters["event"] = deposits[deposit, 4].astype(np.int64)
    return clusters


def inside(deposits: npt.NDArray[np.float64], scenario: DetectorScenario) -> npt.NDArray[np.bool_]:
    """Deposits in this APA's active volume: both drift volumes (central) or the one at x > 0
    (outer: the wall-side face has no drift field)."""
    g = scenario.geometry
    x, y, z = deposits[:, 0], deposits[:, 1], deposits[:, 2]
    drift = g.drift_length_m * 100
    in_x = np.abs(x) < drift if scenario.apa_kind is ApaKind.CENTRAL else (x > 0) & (x < drift)
    return in_x & (y >= 0) & (y < g.height_m * 100) & (z >= 0) & (z < g.width_m * 100)
