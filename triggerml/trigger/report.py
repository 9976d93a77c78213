"""``report.md``: the study's figures and the assumptions behind them, for people."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from triggerml.io import atomic_path

NAMES = {"ml": "ML", "adc_sum": "ADC sum"}
MODULE_APAS = 150


def _fmt(value: Any, spec: str = ".3g") -> str:
    return "n/a" if value is None else format(value, spec)


def _reach_at(summary: dict[str, Any], trigger: str, kpc: float) -> str:
    for row in summary["efficiency_vs_distance"][trigger]:
        if row["kpc"] == kpc:
            return f"{row['efficiency']:.3f} (68 %: {row['lo']:.3f}–{row['hi']:.3f})"
    return "n/a"


def headline(summary: dict[str, Any]) -> list[str]:
    """The table `make demo` prints."""
    stream = summary["stream"]
    warnings = [f"WARNING: {w}" for w in summary.get("warnings", [])]
    return [
        *warnings,
        "| | ML | ADC sum |",
        "|---|---|---|",
        "| background candidates per APA [Hz] | "
        + " | ".join(_fmt(summary["background_rate_hz_per_apa"][t]) for t in NAMES)
        + " |",
        "| E50 [MeV] | " + " | ".join(_fmt(summary["e50_mev"][t], ".2f") for t in NAMES) + " |",
        "| SN burst efficiency at 10 kpc | "
        + " | ".join(_reach_at(summary, t, 10.0) for t in NAMES)
        + " |",
        "| fake bursts per month | "
        + " | ".join(_fmt(summary["fake_bursts_per_month"][t], ".2g") for t in NAMES)
        + " |",
        f"| chain throughput per core | {stream['samples_per_s'] / 1e6:.1f} MS/s = "
        f"{stream['fraction_of_real_time']:.4f} × real time of one APA | |",
    ]


def write(path: Path, summary: dict[str, Any]) -> Path:
    stream = summary["stream"]
    firmware = summary["firmware"]
    cores = 1 / stream["fraction_of_real_time"] if stream["fraction_of_real_time"] else None
    lines = [
        f"# Trigger study `{summary['scenario']}`",
        "",
        f"Model `{summary['model']}` ({summary['input_kind']} inputs), firmware emulated bit "
        f"for bit; seed {summary['seed']}; {summary['apas']} APA stream(s) × "
        f"{summary['live_seconds_per_apa']:.3g} s counted, in {summary['tasks']} task(s). "
        "Exposure by APA kind (APA-seconds): "
        + ", ".join(f"{k} {v:.3g}" for k, v in summary.get("apa_seconds", {}).items())
        + ". Rates per APA are module averages: each simulated kind weighted by its share of "
        "the module's APAs (50 central + 100 outer; an outer APA reads one drift volume); "
        "signal efficiencies pool the simulated APAs unweighted.",
        "",
        "## Headline",
        "",
        *headline(summary),
        "",
        "## Working point",
        "",
        f"Clusters per APA: {summary['clusters_per_s_per_apa']:.4g} /s "
        f"({summary['background_clusters']} background clusters counted). The ML threshold "
        "(on the firmware's logit, before the sigmoid table: same order, finer steps) is the "
        "lowest one whose background rate stays within the scenario's rate; the ADC-sum "
        "threshold is then tuned on the same background clusters to the rate ML reached. "
        f"Thresholds: ML logit ≥ {_fmt(summary['thresholds']['ml'], '.6g')}, ADC sum ≥ "
        f"{_fmt(summary['thresholds']['adc_sum'], '.6g')}. Background = clusters not matched "
        "to a single electron or supernova event (radiologicals and noise).",
        "",
    ]
    if "efficiency_vs_energy" in summary:
        lines += [
            "## Single-electron threshold scan",
            "",
            "E50 from a binomial maximum-likelihood erf fit (plateau free); efficiencies with "
            "Clopper–Pearson 68 % intervals. An event is found when any of its clusters "
            "passes.",
            "",
            "| E [MeV] | events | ML | ADC sum |",
            "|---|---|---|---|",
        ]
        ml, adc = summary["efficiency_vs_energy"]["ml"], summary["efficiency_vs_energy"]["adc_sum"]
        for a, b in zip(ml, adc, strict=True):
            lines.append(
                f"| {a['energy_mev']:g} | {a['events']} | {a['efficiency']:.3f} "
                f"({a['lo']:.3f}–{a['hi']:.3f}) | {b['efficiency']:.3f} "
                f"({b['lo']:.3f}–{b['hi']:.3f}) |"
            )
        lines += ["", "![efficiency](efficiency_vs_energy.png)", ""]
        lines += ["![rates](rate_vs_efficiency.png)", ""]
    if "burst" in summary:
        b = summary["burst"]
        lines += [
            "## Supernova-burst trigger",
            "",
            f"Candidates of a whole module ({b['apas_per_module']} APAs, "
            f"{b['module_mass_t']:.0f} t) counted in a {b['window_s']:g} s window sliding by "
            f"{b['step_s']:g} s. Simulated APAs are independent streams; the background "
            f"count per window is Poisson with mean (rate per APA) × {b['apas_per_module']} × "
            f"window, and the burst threshold is the smallest count whose Poisson tail gives "
            f"≤ {b['fake_bursts_per_month']:g} fake bursts per month over month/step trials "
            "(counted as independent: conservative). The tail is computed, not sampled. "
            f"A burst at 10 kpc brings {b['events_in_window_10kpc']:.0f} νe-CC events into "
            "the first window; pseudo-bursts draw the event count, each event's candidates "
            "from the measured distribution (with its Dirichlet uncertainty) and the "
            f"background ({b['toys']} per distance).",
            "",
            "| trigger | SN events measured | per-event efficiency | candidates / event | "
            "background / window | burst threshold | fake bursts / month |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, d in b["triggers"].items():
            lines.append(
                f"| {NAMES[name]} | {d['sn_events']} | {_fmt(d['sn_event_efficiency'])} | "
                f"{_fmt(d['candidates_per_sn_event'])} | {d['background_per_window']:.4g} | "
                f"{d['burst_threshold_count']} | "
                f"{_fmt(summary['fake_bursts_per_month'][name], '.2g')} |"
            )
        lines += ["", "| kpc | ML | ADC sum |", "|---|---|---|"]
        for a, c in zip(
            summary["efficiency_vs_distance"]["ml"],
            summary["efficiency_vs_distance"]["adc_sum"],
            strict=True,
        ):
            lines.append(
                f"| {a['kpc']:g} | {a['efficiency']:.3f} ({a['lo']:.3f}–{a['hi']:.3f}) | "
                f"{c['efficiency']:.3f} ({c['lo']:.3f}–{c['hi']:.3f}) |"
            )
        lines += ["", "![reach](snb_reach.png)", ""]
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in stream["stage_seconds"].items())
    lines += [
        "## Throughput and real time",
        "",
        f"The chain (TPG, clustering, input building, firmware emulator; the simulator "
        f"excluded: {stream['simulate_seconds']:.1f} s) consumed {stream['samples']:.4g} "
        f"readout samples in {stream['chain_seconds']:.1f} s on one core ({stages}): "
        f"{stream['samples_per_s'] / 1e6:.1f} MS/s, {stream['fraction_of_real_time']:.4f} of "
        f"one APA's real-time readout ({stream['apa_samples_per_s_real_time'] / 1e9:.2f} GS/s "
        "counting all 2560 channels; the TPG runs on the 960 collection wires).",
        f"One 10 kt module ({MODULE_APAS} APAs, ≈10 Tb/s) in real time would need "
        + (f"≈{MODULE_APAS * cores:,.0f} such cores" if cores else "n/a")
        + " for this chain in software — which is why it belongs in firmware.",
        "",
        "## Firmware budget",
        "",
        f"Every cluster is scored: {firmware['inference_rate_hz_per_apa']:.4g} inferences/s "
        f"per APA. At II = {firmware['interval_cycles']} cycles and {firmware['clock_ns']} ns "
        f"clock one instance scores {firmware['inferences_per_s_per_instance']:.3g}/s: "
        f"{firmware['instances_per_apa']} instance(s) per APA "
        f"({'keeps up' if firmware['keeps_up'] else 'does NOT keep up'}); source: "
        f"{firmware['source']}.",
        "",
        "## Versions",
        "",
        ", ".join(f"{k} {v}" for k, v in summary["versions"].items()),
        "",
    ]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines))
    return path
