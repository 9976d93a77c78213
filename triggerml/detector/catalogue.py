"""The background model, source by source: what decays or arrives, where, and how often.

After DUNE's own radiological model for the horizontal-drift far detector (DUNE/dunesim,
``EventGenerator/Radiological/dune_radiological_model_decay0_hd_common.fcl`` v3.1.4 for the
internal part, ``…_v3_4_hd_1x2x6.fcl`` for the external part; DESIGN.md §4).  Each
:class:`Source` has an activity in its own unit, a location (:class:`Location`) and the decay
chain members it produces.  Activities the model derives from another one (K-42 and the
radon daughters that drift to the cathode as ions) are not set directly: they follow their
parent's activity and the plate-out fraction (``DetectorScenario.plateout``).

Decay data: ENSDF via NNDC NuDat (energies in MeV, rounded to 1 keV); branches that matter for
visible energy are kept and the rest folded in, marked (≈).  Chain members decay as
independent events (Bi-214 → Po-214's 164 µs coincidence is not kept (≈)).  Bulk materials
(FR4, steel) emit only their γ into the argon: their α and β stop in the material (≈: a
β from the outer 1–2 mm of FR4 can escape).  Surface sources (ions on the cathode, plate-out
on photon detectors) emit α and β into the argon when their direction points into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from triggerml.detector.spectra import Branch, Decay

# --- decay data (ENSDF / NuDat); daughter Z for the Fermi function --------------------------
ISOTOPES: dict[str, Decay] = {
    "Ar39": Decay(19, (Branch(1.0, beta_q_mev=0.565),)),
    "Kr85": Decay(37, (Branch(0.9957, beta_q_mev=0.687), Branch(0.0043, 0.173, 0, (0.514,)))),
    "Ar42": Decay(19, (Branch(1.0, beta_q_mev=0.599),)),
    "K42": Decay(20, (Branch(0.82, beta_q_mev=3.525), Branch(0.18, 2.001, 0, (1.525,)))),
    "K40": Decay(20, (Branch(0.8928, beta_q_mev=1.311), Branch(0.1072, 0, 0, (1.461,)))),
    "Co60": Decay(28, (Branch(1.0, 0.318, 0, (1.173, 1.333)),)),
    # U-238 chain
    "U238": Decay(90, (Branch(1.0, alpha_mev=4.198),)),
    "Th234": Decay(91, (Branch(1.0, beta_q_mev=0.199),)),  # (≈) main branches 0.199/0.106
    "Pa234m": Decay(92, (Branch(0.98, beta_q_mev=2.27), Branch(0.02, 1.27, 0, (1.001,)))),
    "U234": Decay(90, (Branch(1.0, alpha_mev=4.775),)),
    "Th230": Decay(88, (Branch(1.0, alpha_mev=4.687),)),
    "Ra226": Decay(86, (Branch(1.0, alpha_mev=4.784),)),  # (≈) 186 keV γ (3.6 %) left out
    "Rn222": Decay(84, (Branch(1.0, alpha_mev=5.49),)),
    "Po218": Decay(82, (Branch(1.0, alpha_mev=6.00),)),
    "Pb214": Decay(
        83,
        (
            Branch(0.48, 0.67, 0, (0.352,)),
            Branch(0.41, 0.73, 0, (0.295,)),
            Branch(0.11, beta_q_mev=1.02),
        ),
    ),
    "Bi214": Decay(
        84,
        (
            Branch(0.19, beta_q_mev=3.27),
            Branch(0.48, 2.66, 0, (0.609,)),
            Branch(0.33, 1.51, 0, (0.609, 1.12)),  # (≈) 1.12/1.76/2.20 MeV levels folded
        ),
    ),
    "Po214": Decay(82, (Branch(1.0, alpha_mev=7.687),)),
    "Pb210": Decay(83, (Branch(1.0, beta_q_mev=0.0635),)),  # (≈) 46.5 keV γ folded in
    "Bi210": Decay(84, (Branch(1.0, beta_q_mev=1.162),)),
    "Po210": Decay(82, (Branch(1.0, alpha_mev=5.304),)),
    # Th-232 chain
    "Th232": Decay(88, (Branch(1.0, alpha_mev=4.012),)),
    "Ra228": Decay(89, (Branch(1.0, beta_q_mev=0.046),)),
    "Ac228": Decay(  # Q = 2.124; (≈) four branches carrying the 911, 969, 338, 1588 keV lines
        90,
        (
            Branch(0.40, 1.155, 0, (0.911, 0.058)),
            Branch(0.25, 1.097, 0, (0.969, 0.058)),
            Branch(0.20, 1.728, 0, (0.338, 0.058)),
            Branch(0.15, 0.478, 0, (1.588, 0.058)),
        ),
    ),
    "Th228": Decay(86, (Branch(1.0, alpha_mev=5.423),)),
    "Ra224": Decay(86, (Branch(1.0, alpha_mev=5.686),)),
    "Rn220": Decay(84, (Branch(1.0, alpha_mev=6.288),)),
    "Po216": Decay(82, (Branch(1.0, alpha_mev=6.778),)),
    "Pb212": Decay(83, (Branch(0.88, 0.335, 0, (0.239,)), Branch(0.12, beta_q_mev=0.574))),
    # Bi-212: 64.06 % β⁻ (Q 2.252) to Po-212, 35.94 % α (6.05) to Tl-208: the daughters are
    # listed in the chains with those multiplicities
    "Bi212": Decay(84, (Branch(0.6406, beta_q_mev=2.252), Branch(0.3594, alpha_mev=6.051))),
    "Po212": Decay(82, (Branch(1.0, alpha_mev=8.785),)),
    "Tl208": Decay(  # Q = 5.0; (≈) the three main branches, renormalized
        82,
        (
            Branch(0.50, 1.803, 0, (0.583, 2.614)),
            Branch(0.26, 1.287, 0, (0.511, 0.583, 2.614)),
            Branch(0.24, 1.526, 0, (0.861, 2.614)),
        ),
    ),
}

U238_CHAIN = tuple(
    (name, 1.0)
    for name in (
        "U238", "Th234", "Pa234m", "U234", "Th230", "Ra226", "Rn222", "Po218", "Pb214",
        "Bi214", "Po214", "Pb210", "Bi210", "Po210",
    )
)  # fmt: skip
TH232_CHAIN = (
    *((name, 1.0) for name in ("Th232", "Ra228", "Ac228", "Th228", "Ra224", "Rn220", "Po216")),
    ("Pb212", 1.0),
    ("Bi212", 1.0),
    ("Po212", 0.6406),
    ("Tl208", 0.3594),
)
RN220_FROM_PB212 = (("Pb212", 1.0), ("Bi212", 1.0), ("Po212", 0.6406), ("Tl208", 0.3594))
PB210_CHAIN = (("Pb210", 1.0), ("Bi210", 1.0), ("Po210", 1.0))


def q_value_mev(isotope: str) -> float:
    """The most energy one decay of ``isotope`` can release as α, β and γ."""
    return max(b.beta_q_mev + b.alpha_mev + sum(b.gammas_mev) for b in ISOTOPES[isotope].branches)


# --- neutron capture on argon: level schemes ------------------------------------------------
# ⁴⁰Ar(n,γ)⁴¹Ar, thermal: capture state 6.0989 MeV; levels (MeV) with their γ transitions
# (γ energy, relative intensity per 100 captures, final level) from ENSDF (Nuclear Data Sheets
# for A = 41), as tabulated in LArSoft's ArCaptureGammas (larg4).  The resolved primaries sum
# to 93.0 per 100 captures; the other 7.0 (≈) go through the unresolved quasi-continuum,
# modelled as two γ (split at a uniform intermediate energy: γ energy 0.0 below) into the
# 167 keV level — with it the 167, 1187 and 4745 keV lines come out at 72.7, 50.0 and 51.2
# per 100 captures against ENSDF's 74.0, 48.5 and 51.2.
AR41_LEVELS: dict[float, tuple[tuple[float, float, float], ...]] = {
    6.0989: (
        (0.0, 7.0, 0.1673),
        (5.5820, 10.79, 0.5161),
        (5.0637, 0.242, 1.0347),
        (4.7450, 51.2, 1.3539),
        (3.7004, 9.11, 2.3981),
        (3.3655, 3.91, 2.7334),
        (3.1502, 3.72, 2.9487),
        (3.0894, 1.02, 3.0096),
        (2.7718, 8.00, 3.3268),
        (2.1307, 4.09, 3.9682),
        (1.8288, 0.93, 4.2700),
    ),
    4.2700: ((4.1025, 0.93, 0.1673),),
    3.9682: ((3.4518, 1.86, 0.5161), (2.6143, 2.7, 1.3539)),
    3.3268: ((2.8105, 5.49, 0.5161), (2.2916, 0.186, 1.0347), (1.9726, 0.502, 1.3539)),
    3.0096: ((2.8425, 0.818, 0.1673),),
    2.9487: ((2.7818, 1.58, 0.1673), (2.4325, 0.781, 0.5161)),
    2.7334: ((2.5661, 2.6, 0.1673),),
    2.3981: ((2.2295, 0.27, 0.1673), (1.8815, 1.3, 0.5161), (1.0443, 5.58, 1.3539)),
    1.3539: ((1.3540, 2.14, 0.0), (1.1868, 48.5, 0.1673), (0.8377, 8.93, 0.5161)),
    1.0347: ((0.8673, 1.02, 0.1673),),
    0.5161: ((0.5160, 23.5, 0.0), (0.3487, 6.14, 0.1673)),
    0.1673: ((0.1673, 74.0, 0.0),),
}
# ³⁶Ar(n,γ)³⁷Ar, thermal: capture state 8.7912 MeV (same sources).
AR37_LEVELS: dict[float, tuple[tuple[float, float, float], ...]] = {
    8.7912: (
        (8.7904, 10.9, 0.0),
        (6.2997, 37.5, 2.4909),
        (5.2726, 25.0, 3.5180),
        (4.8518, 0.8, 3.9385),
        (4.8103, 1.6, 3.9811),
        (4.3423, 3.2, 4.4486),
        (4.2116, 0.8, 4.5787),
        (4.1530, 1.8, 4.6376),
        (3.7002, 13.4, 5.0905),
        (2.2076, 2.7, 6.5837),
        (1.9667, 2.4, 6.8262),
    ),
    6.8262: ((2.2479, 5.0, 4.5787),),
    6.5837: ((2.1353, 0.2, 4.4486),),
    5.0905: ((3.6793, 7.9, 1.4106), (2.5996, 3.1, 2.4909)),
    4.6376: ((3.2269, 1.0, 1.4106), (2.1452, 0.2, 2.4909)),
    4.5787: ((2.0873, 0.3, 2.4909),),
    4.4486: ((1.9573, 2.0, 2.4909),),
    3.9811: ((3.9814, 1.3, 0.0),),
    3.9385: ((3.9380, 1.0, 0.0),),
    3.5180: ((2.1075, 23.7, 1.4106), (1.0267, 2.7, 2.4909)),
    2.4909: ((2.4906, 57.0, 0.0), (0.8785, 0.5, 1.6119)),
    1.6119: ((1.6117, 3.4, 0.0),),
    1.4106: ((1.4103, 33.0, 0.0),),
}
AR41_CITED_LINES = {0.1673: 74.0, 1.1868: 48.5, 4.7450: 51.2}  # per 100 captures, ENSDF
AR36_CAPTURE_FRACTION = 0.026  # 0.334 % × 5.2 b against 99.6 % × 0.66 b (thermal σ, ENDF)


def sample_cascade(
    rng: np.random.Generator, levels: dict[float, tuple[tuple[float, float, float], ...]]
) -> list[float]:
    """γ energies of one cascade from the capture state (the highest level) to the ground
    state, each step drawn by the listed intensities; they sum to the capture energy."""
    level = max(levels)
    gammas: list[float] = []
    while level > 0.0:
        transitions = levels[level]
        weights = np.array([t[1] for t in transitions])
        energy, _, final = transitions[int(rng.choice(len(transitions), p=weights / weights.sum()))]
        if energy == 0.0:  # unresolved: two γ through a uniform intermediate energy
            middle = rng.uniform(final, level)
            gammas += [level - middle, middle - final]
        else:
            gammas.append(level - final)  # the level difference: sums exactly to Q
        level = final
    return gammas


# --- external γ spectra (≈) -------------------------------------------------------------------
# DUNE's model draws these from dune_pardata tables that are not reachable here; each is
# approximated by its principal lines (MeV, relative weight) plus a flat continuum of
# degraded photons (lo, hi, weight): (≈) throughout.
EXTERNAL_SPECTRA: dict[str, tuple[tuple[tuple[float, float], ...], tuple[float, float, float]]] = {
    # rock + shotcrete U/Th/K through the cryostat: K-40, Bi-214, Tl-208, Ac-228 lines
    "cavern": (
        (
            (1.461, 0.25),
            (2.614, 0.12),
            (0.609, 0.12),
            (1.120, 0.04),
            (1.764, 0.04),
            (2.204, 0.015),
            (0.583, 0.06),
            (0.911, 0.05),
        ),
        (0.1, 2.6, 0.305),
    ),
    # polyurethane foam insulation (ICP-MS U/Th/K): same emitters
    "foam": (
        ((1.461, 0.30), (2.614, 0.10), (0.609, 0.15), (1.764, 0.05), (0.583, 0.05), (0.911, 0.05)),
        (0.1, 2.6, 0.30),
    ),
    # neutron captures in the cryostat steel (Fe, Cr, Ni)
    "ngamma_cryostat": (
        (
            (7.631, 0.22),
            (7.646, 0.18),
            (6.018, 0.07),
            (5.920, 0.07),
            (8.998, 0.08),
            (9.719, 0.04),
            (4.218, 0.04),
        ),
        (1.0, 7.0, 0.30),
    ),
    # neutron captures in rock and shotcrete (H, Si, Ca, Fe)
    "ngamma_cavern": (
        ((2.223, 0.30), (3.539, 0.08), (4.934, 0.08), (6.420, 0.05), (7.631, 0.08), (7.646, 0.07)),
        (1.0, 7.0, 0.34),
    ),
}


class Location(StrEnum):
    LAR = "lar"  # uniform in the active argon
    CATHODE = "cathode"  # ions drifted onto the cathode (CPA) surface
    CPA_FR4 = "cpa_fr4"  # bulk FR4 of the cathode sheets
    APA_BOARDS = "apa_boards"  # FR4 head boards at the APA's outer end
    APA_STEEL = "apa_steel"  # the APA frame
    PDS = "pds"  # photon-detector surfaces inside the APA frame
    EXTERNAL = "external"  # γ from planes outside the active volume
    CAPTURE = "capture"  # neutrons captured in the argon


@dataclass(frozen=True)
class Source:
    """One background source of the model."""

    name: str  # truth `kind` (≤ 16 characters)
    location: Location
    activity: float  # default; in `unit`
    unit: str
    chain: tuple[tuple[str, float], ...] = ()  # (isotope, decays per source decay)
    derived_from: str | None = None  # activity follows this source …
    plateout: str | None = None  # … times this plate-out fraction (cathode) or 1 − it (LAr)
    spectrum: str | None = None  # external γ
    note: str = ""


_FCL = "dunesim hd_common v3.1.4"
_EXT = "dunesim v3_4_hd_1x2x6"
SOURCES: tuple[Source, ...] = (
    Source("Ar39", Location.LAR, 1.01, "Bq/kg", (("Ar39", 1.0),), note=_FCL),
    Source("Kr85", Location.LAR, 0.115, "Bq/kg", (("Kr85", 1.0),), note=f"{_FCL} (WARP)"),
    Source("Ar42", Location.LAR, 92e-6, "Bq/kg", (("Ar42", 1.0),), note=f"{_FCL} (Barabash)"),
    Source("K42", Location.LAR, 0.0, "Bq/kg", (("K42", 1.0),), "Ar42", "K42", note="20 % stays"),
    Source("K42_cathode", Location.CATHODE, 0.0, "Bq/kg", (("K42", 1.0),), "Ar42", "K42"),
    Source(
        "Rn222",
        Location.LAR,
        1.0e-3,
        "Bq/kg",
        (
            ("Rn222", 1.0),
            ("Po218", 1.0),
            ("Pb214", 1.0),
            ("Bi214", 1.0),
            ("Po214", 1.0),
            ("Pb210", 1.0),
        ),
        note=f"{_FCL}: daughters less their plate-out fractions",
    ),
    Source(
        "Rn222_cathode",
        Location.CATHODE,
        0.0,
        "Bq/kg",
        (("Po218", 1.0), ("Pb214", 1.0), ("Bi214", 1.0), ("Po214", 1.0), *PB210_CHAIN),
        "Rn222",
        note="daughters' ions: Po218, Pb214, Bi214/Pb210 fractions",
    ),
    # Rn-220: ⅓ of the Rn-222 daughters (fcl: Pb-212 on), liquid and cathode
    Source("Rn220", Location.LAR, 1.0e-3 / 3, "Bq/kg", RN220_FROM_PB212, None, "Rn220", note=_FCL),
    Source("Rn220_cathode", Location.CATHODE, 0.0, "Bq/kg", RN220_FROM_PB212, "Rn220", "Rn220"),
    Source("K40_cpa", Location.CPA_FR4, 7.0, "Bq/kg", (("K40", 1.0),), note=f"{_FCL} FR4"),
    Source("U238_cpa", Location.CPA_FR4, 5.1, "Bq/kg", U238_CHAIN, note=f"{_FCL} FR4"),
    Source("Th232_cpa", Location.CPA_FR4, 7.2, "Bq/kg", TH232_CHAIN, note=f"{_FCL} FR4"),
    Source("K40_boards", Location.APA_BOARDS, 7.0, "Bq/kg", (("K40", 1.0),), note=_FCL),
    Source("U238_boards", Location.APA_BOARDS, 5.1, "Bq/kg", U238_CHAIN, note=_FCL),
    Source("Th232_boards", Location.APA_BOARDS, 7.2, "Bq/kg", TH232_CHAIN, note=_FCL),
    Source("Co60_apa", Location.APA_STEEL, 0.137, "Bq/kg", (("Co60", 1.0),), note=_FCL),
    Source("U238_apa", Location.APA_STEEL, 0.021, "Bq/kg", U238_CHAIN, note=_FCL),
    Source("Th232_apa", Location.APA_STEEL, 0.0352, "Bq/kg", TH232_CHAIN, note=_FCL),
    Source("Pb210_pds", Location.PDS, 0.2, "Bq/m2", PB210_CHAIN, note=f"{_FCL} plate-out"),
    Source("gamma_cavern", Location.EXTERNAL, 1.05104, "g/cm2/s", spectrum="cavern", note=_EXT),
    Source("gamma_foam", Location.EXTERNAL, 0.0441274, "g/cm2/s", spectrum="foam", note=_EXT),
    Source(
        "ngamma_cryostat",
        Location.EXTERNAL,
        1.6793e-6,
        "g/cm2/s",
        spectrum="ngamma_cryostat",
        note=_EXT,
    ),
    Source(
        "ngamma_cavern", Location.EXTERNAL, 5.439e-7, "g/cm2/s", spectrum="ngamma_cavern", note=_EXT
    ),
    Source("ncapture", Location.CAPTURE, 2.6996e-7, "n/cm2/s", note=f"{_EXT} cavern neutrons"),
)
SOURCE_BY_NAME = {source.name: source for source in SOURCES}
INDEPENDENT = tuple(s.name for s in SOURCES if s.derived_from is None)

# Fractions of each daughter's ions that drift to the cathode (the rest decays in the liquid):
# DUNE radiological model v3.1.4 (K-42 80 %, Po-218 13.7 %, Pb-214 40.7 %, Bi-214 and
# Pb-210 67.2 %; Rn-220's Pb-212 on as Bi-214).
PLATEOUT_DEFAULTS: dict[str, float] = {
    "K42": 0.80,
    "Po218": 0.137,
    "Pb214": 0.407,
    "Bi214": 0.672,
    "Pb210": 0.672,
    "Rn220": 0.672,
}
# which plate-out fraction applies to each Rn-222 daughter
RN222_DAUGHTER_PLATEOUT = {
    "Po218": "Po218",
    "Pb214": "Pb214",
    "Bi214": "Bi214",
    "Po214": "Bi214",
    "Pb210": "Pb210",
    "Bi210": "Pb210",
    "Po210": "Pb210",
}
