"""A model card's operating-point section: the model's trigger figures measured on a
validation stream by a study (``summary.json``), not on the training set's test split.

The test split says how well the model ranks examples; what a trigger physicist judges it by
is the efficiency at the background rate it runs at, measured on an independent stream with
the firmware emulated bit for bit — with the exposure behind each figure and its interval.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from triggerml.io import sha256_file

CARD_RATES_HZ_PER_APA = (0.1, 1.0)  # the card's operating rates (#15: efficiency at 0.1, 1 Hz)
CARD_SIGNALS = ("electron_5_mev", "electron_10_mev", "sn_nue_cc")
CARD_TRIGGERS = ("ml", "combined", "adc_sum")


class CardError(ValueError):
    """A study that cannot validate this card."""


def validation(card: dict[str, Any], summary: dict[str, Any], summary_path: Path) -> dict:
    """The card's ``validation`` section from a study of this model."""
    model = Path(str(summary.get("model", ""))).stem
    if model != card["name"]:
        raise CardError(
            f"{summary_path} is a study of model {model!r}, not {card['name']!r}: "
            f"run `triggerml study` with model: models/{card['name']}.yaml"
        )
    if summary.get("schema_version") != 2:
        raise CardError(f"{summary_path} is not a schema-2 study summary: rerun the study")
    rows = []
    for trigger in CARD_TRIGGERS:
        for row in summary["efficiency_at_rate"].get(trigger, []):
            if row["rate_hz_per_apa"] in CARD_RATES_HZ_PER_APA and row["signal"] in CARD_SIGNALS:
                rows.append(
                    {
                        "trigger": trigger,
                        "rate_hz_per_apa": row["rate_hz_per_apa"],
                        "signal": row["signal"],
                        "efficiency": row["efficiency"],
                        "lo": row["lo"],
                        "hi": row["hi"],
                        "events": row["events"],
                        "limit": row["limit"],
                    }
                )
    missing = sorted(set(CARD_RATES_HZ_PER_APA) - {r["rate_hz_per_apa"] for r in rows})
    if missing:
        raise CardError(
            f"{summary_path} has no efficiency at {missing} Hz per APA: add them to the "
            "scenario's working_point.report_rates_hz_per_apa"
        )
    return {
        "study": str(summary_path),
        "summary_sha256": sha256_file(summary_path),
        "scenario": summary["scenario"],
        "apa_seconds": summary["apa_seconds"],
        "apa_seconds_by_half": summary["apa_seconds_by_half"],
        "precut_adc_sum": summary["precut_adc_sum"],
        "efficiency_at_rate": rows,
        "rate_at_90pct_hz_per_apa": {
            t: summary["rate_at_90pct_hz_per_apa"].get(t) for t in CARD_TRIGGERS
        },
        "fpga": _fpga(
            summary.get("firmware") or {},
            summary.get("scenario_config", {}),
            card.get("weights", {}).get("sha256"),
        ),
        "created": summary.get("created"),
    }


def _fpga(
    budget: dict[str, Any], scenario: dict[str, Any], weights_sha256: str | None
) -> dict[str, Any] | None:
    """The firmware's cost from the study's budget: per instance, and instances per APA to
    score every cluster above the pre-cut (synthesis report, or the build's estimate — for a
    study run before builds carried one, the estimate of the study's firmware folder when it
    was built from this card's weights)."""
    if not budget:
        return None
    per_instance = budget.get("resources_per_instance") or {}
    firmware = Path(str(scenario.get("firmware", "")))
    if not per_instance and (firmware / "manifest.json").is_file():
        from triggerml.compile.estimate import estimate_build

        manifest = json.loads((firmware / "manifest.json").read_text())
        if manifest.get("source", {}).get("sha256") != weights_sha256:
            return None
        try:
            estimate = estimate_build(firmware)
        except (OSError, ValueError):
            estimate = None
        if estimate is not None:
            per_instance = estimate["resources"]
            budget = {**budget, "source": f"estimate (not synthesized; {estimate['error_band']})"}
    return {
        "source": budget.get("source"),
        "interval_cycles": budget.get("interval_cycles"),
        "clock_ns": budget.get("clock_ns"),
        "instances_per_apa": budget.get("instances_per_apa"),
        "resources_per_instance": {k: row.get("used") for k, row in per_instance.items()},
    }


def _interval(row: dict[str, Any]) -> str:
    if row["efficiency"] is None:
        return "—"
    mark = " (limit)" if row["limit"] else ""
    return f"{row['efficiency']:.3f} [{row['lo']:.3f}, {row['hi']:.3f}]{mark}"


