"""γ transport in liquid argon: photoabsorption, Compton scattering and pair production.

Every photon — radiological, neutron-capture, external, supernova de-excitation or
bremsstrahlung — goes through :func:`transport`, a numba kernel that follows each photon
interaction by interaction and returns the electrons it sets moving (position, direction,
kinetic energy).  The caller turns those electrons into energy deposits (points below
:data:`triggerml.detector.particles.POINT_BELOW_MEV`, tracks above).

Physics: partial cross sections of argon from NIST XCOM (Berger & Hubbell, NIST Standard
Reference Database 8; element Z = 18, barns/atom: incoherent, photoelectric, pair in the
nuclear and in the electron field), interpolated log-log.  Compton scattering samples the
Klein–Nishina formula for the photon energy and angle (free electrons: binding is negligible
above ≈100 keV in argon, where XCOM's incoherent cross section already includes it); the
electron takes the momentum difference.  Simplifications, marked (≈): the photoelectron
takes the photon's whole energy (the 3.2 keV K-shell binding deposited with it) in an
isotropic direction; pair electrons share E − 2mₑc² uniformly and leave along the photon's
direction; the positron annihilates at the pair vertex into two back-to-back 511 keV
photons; coherent (Rayleigh) scattering is left out (≤ 0.4 % of the attenuation above 1 MeV,
and it barely deflects).  Photons are followed inside a box (the active volume plus a
margin of argon); electrons are returned only inside a tighter box, so a photon that never
reaches the active volume costs no electron tracking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np
import numpy.typing as npt

from triggerml.detector import libm

ELECTRON_MASS_MEV = 0.51099895  # CODATA 2018
AVOGADRO_PER_BARN = 0.602214076  # N_A × 1e-24 cm²/barn
ARGON_MOLAR_MASS = 39.948  # g/mol, IUPAC
PHOTON_CUT_MEV = 0.01  # below this a photon is absorbed where it stands (XCOM grid starts here)

# NIST XCOM, argon (Z = 18), barns/atom: E (MeV), incoherent, photoelectric, pair (nuclear
# field), pair (electron field).
XCOM_ARGON_BARNS = np.array(
    [
        (0.01, 6.161, 4134, 0, 0),
        (0.015, 7.33, 1278, 0, 0),
        (0.02, 8.048, 544.4, 0, 0),
        (0.03, 8.727, 159.4, 0, 0),
        (0.04, 8.961, 65.73, 0, 0),
        (0.05, 9.013, 32.81, 0, 0),
        (0.06, 8.975, 18.53, 0, 0),
        (0.08, 8.767, 7.479, 0, 0),
        (0.1, 8.493, 3.691, 0, 0),
        (0.15, 7.8, 1.024, 0, 0),
        (0.2, 7.209, 0.4166, 0, 0),
        (0.3, 6.314, 0.1215, 0, 0),
        (0.4, 5.674, 0.05293, 0, 0),
        (0.5, 5.189, 0.02882, 0, 0),
        (0.6, 4.805, 0.01805, 0, 0),
        (0.8, 4.225, 0.009158, 0, 0),
        (1, 3.801, 0.005696, 0, 0),
        (1.022, 3.761, 0.005389, 0, 0),
        (1.25, 3.4, 0.003651, 0.002826, 0),
        (1.5, 3.09, 0.002639, 0.01507, 0),
        (2, 2.638, 0.001639, 0.0588, 0),
        (2.044, 2.605, 0.001584, 0.06336, 0),
        (3, 2.076, 0.0008991, 0.1658, 0.0007263),
        (4, 1.731, 0.0006101, 0.267, 0.002965),
        (5, 1.495, 0.000459, 0.3568, 0.005908),
        (6, 1.322, 0.0003669, 0.4371, 0.009073),
        (7, 1.188, 0.0003052, 0.5086, 0.01223),
        (8, 1.081, 0.000261, 0.5729, 0.0153),
        (9, 0.9938, 0.0002279, 0.6311, 0.01823),
        (10, 0.9208, 0.0002022, 0.6839, 0.02103),
        (11, 0.8588, 0.0001817, 0.7318, 0.02368),
        (12, 0.8054, 0.0001649, 0.7757, 0.02618),
        (13, 0.7588, 0.0001509, 0.8164, 0.02855),
        (14, 0.7178, 0.0001391, 0.8543, 0.0308),
        (15, 0.6815, 0.000129, 0.8897, 0.03294),
        (16, 0.649, 0.0001203, 0.9229, 0.03497),
        (18, 0.5932, 0.0001059, 0.9836, 0.03876),
        (20, 0.547, 9.463e-05, 1.038, 0.04221),
        (22, 0.5081, 8.55e-05, 1.087, 0.04539),
        (24, 0.4748, 7.797e-05, 1.132, 0.04832),
        (26, 0.4458, 7.166e-05, 1.172, 0.05103),
        (28, 0.4205, 6.629e-05, 1.21, 0.05356),
        (30, 0.3982, 6.167e-05, 1.245, 0.05591),
    ]
)
PROCESSES = ("compton", "photoelectric", "pair")
GRID_POINTS = 4096


class Births(NamedTuple):
    """Electrons set moving by photons: the photon each came from, where (n, 3, cm), which
    way (n, 3, unit vectors) and its kinetic energy (MeV)."""

    photon: npt.NDArray[np.int64]
    xyz: npt.NDArray[np.float64]
    direction: npt.NDArray[np.float64]
    energy_mev: npt.NDArray[np.float64]


def mass_attenuation(energy_mev: npt.ArrayLike) -> dict[str, npt.NDArray[np.float64]]:
    """μ/ρ of argon in cm²/g per process at ``energy_mev`` (XCOM, log-log interpolation)."""
    shape = np.shape(energy_mev)
    energy = np.atleast_1d(np.asarray(energy_mev, dtype=np.float64))
    table = XCOM_ARGON_BARNS
    log_e = libm.log(table[:, 0])
    scale = AVOGADRO_PER_BARN / ARGON_MOLAR_MASS
    out = {}
    for name, columns in (("compton", (1,)), ("photoelectric", (2,)), ("pair", (3, 4))):
        sigma = np.zeros_like(energy)
        for column in columns:
            sigma = sigma + _loglog(libm.log(energy), log_e, table[:, column])
        out[name] = (sigma * scale).reshape(shape)
    return out


def _loglog(
    log_x: npt.NDArray[np.float64], log_grid: npt.NDArray[np.float64], values: npt.NDArray
) -> npt.NDArray[np.float64]:
    """Log-log interpolation; zeros (below a pair threshold) interpolate linearly."""
    positive = values > 0
    out = np.interp(log_x, log_grid, values)  # linear where a zero is involved
    if positive.sum() >= 2:
        first = int(np.argmax(positive))
        above = log_x >= log_grid[first]
        logv = np.interp(log_x[above], log_grid[positive], libm.log(values[positive]))
        out[above] = libm.exp(logv)
    return out


@dataclass(frozen=True)
class AttenuationTable:
    """Linear attenuation (1/cm) per process on a fine log-energy grid, for the kernel."""

    log_e0: float
    dlog: float
    mu: npt.NDArray[np.float64]  # (GRID_POINTS, 3): compton, photoelectric, pair

    @staticmethod
    def build(density_g_cm3: float) -> AttenuationTable:
        lo, hi = math.log(PHOTON_CUT_MEV), math.log(float(XCOM_ARGON_BARNS[-1, 0]))
        grid = np.linspace(lo, hi, GRID_POINTS)
        parts = mass_attenuation(libm.exp(grid))
        mu = np.stack([parts[name] * density_g_cm3 for name in PROCESSES], axis=1)
        return AttenuationTable(lo, (hi - lo) / (GRID_POINTS - 1), np.ascontiguousarray(mu))


_TABLES: dict[float, AttenuationTable] = {}


def attenuation_table(density_g_cm3: float) -> AttenuationTable:
    if density_g_cm3 not in _TABLES:
        _TABLES[density_g_cm3] = AttenuationTable.build(density_g_cm3)
    return _TABLES[density_g_cm3]


def transport(
    rng: np.random.Generator,
    positions: npt.NDArray[np.float64],
    directions: npt.NDArray[np.float64],
    energies: npt.NDArray[np.float64],
    density_g_cm3: float,
    photon_box: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    electron_box: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    seed: int | None = None,
) -> Births:
    """Follow photons (cm, unit vectors, MeV) to absorption or out of ``photon_box``;
    returns the electrons they set moving inside ``electron_box``, each photon's electrons
    in the order they happened (the first is its first interaction).  Boxes are (lo, hi)
    corners in cm; None: unbounded.  The histories' seed is drawn from ``rng`` unless
    ``seed`` is given (drawn already, in the same place, by a numba kernel)."""
    positions = np.ascontiguousarray(np.atleast_2d(positions), dtype=np.float64)
    directions = np.ascontiguousarray(np.atleast_2d(directions), dtype=np.float64)
    energies = np.ascontiguousarray(np.atleast_1d(energies), dtype=np.float64)
    n = energies.shape[0]
    if n == 0:
        return Births(np.empty(0, np.int64), np.empty((0, 3)), np.empty((0, 3)), np.empty(0))
    table = attenuation_table(density_g_cm3)
    unbounded = (np.full(3, -1e12), np.full(3, 1e12))
    g_lo, g_hi = (np.asarray(b, dtype=np.float64) for b in (photon_box or unbounded))
    e_lo, e_hi = (np.asarray(b, dtype=np.float64) for b in (electron_box or unbounded))
    if seed is None:
        seed = int(rng.integers(0, 2**62))
    capacity = 8 * n + 64
    while True:
        out = np.empty((capacity, 8), dtype=np.float64)
        count = _transport_kernel(
            positions, directions, energies, table.mu, table.log_e0, table.dlog,
            g_lo, g_hi, e_lo, e_hi, seed, out,
        )  # fmt: skip
        if count >= 0:
            break
        capacity *= 4  # the same seed replays the same histories
    out = out[:count]
    return Births(out[:, 0].astype(np.int64), out[:, 1:4], out[:, 4:7], out[:, 7])


@numba.njit(cache=True)
def _mu(table: np.ndarray, log_e0: float, dlog: float, energy: float) -> tuple:
    x = (math.log(energy) - log_e0) / dlog
    x = max(x, 0.0)
    top = table.shape[0] - 1
    if x >= top:
        x = top - 1e-9
    i = int(x)
    f = x - i
    compton = table[i, 0] * (1 - f) + table[i + 1, 0] * f
    photo = table[i, 1] * (1 - f) + table[i + 1, 1] * f
    pair = table[i, 2] * (1 - f) + table[i + 1, 2] * f
    if energy <= 2 * ELECTRON_MASS_MEV:
        pair = 0.0
    return compton, photo, pair


@numba.njit(cache=True)
def _isotropic() -> tuple:
    cos_t = 2.0 * np.random.random() - 1.0
    phi = 2.0 * math.pi * np.random.random()
    sin_t = math.sqrt(max(0.0, 1.0 - cos_t * cos_t))
    return sin_t * math.cos(phi), sin_t * math.sin(phi), cos_t


@numba.njit(cache=True)
def turn(dx: float, dy: float, dz: float, cos_t: float, phi: float) -> tuple:
    """Rotate (dx, dy, dz) by polar angle acos(cos_t) and azimuth phi around itself."""
    sin_t = math.sqrt(max(0.0, 1.0 - cos_t * cos_t))
    if abs(dz) < 0.99999:
        norm = math.sqrt(1.0 - dz * dz)
        ux, uy, uz = -dy / norm, dx / norm, 0.0  # ⟂ to d, in the xy plane
    else:
        ux, uy, uz = 1.0, 0.0, 0.0
    vx, vy, vz = dy * uz - dz * uy, dz * ux - dx * uz, dx * uy - dy * ux  # d × u
    c, s = math.cos(phi), math.sin(phi)
    nx = cos_t * dx + sin_t * (c * ux + s * vx)
    ny = cos_t * dy + sin_t * (c * uy + s * vy)
    nz = cos_t * dz + sin_t * (c * uz + s * vz)
    norm = math.sqrt(nx * nx + ny * ny + nz * nz)
    return nx / norm, ny / norm, nz / norm


@numba.njit(cache=True)
def _klein_nishina(energy: float) -> tuple:
    """(scattered photon energy, cos θ) by the Klein–Nishina formula (Butcher–Messel
    sampling of ε = E'/E over [1/(1+2k), 1])."""
    k = energy / ELECTRON_MASS_MEV
    eps0 = 1.0 / (1.0 + 2.0 * k)
    eps0sq = eps0 * eps0
    a1 = -math.log(eps0)
    a2 = (1.0 - eps0sq) / 2.0
    while True:
        if a1 / (a1 + a2) > np.random.random():
            eps = math.exp(-a1 * np.random.random())
            epssq = eps * eps
        else:
            epssq = eps0sq + (1.0 - eps0sq) * np.random.random()
            eps = math.sqrt(epssq)
        onecost = (1.0 - eps) / (eps * k)
        sint2 = onecost * (2.0 - onecost)
        reject = 1.0 - eps * sint2 / (1.0 + epssq)
        if reject >= np.random.random():
            return eps * energy, 1.0 - onecost


@numba.njit(cache=True)
def _inside(x: float, y: float, z: float, lo: np.ndarray, hi: np.ndarray) -> bool:
    return lo[0] <= x <= hi[0] and lo[1] <= y <= hi[1] and lo[2] <= z <= hi[2]


@numba.njit(cache=True)
def _transport_kernel(
    positions, directions, energies, mu, log_e0, dlog, g_lo, g_hi, e_lo, e_hi, seed, out
):
    """Returns the number of electrons written to ``out``, or -1 when it is too small."""
    np.random.seed(seed)
    count = 0
    stack = np.empty((64, 7))  # secondary photons: x, y, z, dx, dy, dz, E
    for p in range(energies.shape[0]):
        stack[0, 0] = positions[p, 0]
        stack[0, 1] = positions[p, 1]
        stack[0, 2] = positions[p, 2]
        stack[0, 3] = directions[p, 0]
        stack[0, 4] = directions[p, 1]
        stack[0, 5] = directions[p, 2]
        stack[0, 6] = energies[p]
        depth = 1
        while depth > 0:
            depth -= 1
            x, y, z = stack[depth, 0], stack[depth, 1], stack[depth, 2]
            dx, dy, dz = stack[depth, 3], stack[depth, 4], stack[depth, 5]
            e = stack[depth, 6]
            while e > 0.0:
                if e < PHOTON_CUT_MEV:  # absorbed where it stands
                    kind, t, ex, ey, ez = 1, e, dx, dy, dz
                    e = 0.0
                else:
                    compton, photo, pair = _mu(mu, log_e0, dlog, e)
                    total = compton + photo + pair
                    step = -math.log(1.0 - np.random.random()) / total
                    x += dx * step
                    y += dy * step
                    z += dz * step
                    if not _inside(x, y, z, g_lo, g_hi):
                        break
                    r = np.random.random() * total
                    if r < photo:
                        kind = 1
                        t = e
                        ex, ey, ez = _isotropic()  # (≈)
                        e = 0.0
                    elif r < photo + compton:
                        kind = 2
                        scattered, cos_t = _klein_nishina(e)
                        t = e - scattered
                        phi = 2.0 * math.pi * np.random.random()
                        ndx, ndy, ndz = turn(dx, dy, dz, cos_t, phi)
                        # electron momentum = photon momentum before − after
                        px = e * dx - scattered * ndx
                        py = e * dy - scattered * ndy
                        pz = e * dz - scattered * ndz
                        norm = math.sqrt(px * px + py * py + pz * pz)
                        if norm > 0:
                            ex, ey, ez = px / norm, py / norm, pz / norm
                        else:
                            ex, ey, ez = dx, dy, dz
                        dx, dy, dz = ndx, ndy, ndz
                        e = scattered
                    else:
                        kind = 3
                        t = e - 2.0 * ELECTRON_MASS_MEV
                        ex, ey, ez = dx, dy, dz
                        e = 0.0
                if kind == 3:  # pair: electron and positron, then annihilation photons
                    share = np.random.random() * t
                    for part in (share, t - share):
                        if part > 0 and _inside(x, y, z, e_lo, e_hi):
                            count = _birth(out, count, p, x, y, z, ex, ey, ez, part)
                            if count < 0:
                                return -1
                    if depth + 2 > stack.shape[0]:
                        return -1
                    ax, ay, az = _isotropic()
                    for sign in (1.0, -1.0):
                        stack[depth, 0] = x
                        stack[depth, 1] = y
                        stack[depth, 2] = z
                        stack[depth, 3] = sign * ax
                        stack[depth, 4] = sign * ay
                        stack[depth, 5] = sign * az
                        stack[depth, 6] = ELECTRON_MASS_MEV
                        depth += 1
                elif t > 0 and _inside(x, y, z, e_lo, e_hi):
                    count = _birth(out, count, p, x, y, z, ex, ey, ez, t)
                    if count < 0:
                        return -1
    return count


@numba.njit(cache=True)
def _birth(out, count, photon, x, y, z, dx, dy, dz, energy):
    """Write one electron birth; the new count, or -1 when ``out`` is full."""
    if count >= out.shape[0]:
        return -1
    out[count, 0] = photon
    out[count, 1] = x
    out[count, 2] = y
    out[count, 3] = z
    out[count, 4] = dx
    out[count, 5] = dy
    out[count, 6] = dz
    out[count, 7] = energy
    return count + 1
