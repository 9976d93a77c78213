"""The sweep's ``report.md``: what each design costs and what it keeps, the fronts, and the
choices a designer asks for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from triggerml.io import atomic_path


def _efficiency(cell: dict[str, Any]) -> str:
    if cell.get("value") is None:
        return "—"
    return f"{cell['value']:.3f} [{cell['lo']:.3f}, {cell['hi']:.3f}]"


def _exposure(validation: dict[str, Any]) -> str:
    total = sum(validation["apa_seconds"].values())
    reporting = sum(validation["apa_seconds_by_half"]["reporting"].values())
    return f"{total:.3g} APA-s ({reporting:.3g} reporting)"


def _band(rows: list[dict[str, Any]]) -> str:
    """The estimate's error band, as its builds state it."""
    bands = {r["cost"].get("error_band") for r in rows if r["cost"]["source"] == "estimate"}
    return "; ".join(sorted(b for b in bands if b)) or "error band unknown"


def markdown(summary: dict[str, Any]) -> str:
    signal = summary["signal"]
    rate = summary["rate_hz_per_apa"]
    adc = summary["adc_sum"]
    rows = sorted(summary["points"], key=lambda r: (r["cost"]["LUT"] or 0, r["key"]))
    signals = list(rows[0]["efficiency"]) if rows else [signal]
    cost_sources = sorted({r["cost"]["source"] for r in rows})
    lines = [
        f"# Sweep {summary['name']}: {summary['model']}",
        "",
        f"Validation stream `{summary['validation']['scenario']}`: "
        f"{_exposure(summary['validation'])}; thresholds tuned on one half at "
        f"{rate:g} Hz per APA, efficiencies measured on the other (68 % Clopper–Pearson), "
        "firmware emulated bit for bit. Cost per instance: "
        + ", ".join(cost_sources)
        + (f" (not synthesized; {_band(rows)})" if "estimate" in cost_sources else "")
        + f"; part `{summary['part']}`.",
        "",
        f"ADC sum at the same rate: {signal} {_efficiency(adc['efficiency'][signal])}"
        + "".join(
            f", {s} {_efficiency(adc['efficiency'][s])}" for s in adc["efficiency"] if s != signal
        )
        + ". The zoo model as trained (no fine-tune, latency, reuse 1): "
        + ", ".join(f"{s} {_efficiency(c)}" for s, c in summary["reference"]["efficiency"].items())
        + f", LUT {summary['reference']['cost']['LUT']}.",
        "",
        "| point | " + " | ".join(signals) + " | LUT | FF | DSP | BRAM | latency | II | "
        "C-sim / emulator mismatches | front (LUT) |",
        "|---|" + "---|" * len(signals) + "---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        c = r["cost"]
        lines.append(
            f"| {r['key']} | "
            + " | ".join(_efficiency(r["efficiency"][s]) for s in signals)
            + f" | {c['LUT']} | {c['FF']} | {c['DSP']} | {c['BRAM_18K']} | "
            f"{r['latency_cycles']} | {r['interval_cycles']} | "
            f"{r['csim_mismatches']} / {r['emulator_mismatches']} | "
            f"{'●' if r['pareto'] else ''} |"
        )
    choices = summary["choices"]
    lines += [
        "",
        "## Choices",
        "",
        f"- best {signal} efficiency: `{choices['best']}`",
        f"- cheapest (LUTs) within 1 point of it: `{choices['cheapest_within_1pt']}`",
        f"- best that fits `{summary['part']}` per instance: `{choices['fits_part']}`",
        f"- cheapest that keeps the ML trigger's gain over the ADC sum ({signal}, point "
        f"estimates): `{choices['keeps_gain']}`",
        "",
        "## Fronts",
        "",
        *(f"![{key}]({name})" for key, name in summary["plots"].items()),
        "",
    ]
    bad = [r["key"] for r in rows if r["csim_mismatches"] or r["emulator_mismatches"]]
    if bad:
        lines += [f"**Not exact**: {', '.join(bad)} (C-sim or emulator mismatches).", ""]
    return "\n".join(lines)


def write(target: Path, summary: dict[str, Any]) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(markdown(summary))
    return target
