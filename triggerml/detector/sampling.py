"""A window's decays and external photons drawn in numba, in the numpy code's order.

numba's ``np.random.Generator`` support draws from the caller's bit generator with numpy's
own algorithms (``uniform``, ``integers``, ``random``, ``poisson``: tested equal), so a
kernel that makes the same calls in the same order draws the same numbers and leaves the
generator where numpy would.  The arithmetic around the draws is numpy's too: IEEE
operations, ``sqrt``, and float64 ``sin``/``cos`` (numpy's are libm's; its SIMD ``exp`` and
``log`` are not, and none is used here).  What this buys: the window's ≈ 40 numpy calls per
decay block and ≈ 30 per photon plane become one call each — the same events, bit for bit
(the stream's slices are tested equal to the numpy code's).

:class:`~triggerml.detector.sources.EventGenerator` keeps the numpy specification of each
kernel beside it (``_decays_numpy``, ``_external_numpy``) for the equality tests.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from triggerml.detector.photons import _transport_kernel

TWO_PI = 2 * np.pi  # particles.isotropic's azimuth range, the same double

# placement kinds (sources.Location → code), the branches of EventGenerator._place
PLACE_VOLUME, PLACE_SHEET, PLACE_BOARDS, PLACE_FRAME, PLACE_PDS = range(5)


@numba.njit(cache=True, nogil=True)
def isotropic_into(rng: np.random.Generator, out: np.ndarray) -> None:
    """``particles.isotropic(rng, len(out))`` into ``out``: every cos θ, then every φ."""
    n = out.shape[0]
    cos_t = np.empty(n)
    phi = np.empty(n)
    for i in range(n):
        cos_t[i] = rng.uniform(-1.0, 1.0)
    for i in range(n):
        phi[i] = rng.uniform(0.0, TWO_PI)
    for i in range(n):
        sin_t = math.sqrt(1 - cos_t[i] * cos_t[i])
        out[i, 0] = sin_t * math.cos(phi[i])
        out[i, 1] = sin_t * math.sin(phi[i])
        out[i, 2] = cos_t[i]


@numba.njit(cache=True, nogil=True)
def sorted_ticks(rng: np.random.Generator, n: int, t0: int, t1: int) -> np.ndarray:
    """``np.sort(rng.integers(t0, t1, n))``."""
    ticks = np.empty(n, dtype=np.int64)
    for i in range(n):
        ticks[i] = rng.integers(t0, t1)
    return np.sort(ticks)


@numba.njit(cache=True, nogil=True)
def _place(
    rng: np.random.Generator,
    kind: int,
    pos: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    sizes: np.ndarray,
    two_sided: bool,
    modules: int,
) -> None:
    """``EventGenerator._place`` for ``len(pos)`` decays of one placement kind.

    ``sizes``: height, width, drift (cm) and the strip half-size."""
    n = pos.shape[0]
    if kind == PLACE_VOLUME:
        for i in range(n):
            for axis in range(3):
                pos[i, axis] = rng.uniform(lo[axis], hi[axis])
        return
    for i in range(n):
        pos[i, 2] = rng.uniform(0.0, sizes[1])
    if kind == PLACE_SHEET:
        _place_sheet(rng, pos, sizes, two_sided)
    elif kind == PLACE_BOARDS:
        for i in range(n):
            pos[i, 0] = rng.uniform(-sizes[3], sizes[3])
        for i in range(n):
            pos[i, 1] = sizes[0] + rng.uniform(0.0, 2 * sizes[3])
    elif kind == PLACE_FRAME:
        _place_frame(rng, pos, sizes)
    else:  # PLACE_PDS
        for i in range(n):
            pos[i, 0] = 0.0
        for i in range(n):
            pos[i, 1] = (rng.integers(0, modules) + 0.5) * sizes[0] / modules


@numba.njit(cache=True, nogil=True)
def _place_sheet(
    rng: np.random.Generator, pos: np.ndarray, sizes: np.ndarray, two_sided: bool
) -> None:
    """A cathode sheet: either side of the APA (central) or the one at x > 0 (outer)."""
    n = pos.shape[0]
    for i in range(n):
        side = (-1.0 if rng.integers(0, 2) == 0 else 1.0) if two_sided else 1.0
        pos[i, 0] = side * sizes[2]
    for i in range(n):
        pos[i, 1] = rng.uniform(0.0, sizes[0])


@numba.njit(cache=True, nogil=True)
def _place_frame(rng: np.random.Generator, pos: np.ndarray, sizes: np.ndarray) -> None:
    """The APA frame's perimeter, by length."""
    n = pos.shape[0]
    height, width, strip = sizes[0], sizes[1], sizes[3]
    along = np.empty(n)
    for i in range(n):
        along[i] = rng.uniform(0.0, 2 * (height + width))
    for i in range(n):
        pos[i, 0] = rng.uniform(-strip, strip)
    for i in range(n):
        if along[i] < 2 * height:
            pos[i, 1] = along[i] % height
            pos[i, 2] = -strip if along[i] < height else width + strip
        else:
            across = along[i] - 2 * height
            pos[i, 2] = across % width
            pos[i, 1] = -strip if across < width else height + strip


