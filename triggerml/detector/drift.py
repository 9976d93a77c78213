"""Charge → wires: recombination, drift, lifetime, diffusion, projection onto U/V/X channels.

Each energy deposit becomes drifting electrons (E / W × recombination, alphas quenched),
attenuated by the electron lifetime over the drift time, smeared by longitudinal diffusion
(a time σ) and transverse diffusion (shared among neighbouring wires by the Gaussian
integral).  The result is a list of *clusters* — (channel, arrival tick, electrons, σ,
collection?) — that :mod:`triggerml.detector.render` turns into waveforms.

Wire coordinates: X (collection) wires are vertical, counted along z on each face (face 0
at x > 0); U and V wires lie at ±angle to the vertical and wrap around the APA, so their
channel is the wire coordinate modulo the plane's channel count.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

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
    return sign * (1.0 - poly * np.exp(-a * a))


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
    return electrons * np.exp(-drift_time_us(deposits, scenario) / lifetime_us)


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

    ``event_ticks[i]`` is the interaction tick of the deposit's event.
    """
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
