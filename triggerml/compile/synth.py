"""`triggerml synth`: run the real Vivado HLS / Vitis HLS tool and parse its reports.

The tool is found on PATH or under ``XILINX_HLS`` / ``XILINX_VIVADO``; its log streams to
``DIR/synth.log``.  A non-zero exit or an ``ERROR`` line in the log is a failed synthesis
(no report is written).  The C-synthesis XML (``csynth.xml``) and, with ``--vsynth``, Vivado's
utilization report are turned into ``DIR/report.json`` (DESIGN.md §5).
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triggerml.config import UsageError
from triggerml.io import write_json
from triggerml.toolchain import HLS_TOOLS, HlsTool, ToolNotFoundError, hls_tools

RESOURCES = ("BRAM_18K", "DSP", "FF", "LUT", "URAM")
ERROR_LINE = re.compile(r"^\s*ERROR\b|^\s*\[ERROR\]|\bERROR: \[", re.MULTILINE)


class SynthError(RuntimeError):
    """The HLS tool ran and failed."""


@dataclass(frozen=True)
class SynthOptions:
    csim: bool = False
    cosim: bool = False
    export: bool = False
    vsynth: bool = False


def project_dir(build_dir: Path) -> Path:
    """The HLS project inside a build folder (or the folder itself, e.g. firmware/tpg)."""
    if (build_dir / "manifest.json").is_file():
        import json

        manifest = json.loads((build_dir / "manifest.json").read_text())
        return build_dir / manifest["hls_project"]
    if (build_dir / "build_prj.tcl").is_file():
        return build_dir
    raise FileNotFoundError(
        f"{build_dir} is neither a triggerml build (manifest.json) nor an "
        "HLS project (build_prj.tcl): run `triggerml build` first"
    )


def choose_tool(name: str | None) -> HlsTool:
    found = [tool for tool in hls_tools() if tool.found]
    if name is not None:
        if name not in HLS_TOOLS:
            raise UsageError(f"--tool must be one of {', '.join(HLS_TOOLS)}, not {name!r}")
        tool = next((t for t in hls_tools() if t.name == name), None)
        if tool is None or not tool.found:
            raise ToolNotFoundError(_missing(name))
        return tool
    if not found:
        raise ToolNotFoundError(
            "no HLS tool found: install Vitis HLS (vitis_hls or vitis-run on PATH, or set "
            "XILINX_HLS) or Vivado HLS (vivado_hls on PATH, or set XILINX_VIVADO)"
        )
    return found[0]


def _missing(name: str) -> str:
    variable = "XILINX_VIVADO" if name == "vivado_hls" else "XILINX_HLS"
    return f"{name} not found: put it on PATH or set {variable} to its installation folder"


def command(tool: HlsTool, options: SynthOptions, project: Path) -> list[str]:
    flags = {
        "reset": 1,
        "csim": int(options.csim),
        "synth": 1,
        "cosim": int(options.cosim),
        "validation": 0,
        "export": int(options.export),
        "vsynth": int(options.vsynth),
        "fifo_opt": 0,
    }
    assert tool.path is not None
    if tool.name == "vitis-run":
        lines = "\n".join(f"    {k} {v}" for k, v in flags.items())
        (project / "build_opt.tcl").write_text(f"array set opt {{\n{lines}\n}}\n")
        return [tool.path, "--mode", "hls", "--tcl", "build_prj.tcl"]
    arguments = " ".join(f"{k}={v}" for k, v in flags.items())
    return [tool.path, "-f", "build_prj.tcl", arguments]


def run(
    build_dir: str | Path,
    tool_name: str | None = None,
    options: SynthOptions | None = None,
    on_line: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Synthesize, check, parse; writes and returns ``report.json``."""
    build_dir = Path(build_dir)
    project = project_dir(build_dir)
    tool = choose_tool(tool_name)
    options = options or SynthOptions()
    log_path = build_dir / "synth.log"
    (build_dir / "report.json").unlink(missing_ok=True)
    with (
        open(log_path, "w") as log,
        subprocess.Popen(
            command(tool, options, project),
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as process,
    ):
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            if on_line is not None:
                on_line(line.rstrip())
        code = process.wait()
    text = log_path.read_text()
    if code != 0:
        raise SynthError(f"{tool.name} exited with code {code}: see {log_path}")
    error = ERROR_LINE.search(text)
    if error is not None:
        line = text[error.start() :].splitlines()[0].strip()
        raise SynthError(f"{tool.name} reported an error ({line[:160]}): see {log_path}")
    report = parse_reports(project, tool.name)
    write_json(build_dir / "report.json", report)
    return report


# --- report parsing ------------------------------------------------------------------------
def find_csynth(project: Path) -> Path:
    candidates = sorted(project.glob("**/syn/report/csynth.xml")) or sorted(
        project.glob("**/syn/report/*_csynth.xml")
    )
    if not candidates:
        raise SynthError(f"the tool finished but wrote no csynth.xml under {project}")
    return candidates[0]


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    text = text.strip()
    if not text or text.lower() in ("undef", "-", "n/a"):
        return None
    try:
        return float(text.split()[0])
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    value = _number(text)
    return None if value is None else int(value)


def _resources(node: ET.Element | None) -> dict[str, int | None]:
    out: dict[str, int | None] = dict.fromkeys(RESOURCES)
    if node is None:
        return out
    for child in node:
        name = "DSP" if child.tag.startswith("DSP") else child.tag
        if name in out:
            out[name] = _int(child.text)
    return out


def parse_csynth(path: Path) -> dict[str, Any]:
    root = ET.parse(path).getroot()

    def text(xpath: str) -> str | None:
        node = root.find(xpath)
        return None if node is None else node.text

    target = _number(text("UserAssignments/TargetClockPeriod"))
    estimated = _number(text("PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod"))
    latency = "PerformanceEstimates/SummaryOfOverallLatency/"
    best = _int(text(latency + "Best-caseLatency"))
    worst = _int(text(latency + "Worst-caseLatency"))
    used = _resources(root.find("AreaEstimates/Resources"))
    available = _resources(root.find("AreaEstimates/AvailableResources"))
    return {
        "part": text("UserAssignments/Part"),
        "clock_ns": {"target": target, "estimated": estimated},
        "latency_cycles": {"best": best, "worst": worst},
        "latency_ns": {
            "best": None if best is None or target is None else best * target,
            "worst": None if worst is None or target is None else worst * target,
        },
        "interval_cycles": {
            "min": _int(text(latency + "Interval-min")),
            "max": _int(text(latency + "Interval-max")),
        },
        "resources": _table(used, available),
    }


def _table(
    used: dict[str, int | None], available: dict[str, int | None]
) -> dict[str, dict[str, Any]]:
    table = {}
    for name in RESOURCES:
        u, a = used.get(name), available.get(name)
        percent = None if u is None or not a else round(100.0 * u / a, 2)
        table[name] = {"used": u, "available": a, "percent": percent}
    return table


VSYNTH_ROWS = {
    "LUT": ("CLB LUTs", "Slice LUTs"),
    "FF": ("CLB Registers", "Slice Registers"),
    "BRAM_18K": ("Block RAM Tile",),
    "DSP": ("DSPs", "DSP48E2", "DSP Slices"),
    "URAM": ("URAM",),
}


def parse_vsynth(path: Path) -> dict[str, dict[str, Any]]:
    """Vivado's report_utilization table: | Site Type | Used | Fixed | (Prohibited |)
    Available | Util% |.  Block RAM tiles are 36 Kb: counted here as two BRAM_18K."""
    used: dict[str, int | None] = dict.fromkeys(RESOURCES)
    available: dict[str, int | None] = dict.fromkeys(RESOURCES)
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4:
            continue
        for name, labels in VSYNTH_ROWS.items():
            if cells[0] in labels and used[name] is None:
                numbers = [_number(c) for c in cells[1:]]
                values = [n for n in numbers if n is not None]
                if len(values) < 3:
                    continue
                factor = 2 if name == "BRAM_18K" else 1
                used[name] = int(values[0] * factor)
                available[name] = int(values[-2] * factor)
    return _table(used, available)


def find_vsynth(project: Path) -> Path | None:
    for name in ("vivado_synth.rpt", "**/utilization_synth.rpt", "**/*utilization*.rpt"):
        found = sorted(project.glob(name))
        if found:
            return found[0]
    return None


def parse_reports(project: Path, tool: str) -> dict[str, Any]:
    csynth = parse_csynth(find_csynth(project))
    report: dict[str, Any] = {"tool": tool, **csynth}
    vsynth = find_vsynth(project)
    if vsynth is not None:
        report["resources_vsynth"] = parse_vsynth(vsynth)
    chosen = report.get("resources_vsynth", report["resources"])
    report["fits"] = all(
        row["used"] is None or row["available"] is None or row["used"] <= row["available"]
        for row in chosen.values()
    )
    return report