@numba.njit(cache=True, nogil=True)
def decay_window(
    rng: np.random.Generator,
    lam: np.ndarray,
    inverse_cdf: np.ndarray,
    beta_q: np.ndarray,
    alpha: np.ndarray,
    gammas: np.ndarray,
    place_of_row: np.ndarray,
    place_kinds: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    sizes: np.ndarray,
    two_sided: bool,
    modules: int,
    t0: int,
    t1: int,
) -> tuple:
    """One window's decays: ``DecayTable.draw`` (a Poisson count per row, an energy from
    its inverse CDF), then ``EventGenerator._decays``' draws — placements by place (in
    ``place_kinds`` order), times, directions, and each γ slot's directions.

    Returns (rows, energies, positions, ticks, directions, γ directions per slot)."""
    counts = np.empty(lam.size, dtype=np.int64)
    for r in range(lam.size):
        counts[r] = rng.poisson(lam[r])
    n = counts.sum()
    rows = np.empty(n, dtype=np.int64)
    k = 0
    for r in range(lam.size):
        for _ in range(counts[r]):
            rows[k] = r
            k += 1
    points = inverse_cdf.shape[1]
    x = np.empty(n)
    for i in range(n):
        x[i] = rng.random()
    energies = np.empty(n)
    for i in range(n):
        u = x[i] * (points - 1)
        j = min(np.int64(u), points - 2)
        f = u - j
        row = rows[i]
        beta = inverse_cdf[row, j] * (1 - f) + inverse_cdf[row, j + 1] * f
        energies[i] = beta if beta_q[row] > 0 else alpha[row]
    positions = np.empty((n, 3))
    directions = np.empty((n, 3))
    n_slots = gammas.shape[1]
    slot_directions = np.empty((n_slots, n, 3))
    if n == 0:
        return rows, energies, positions, np.empty(0, np.int64), directions, slot_directions
    place = place_of_row[rows]
    for p in range(place_kinds.size):
        members = np.flatnonzero(place == p)
        if members.size == 0:
            continue
        block = np.empty((members.size, 3))
        _place(rng, place_kinds[p], block, lo, hi, sizes, two_sided, modules)
        for m in range(members.size):
            positions[members[m]] = block[m]
    ticks = sorted_ticks(rng, n, t0, t1)
    isotropic_into(rng, directions)
    for slot in range(n_slots):
        m = 0
        for i in range(n):
            if gammas[rows[i], slot] > 0:
                m += 1
        if m > 0:
            isotropic_into(rng, slot_directions[slot, :m])
    return rows, energies, positions, ticks, directions, slot_directions


@numba.njit(cache=True, nogil=True)
def external_window(
    rng: np.random.Generator,
    n: int,
    top: bool,
    lo: np.ndarray,
    hi: np.ndarray,
    height_cm: float,
    width_cm: float,
    offset_cm: float,
    line_energies: np.ndarray,
    probabilities: np.ndarray,
    flat_lo: float,
    flat_hi: float,
    mu: np.ndarray,
    log_e0: float,
    dlog: float,
    boxes: np.ndarray,
    t0: int,
    t1: int,
) -> tuple:
    """``EventGenerator._external``'s draws and transport for ``n`` photons of one plane:
    start points, energies (``_sample_external``: a line or the flat continuum, by
    ``Generator.choice``'s cumulative-sum search), directions, the transport (its seed
    drawn as ``photons.transport`` draws it), and a time for each photon that set an
    electron moving.

    ``line_energies``: the lines and NaN for the continuum, ``probabilities`` theirs;
    ``boxes``: photon box lo, hi and electron box lo, hi (4 × 3).  Returns (photon starts,
    energies, the births' photon index, their positions, directions and energies, and per
    photon that made any: its index and tick)."""
    pos = np.empty((n, 3))
    if top:
        for i in range(n):
            pos[i, 0] = rng.uniform(lo[0], hi[0])
        for i in range(n):
            pos[i, 1] = height_cm + offset_cm
    else:
        for i in range(n):
            pos[i, 0] = -offset_cm
        for i in range(n):
            pos[i, 1] = rng.uniform(0.0, height_cm)
    for i in range(n):
        pos[i, 2] = rng.uniform(0.0, width_cm)
    cdf = np.cumsum(probabilities)
    cdf /= cdf[-1]
    uniform = np.empty(n)
    for i in range(n):
        uniform[i] = rng.random()
    energies = line_energies[np.searchsorted(cdf, uniform, side="right")]
    for i in range(n):
        if np.isnan(energies[i]):
            energies[i] = rng.uniform(flat_lo, flat_hi)
    directions = np.empty((n, 3))
    isotropic_into(rng, directions)
    seed = rng.integers(0, 2**62)
    capacity = 8 * n + 64
    while True:
        out = np.empty((capacity, 8))
        count = _transport_kernel(
            pos, directions, energies, mu, log_e0, dlog,
            boxes[0], boxes[1], boxes[2], boxes[3], seed, out,
        )  # fmt: skip
        if count >= 0:
            break
        capacity *= 4  # the same seed replays the same histories
    photon = np.empty(count, dtype=np.int64)
    for b in range(count):
        photon[b] = np.int64(out[b, 0])
    # the births come photon by photon: the photons that made any, in order
    n_hit = 0
    for b in range(count):
        if b == 0 or photon[b] != photon[b - 1]:
            n_hit += 1
    hit = np.empty(n_hit, dtype=np.int64)
    local = np.empty(count, dtype=np.int64)
    h = -1
    for b in range(count):
        if b == 0 or photon[b] != photon[b - 1]:
            h += 1
            hit[h] = photon[b]
        local[b] = h
    ticks = sorted_ticks(rng, n_hit, t0, t1)
    return pos, energies, out[:count, 1:4], out[:count, 4:7], out[:count, 7], hit, local, ticks
