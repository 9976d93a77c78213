"""Induction-plane matching: where along the wires a collection-plane cluster happened.

A collection wire fixes the position across the APA (z) but not the height (y) along it;
the U and V wires, at ±35.7° to the vertical and wrapped around both faces, cross it once
each (their wrap period in height, 800 wires × 4.669 mm / sin 35.7° = 6.4 m, exceeds the
6 m APA: geometry in :mod:`triggerml.detector.config`, TDR vol. IV).  A U hit on wire u seen
at the cluster's time gives y_u = (u·pitch − z·cos α) / sin α, a V hit y_v = (z·cos α −
v·pitch) / sin α; a point of the track gives a U and a V hit whose heights agree, and their
mean cancels the error of using the cluster's centre for z (the two errors have opposite
signs).  Random induction hits (³⁹Ar, noise) in the time window rarely pair up.

Why a trigger wants it: external γ (cavern rock, head boards) enter the active volume from
its edges and are absorbed within tens of cm, while supernova and solar electrons are
uniform in the volume, so the height separates the hard background the collection plane
alone cannot tell from a signal electron (#15: the 5–10 MeV background left after the TP
features is mostly top-entering cavern γ).

Features per cluster (:data:`INDUCTION_FEATURES`, in physical units; the model input kind
``tp_features_uvx`` scales them by :data:`INDUCTION_SCALES`): compatible U and V hits in
the time window and their ADC sums, the fraction of that charge in matched U–V pairs, and
the height (m above the APA's bottom edge) from the matched pairs, −1 when none match.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from triggerml.config import require
from triggerml.detector.config import Geometry
from triggerml.tpg.config import TpgConfig
from triggerml.tpg.hitfinder import HIT_DTYPE, HitFinder

INDUCTION_FEATURES = (
    "u_hits",
    "v_hits",
    "u_adc_sum",
    "v_adc_sum",
    "matched_fraction",
    "height_m",
)
INDUCTION_SCALES = np.array([1 / 4, 1 / 4, 1 / 1024, 1 / 1024, 1.0, 1.0])
NO_HEIGHT = -1.0  # height feature when no U–V pair matches


@dataclass(frozen=True)
class MatchConfig:
    """How induction hits are matched to a collection cluster."""

    time_margin_ticks: int = 4  # widening of the cluster's hits for the time match
    height_tolerance_mm: float = 150.0  # a U and a V height closer than this pair up
    # (a 10 cm track gives U and V estimates 2 × 5 cm × cot 35.7° ≈ 14 cm apart at its ends)

    def validate(self) -> None:
        require(self.time_margin_ticks >= 0, "time_margin_ticks", "must not be negative")
        require(self.height_tolerance_mm > 0, "height_tolerance_mm", "must be positive")


@dataclass(frozen=True)
class Induction:
    """The U and V hits (any order, channel numbers of the whole APA) of the time range a
    batch of collection clusters was found in, with what is needed to match them."""

    u_hits: npt.NDArray
    v_hits: npt.NDArray
    geometry: Geometry
    config: MatchConfig = MatchConfig()


class InductionFinder:
    """The U and V planes' TPG over a stream of whole-APA slices, keeping the hits of the
    last ``keep_slices`` slices (as long as the collection clusters can reach back)."""

    def __init__(
        self,
        geometry: Geometry,
        tpg: TpgConfig,
        match: MatchConfig,
        keep_slices: int,
        start_sample: int = 0,
    ) -> None:
        self.geometry = geometry
        self.match = match
        self.keep_slices = keep_slices
        self._finders = {
            plane: HitFinder(
                geometry.plane_channels[plane],
                dataclasses.replace(tpg, first_channel=geometry.first_channel[plane]),
                start_sample=start_sample,
            )
            for plane in ("u", "v")
        }
        self._hits: dict[str, list[npt.NDArray]] = {"u": [], "v": []}

    def process(self, adc: npt.NDArray[np.int16]) -> None:
        """One whole-APA slice (channels × ticks)."""
        for plane, finder in self._finders.items():
            first = self.geometry.first_channel[plane]
            rows = adc[first : first + self.geometry.plane_channels[plane]]
            kept = [*self._hits[plane], finder.process(rows)]
            self._hits[plane] = kept[-self.keep_slices :]

    def hits(self) -> Induction:
        """The kept U and V hits, ready to match."""
        u, v = (
            np.concatenate(self._hits[p]) if self._hits[p] else np.zeros(0, HIT_DTYPE)
            for p in ("u", "v")
        )
        return Induction(u, v, self.geometry, self.match)


def induction_features(
    clusters: npt.NDArray,
    hits: npt.NDArray,
    hit_cluster: npt.NDArray[np.int64],
    induction: Induction,
) -> npt.NDArray[np.float64]:
    """(n_clusters, len(INDUCTION_FEATURES)) for collection clusters (channel numbers of the
    whole APA; ``hits`` theirs, ``hit_cluster`` each hit's cluster).  An induction hit is in
    time with a cluster when it overlaps one of the cluster's own hits, widened by the
    margin: a window over the whole cluster would take in ³⁹Ar and noise hits from all 800
    wires."""
    config = induction.config
    u_hits, v_hits = induction.u_hits, induction.v_hits
    by_cluster = np.argsort(hit_cluster, kind="stable")
    offsets = np.searchsorted(hit_cluster[by_cluster], np.arange(clusters.size + 1))
    x_start = hits["start"][by_cluster].astype(np.int64)
    x_end = x_start + hits["tot"][by_cluster]
    g = induction.geometry
    first_x = g.first_channel["x"]
    centre = (clusters["channel_min"].astype(np.int64) + clusters["channel_max"]) // 2 - first_x
    back = centre >= g.channels_x_per_face
    z = (centre % g.channels_x_per_face + 0.5) * g.pitch_x_mm
    z_face = np.where(back, g.width_m * 1000 - z, z)  # the back face sees z mirrored
    planes = []
    for plane, unsorted in (("u", u_hits), ("v", v_hits)):
        hits = unsorted[np.argsort(unsorted["start"], kind="stable")]
        planes.append(
            (
                hits["start"].astype(np.int64),
                (hits["start"] + hits["tot"]).astype(np.int64),
                (hits["channel"] - g.first_channel[plane]).astype(np.int64),
                hits["adc_sum"].astype(np.float64),
                int(hits["tot"].max()) if hits.size else 0,
            )
        )
    angle = math.radians(g.wire_angle_deg)
    out = np.zeros((clusters.size, len(INDUCTION_FEATURES)))
    _match(
        clusters["start"].astype(np.int64),
        clusters["end"].astype(np.int64),
        z_face.astype(np.float64),
        offsets.astype(np.int64),
        x_start,
        x_end.astype(np.int64),
        *planes[0],
        *planes[1],
        np.array(
            [
                math.cos(angle),
                math.sin(angle),
                g.pitch_u_mm,
                g.pitch_v_mm,
                float(g.channels_u),
                float(g.channels_v),
                g.height_m * 1000,
                config.height_tolerance_mm,
                float(config.time_margin_ticks),
            ]
        ),
        out,
    )
    return out


@numba.njit(cache=True)
def _heights(
    lo: int,
    hi: int,
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    wires: npt.NDArray[np.int64],
    longest: int,
    z: float,
    sign: float,
    pitch: float,
    period: float,
    cos_a: float,
    sin_a: float,
    height: float,
    tol: float,
    x_start: npt.NDArray[np.int64],
    x_end: npt.NDArray[np.int64],
    margin: int,
    y_out: npt.NDArray[np.float64],
    index_out: npt.NDArray[np.int64],
) -> int:
    """Heights of the hits overlapping [lo, hi] whose wire crosses z inside the APA (within
    tol of its edges); returns how many (written to y_out, their hit index to index_out).
    U: y = (w·pitch − z·cos α)/sin α (sign +1); V: y = (z·cos α − w·pitch)/sin α (sign −1)."""
    count = 0
    first = np.searchsorted(starts, lo - longest)  # earlier hits end before lo
    for i in range(first, starts.size):
        if starts[i] > hi:
            break
        if ends[i] < lo or not _in_time(starts[i], ends[i], x_start, x_end, margin):
            continue
        for wrap in range(-2, 3):
            y = sign * ((wires[i] + 0.5 + wrap * period) * pitch - z * cos_a) / sin_a
            if -tol <= y <= height + tol:
                if count < y_out.size:
                    y_out[count] = y
                    index_out[count] = i
                count += 1
                break
    return min(count, y_out.size)


@numba.njit(cache=True)
def _match(
    c_start: npt.NDArray[np.int64],
    c_end: npt.NDArray[np.int64],
    c_z: npt.NDArray[np.float64],
    offsets: npt.NDArray[np.int64],
    x_start: npt.NDArray[np.int64],
    x_end: npt.NDArray[np.int64],
    u_start: npt.NDArray[np.int64],
    u_end: npt.NDArray[np.int64],
    u_wire: npt.NDArray[np.int64],
    u_adc: npt.NDArray[np.float64],
    u_longest: int,
    v_start: npt.NDArray[np.int64],
    v_end: npt.NDArray[np.int64],
    v_wire: npt.NDArray[np.int64],
    v_adc: npt.NDArray[np.float64],
    v_longest: int,
    prm: npt.NDArray[np.float64],
    out: npt.NDArray[np.float64],
) -> None:
    cos_a, sin_a, pitch_u, pitch_v, period_u, period_v, height, tol, margin = prm
    cap = 4096
    yu = np.empty(cap)
    iu = np.empty(cap, dtype=np.int64)
    yv = np.empty(cap)
    iv = np.empty(cap, dtype=np.int64)
    for c in range(c_start.size):
        m = int(margin)
        lo = c_start[c] - m
        hi = c_end[c] + m
        xs = x_start[offsets[c] : offsets[c + 1]]
        xe = x_end[offsets[c] : offsets[c + 1]]
        nu = _heights(
            lo, hi, u_start, u_end, u_wire, u_longest, c_z[c], 1.0, pitch_u,
            period_u, cos_a, sin_a, height, tol, xs, xe, m, yu, iu,
        )  # fmt: skip
        nv = _heights(
            lo, hi, v_start, v_end, v_wire, v_longest, c_z[c], -1.0, pitch_v,
            period_v, cos_a, sin_a, height, tol, xs, xe, m, yv, iv,
        )  # fmt: skip
        u_sum = 0.0
        for k in range(nu):
            u_sum += u_adc[iu[k]]
        v_sum = 0.0
        for k in range(nv):
            v_sum += v_adc[iv[k]]
        # each hit pairs with its nearest partner of the other plane within tol; the
        # height is the pairs' mean height weighted by their charge
        sums = _pairs(yu, iu, u_adc, nu, yv, iv, v_adc, nv, tol, (0.0, 0.0, 0.0))
        matched, weighted_y, weight = _pairs(yv, iv, v_adc, nv, yu, iu, u_adc, nu, tol, sums)
        total = u_sum + v_sum
        out[c, 0] = nu
        out[c, 1] = nv
        out[c, 2] = u_sum
        out[c, 3] = v_sum
        out[c, 4] = matched / total if total > 0 else 0.0
        if weight > 0:
            out[c, 5] = min(max(weighted_y / weight, 0.0), height) / 1000.0
        else:
            out[c, 5] = NO_HEIGHT


@numba.njit(cache=True)
def _in_time(
    start: int, end: int, x_start: npt.NDArray[np.int64], x_end: npt.NDArray[np.int64], m: int
) -> bool:
    """Does [start, end] overlap one of the cluster's hits widened by m ticks?"""
    for k in range(x_start.size):  # noqa: SIM110  (numba compiles no any() of a generator)
        if start <= x_end[k] + m and end >= x_start[k] - m:
            return True
    return False


@numba.njit(cache=True)
def _pairs(
    ya: npt.NDArray[np.float64],
    ia: npt.NDArray[np.int64],
    adc_a: npt.NDArray[np.float64],
    na: int,
    yb: npt.NDArray[np.float64],
    ib: npt.NDArray[np.int64],
    adc_b: npt.NDArray[np.float64],
    nb: int,
    tol: float,
    sums: tuple[float, float, float],
) -> tuple[float, float, float]:
    """Each hit of plane a with its nearest height on plane b, added in order to ``sums``:
    (matched charge, Σ pair charge × pair height, Σ pair charge)."""
    matched, weighted_y, weight = sums
    for k in range(na):
        m = _nearest(ya[k], yb, nb, tol)
        if m >= 0:
            w = adc_a[ia[k]] + adc_b[ib[m]]
            matched += adc_a[ia[k]]
            weighted_y += w * 0.5 * (ya[k] + yb[m])
            weight += w
    return matched, weighted_y, weight


@numba.njit(cache=True)
def _nearest(y: float, others: npt.NDArray[np.float64], n: int, tol: float) -> int:
    """Index of the nearest of others[:n] closer than tol to y, or −1."""
    best = tol
    found = -1
    for i in range(n):
        d = abs(y - others[i])
        if d < best:
            best = d
            found = i
    return found
