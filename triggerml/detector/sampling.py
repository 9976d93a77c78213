"""A window's decays and external photons drawn in numba, in the numpy code's order.

numba's ``np.random.Generator`` support draws from the caller's bit generator with numpy's
own algorithms (``uniform``, ``integers``, ``random``, ``poisson``: tested equal), so a
kernel that makes the same calls in the same order draws the same numbers and leaves the
generator where numpy would.  The arithmetic around the draws is the numpy code's too: IEEE
operations, ``sqrt``, and the C library's ``sin`` and ``cos`` (:mod:`libm`).  What this
buys: the window's ≈ 40 numpy calls per decay block and ≈ 30 per photon plane become a few
calls each — the same events, bit for bit (tested window by window against the numpy code).

Signals: the kernels take the generator as :func:`bitgen.addresses`, not as a Generator
argument (numba unboxes that through Python calls, where a signal handler's exception is
lost: see :mod:`triggerml.detector.bitgen`), and they fill arrays their caller allocates,
returning at most a number — numba boxes a returned array through a Python function
(``_numba_unpickle``), where a signal becomes a ``SystemError`` (the CLI still exits as the
signal: ``triggerml.cli._interrupt_behind``).

:class:`~triggerml.detector.sources.EventGenerator` keeps the numpy specification of each
kernel beside it (``_decay_draws_numpy``, ``_external_draws_numpy``) for the equality tests.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from triggerml.detector import libm
from triggerml.detector.bitgen import generator_at

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
        out[i, 0] = sin_t * libm.c_cos(phi[i])
        out[i, 1] = sin_t * libm.c_sin(phi[i])
        out[i, 2] = cos_t[i]


@numba.njit(cache=True, nogil=True)
def _sorted_ticks_into(rng: np.random.Generator, t0: int, t1: int, ticks: np.ndarray) -> None:
    """``np.sort(rng.integers(t0, t1, len(ticks)))`` into ``ticks``."""
    for i in range(ticks.size):
        ticks[i] = rng.integers(t0, t1)
    ticks.sort()


@numba.njit(cache=True, nogil=True)
def sorted_ticks_into(where: np.ndarray, t0: int, t1: int, ticks: np.ndarray) -> None:
    """:func:`_sorted_ticks_into` with the generator at ``where``."""
    _sorted_ticks_into(generator_at(where), t0, t1, ticks)


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
def decay_counts(where: np.ndarray, lam: np.ndarray, counts: np.ndarray) -> int:
    """``DecayTable.draw``'s Poisson count per row into ``counts``; returns their sum."""
    rng = generator_at(where)
    for r in range(lam.size):
        counts[r] = rng.poisson(lam[r])
    return counts.sum()


@numba.njit(cache=True, nogil=True)
def decay_fill(
    where: np.ndarray,
    counts: np.ndarray,
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
    rows: np.ndarray,
    energies: np.ndarray,
    positions: np.ndarray,
    ticks: np.ndarray,
    directions: np.ndarray,
    slot_directions: np.ndarray,
) -> None:
    """The rest of one window's decays after :func:`decay_counts`: ``DecayTable.draw``'s
    energies (from each row's inverse CDF), then ``EventGenerator._decays``' draws —
    placements by place (in ``place_kinds`` order), times, directions, and each γ slot's
    directions — into the arrays sized by the counts' sum (``slot_directions``: slots × n)."""
    rng = generator_at(where)
    n = rows.size
    k = 0
    for r in range(counts.size):
        for _ in range(counts[r]):
            rows[k] = r
            k += 1
    points = inverse_cdf.shape[1]
    x = np.empty(n)
    for i in range(n):
        x[i] = rng.random()
    for i in range(n):
        u = x[i] * (points - 1)
        j = min(np.int64(u), points - 2)
        f = u - j
        row = rows[i]
        beta = inverse_cdf[row, j] * (1 - f) + inverse_cdf[row, j + 1] * f
        energies[i] = beta if beta_q[row] > 0 else alpha[row]
    if n == 0:
        return
    place = place_of_row[rows]
    for p in range(place_kinds.size):
        members = np.flatnonzero(place == p)
        if members.size == 0:
            continue
        block = np.empty((members.size, 3))
        _place(rng, place_kinds[p], block, lo, hi, sizes, two_sided, modules)
        for m in range(members.size):
            positions[members[m]] = block[m]
    _sorted_ticks_into(rng, t0, t1, ticks)
    isotropic_into(rng, directions)
    for slot in range(gammas.shape[1]):
        m = 0
        for i in range(n):
            if gammas[rows[i], slot] > 0:
                m += 1
        if m > 0:
            isotropic_into(rng, slot_directions[slot, :m])


@numba.njit(cache=True, nogil=True)
def external_photons(
    where: np.ndarray,
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
    pos: np.ndarray,
    energies: np.ndarray,
    directions: np.ndarray,
) -> int:
    """``EventGenerator._external``'s draws for ``len(pos)`` photons of one plane: start
    points, energies (``_sample_external``: a line or the flat continuum, by
    ``Generator.choice``'s cumulative-sum search) and directions, into the arrays given;
    returns the transport's seed, drawn as ``photons.transport`` draws it.

    ``line_energies``: the lines and NaN for the continuum, ``probabilities`` theirs."""
    rng = generator_at(where)
    n = pos.shape[0]
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
    pick = np.searchsorted(cdf, uniform, side="right")
    for i in range(n):
        energies[i] = line_energies[pick[i]]
    for i in range(n):
        if np.isnan(energies[i]):
            energies[i] = rng.uniform(flat_lo, flat_hi)
    isotropic_into(rng, directions)
    return rng.integers(0, 2**62)


@numba.njit(cache=True, nogil=True)
def photon_runs(photon: np.ndarray, hit: np.ndarray, local: np.ndarray) -> int:
    """The births come photon by photon: the photons that made any, in order, into ``hit``
    (``np.unique``'s values), each birth's index into them into ``local`` (its inverse);
    returns how many photons."""
    h = -1
    for b in range(photon.size):
        if b == 0 or photon[b] != photon[b - 1]:
            h += 1
            hit[h] = photon[b]
        local[b] = h
    return h + 1