def validation_markdown(card: dict[str, Any]) -> str:
    """The operating-point section of the card's Markdown ('' when not validated)."""
    v = card.get("validation")
    if not v:
        return ""
    exposure = ", ".join(f"{k} {s:.3g}" for k, s in v["apa_seconds"].items())
    reporting = sum(v["apa_seconds_by_half"]["reporting"].values())
    lines = [
        "## Operating point on the validation stream",
        "",
        f"Study `{v['scenario']}` (`{v['study']}`, sha256 `{v['summary_sha256'][:12]}…`): "
        f"APA-seconds {exposure}, thresholds tuned on one half, figures from the other "
        f"({reporting:.3g} APA-s); pre-cut {v['precut_adc_sum']} ADC; firmware emulated bit "
        "for bit; efficiencies are module means with 68 % intervals (Clopper–Pearson).",
        "",
        "| trigger | rate [Hz/APA] | " + " | ".join(CARD_SIGNALS) + " |",
        "|---|---|" + "---|" * len(CARD_SIGNALS),
    ]
    for trigger in CARD_TRIGGERS:
        for rate in CARD_RATES_HZ_PER_APA:
            cells = []
            for signal in CARD_SIGNALS:
                match = [
                    r
                    for r in v["efficiency_at_rate"]
                    if (r["trigger"], r["rate_hz_per_apa"], r["signal"]) == (trigger, rate, signal)
                ]
                cells.append(_interval(match[0]) if match else "—")
            lines.append(f"| {trigger} | {rate:g} | " + " | ".join(cells) + " |")
    lines += ["", "Background rate for 90 % efficiency [Hz/APA], 68 % interval:", ""]
    for trigger in CARD_TRIGGERS:
        at90 = v["rate_at_90pct_hz_per_apa"].get(trigger) or {}
        parts = []
        for signal, row in at90.items():
            if row.get("value") is None:
                parts.append(f"{signal}: not reached (max {row.get('max_efficiency')})")
            elif row.get("limit"):  # no background candidate passed: an upper limit
                parts.append(f"{signal}: ≤ {row['hi']:.3g} (0 bkg. cand.)")
            else:
                parts.append(
                    f"{signal}: {row['value']:.3g} [{row['lo']:.3g}, {row['hi']:.3g}] "
                    f"({row['count']} bkg. cand.)"
                )
        lines.append(f"- {trigger}: " + "; ".join(parts))
    fpga = v.get("fpga")
    if fpga and fpga.get("resources_per_instance"):
        used = ", ".join(f"{k} {n}" for k, n in fpga["resources_per_instance"].items())
        lines += [
            "",
            f"FPGA cost per instance: {used}; interval {fpga['interval_cycles']} cycles at "
            f"{fpga['clock_ns']} ns, {fpga['instances_per_apa']} instance(s) per APA — "
            f"{fpga['source']}.",
        ]
    return "\n".join(lines) + "\n"


def fpga_of_build(card: dict[str, Any], firmware: Path) -> dict[str, Any]:
    """The card's ``fpga`` section from a build of its weights: the HLS report when the build
    was synthesized, else the estimate every build stores (labelled as such)."""
    manifest_path = firmware / "manifest.json"
    if not manifest_path.is_file():
        raise CardError(f"{firmware} is not a triggerml build folder (no manifest.json)")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("source", {}).get("sha256") != card.get("weights", {}).get("sha256"):
        raise CardError(
            f"{firmware} was built from other weights than {card['name']}'s card: rebuild "
            f"with `triggerml build models/{card['name']}.h5 --out {firmware}`"
        )
    from triggerml.compile.estimate import build_cost

    cost = build_cost(firmware)
    assert cost is not None
    resources = cost["resources"]
    return {
        "firmware": str(firmware),
        "source": cost["label"],
        "part": cost["part"],
        "clock_ns": cost["clock_ns"],
        "latency_cycles": cost["latency_cycles"],
        "interval_cycles": cost["interval_cycles"],
        "multiplications": cost["multiplications"],
        "resources_per_instance": {k: row.get("used") for k, row in resources.items()},
        "percent_of_part": {k: row.get("percent") for k, row in resources.items()},
    }


def fpga_markdown(card: dict[str, Any]) -> str:
    """The card's FPGA-cost section ('' without one)."""
    fpga = card.get("fpga")
    if not fpga:
        return ""
    percent = fpga.get("percent_of_part") or {}
    used = ", ".join(
        f"{k} {n}" + (f" ({percent[k]:.3g} % of the part)" if percent.get(k) is not None else "")
        for k, n in fpga["resources_per_instance"].items()
    )
    mults = (
        f"; {fpga['multiplications']:,} multiplications per inference by weights other than "
        "0 and ±2ᵏ (the others are wires and shifts)"
        if fpga.get("multiplications") is not None
        else ""
    )
    return (
        "## FPGA cost\n\n"
        f"Build `{fpga['firmware']}` (part `{fpga['part']}`, {fpga['clock_ns']} ns clock): per "
        f"instance {used}; latency {fpga['latency_cycles']} cycles, interval "
        f"{fpga['interval_cycles']} cycles{mults} — {fpga['source']}.\n"
    )
