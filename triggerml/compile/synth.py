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
CSYNTH_GLOBS = ("**/syn/report/csynth.xml", "**/syn/report/*_csynth.xml")
_TCL_NAME = re.compile(r'^\s*set\s+project_name\s+"?([A-Za-z_]\w*)"?', re.MULTILINE)
_TCL_TOP = re.compile(r"^\s*set_top\s+([A-Za-z_]\w*)\s*$", re.MULTILINE)
_YAML_NAME = re.compile(r"^ProjectName:\s*([A-Za-z_]\w*)\s*$", re.MULTILINE)


def project_top(project: Path) -> str | None:
    """The project's top function: hls4ml's ProjectName (hls4ml_config.yml, project.tcl),
    else a literal ``set_top`` in build_prj.tcl; None when the project does not say."""
    for name, pattern in (
        ("hls4ml_config.yml", _YAML_NAME),
        ("project.tcl", _TCL_NAME),
        ("build_prj.tcl", _TCL_TOP),
    ):
        path = project / name
        if path.is_file():
            found = pattern.search(path.read_text(errors="replace"))
            if found:
                return found.group(1)
    return None


def _xml_root(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as error:
        raise SynthError(
            f"{path} is not a readable csynth report ({error}): re-run synthesis or copy it again"
        ) from None


def _report_top(path: Path) -> str | None:
    node = _xml_root(path).find("UserAssignments/TopModelName")
    return None if node is None or not node.text else node.text.strip()


def find_csynth(project: Path, top: str | None = None) -> tuple[Path, str]:
    """The C-synthesis report of the project's top function, and that top's name.

    Vivado HLS writes ``csynth.xml`` for the synthesized top (perhaps a wrapper such as an AXI
    stream around the model) and one ``<function>_csynth.xml`` per function; the model's
    function is read, never the first file in sort order."""
    reports = [path for pattern in CSYNTH_GLOBS for path in sorted(project.glob(pattern))]
    if not reports:
        raise SynthError(
            f"no csynth.xml under {project}: synthesize the project (triggerml synth), or "
            "see the estimate before synthesis (triggerml report DIR --estimate)"
        )
    top = top or project_top(project)
    if top is None:
        overall = [path for path in reports if path.name == "csynth.xml"]
        chosen = overall[0] if overall else reports[0]
        found = _report_top(chosen)
        if found is None:
            raise SynthError(f"{chosen} names no TopModelName: cannot tell which function it is")
        return chosen, found
    own = [path for path in reports if path.name == f"{top}_csynth.xml"]
    if own:
        return own[0], top
    for path in reports:
        if path.name == "csynth.xml" and _report_top(path) == top:
            return path, top
    tops = sorted({t for t in (_report_top(p) for p in reports if p.name == "csynth.xml") if t})
    raise SynthError(
        f"no csynth report of the project's top function {top} under {project} (found the "
        f"top-level report of {', '.join(tops) or 'none'}): synthesize {top} or pass its project"
    )


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
    root = _xml_root(path)

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
    version = text("ReportVersion/Version")
    return {
        "top": (text("UserAssignments/TopModelName") or "").strip() or None,
        "tool_version": None if version is None else version.strip(),
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


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_vsynth(path: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Vivado's report_utilization tables: | Site Type | Used | Fixed | (Prohibited |)
    Available | Util% | — columns found from each table's header, row labels read without
    their footnote marks (``CLB LUTs*``).  Block RAM tiles are 36 Kb: counted as two
    BRAM_18K.  Returns the table and warnings (a resource the report does not list is null,
    never 0)."""
    used: dict[str, int | None] = dict.fromkeys(RESOURCES)
    available: dict[str, int | None] = dict.fromkeys(RESOURCES)
    columns: dict[str, int] = {}
    for line in path.read_text(errors="replace").splitlines():
        if not line.lstrip().startswith("|"):
            continue
        cells = _cells(line)
        if cells[0] == "Site Type":
            columns = {name: index for index, name in enumerate(cells)}
            continue
        if "Used" not in columns or "Available" not in columns or len(cells) < len(columns):
            continue
        label = cells[0].rstrip("*").strip()
        for name, labels in VSYNTH_ROWS.items():
            if label in labels and used[name] is None:
                count, limit = _number(cells[columns["Used"]]), _number(cells[columns["Available"]])
                if count is None:
                    continue
                factor = 2 if name == "BRAM_18K" else 1
                used[name] = int(count * factor)
                available[name] = None if limit is None else int(limit * factor)
    warnings = [
        f"{path.name} has no {name} row ({' / '.join(VSYNTH_ROWS[name])}): {name} unknown"
        for name in ("LUT", "FF", "DSP")
        if used[name] is None
    ]
    return _table(used, available), warnings


def find_vsynth(project: Path) -> Path | None:
    for name in ("vivado_synth.rpt", "**/utilization_synth.rpt", "**/*utilization*.rpt"):
        found = sorted(project.glob(name))
        if found:
            return found[0]
    return None


def parse_reports(project: Path, tool: str) -> dict[str, Any]:
    """report.json from the reports under an HLS project: its top function's csynth report
    and, when present, Vivado's utilization report."""
    path, top = find_csynth(project)
    csynth = parse_csynth(path)
    report: dict[str, Any] = {"tool": tool, **csynth, "top": top, "warnings": []}
    report["csynth_report"] = str(path.relative_to(project))
    vsynth = find_vsynth(project)
    if vsynth is not None:
        report["resources_vsynth"], warnings = parse_vsynth(vsynth)
        report["warnings"] += warnings
    chosen = report.get("resources_vsynth", report["resources"])
    report["fits"] = all(
        row["used"] is None or row["available"] is None or row["used"] <= row["available"]
        for row in chosen.values()
    )
    if any(row["used"] is None for name, row in chosen.items() if name in ("LUT", "FF", "DSP")):
        report["warnings"].append("fits is judged without the resources the report lacks")
    return report


def _tool_of(csynth_path: Path, version: str | None) -> str:
    """Which tool wrote a report found on disk: vitis-run keeps no solution folder
    (``<work>/hls/syn/report``); Vivado HLS stopped at 2020.1."""
    if "hls" in csynth_path.parts and not any(p.startswith("solution") for p in csynth_path.parts):
        return "vitis-run"
    try:
        year = tuple(int(part) for part in (version or "").split(".")[:2])
    except ValueError:
        year = ()
    return "vivado_hls" if year and year < (2020, 2) else "vitis_hls"


def load_report(folder: Path) -> dict[str, Any]:
    """report.json of a build, or — for a build or bare HLS project synthesized elsewhere
    and copied back — made from the tool's own reports and written beside them."""
    saved = folder / "report.json"
    if saved.is_file():
        import json

        data: dict[str, Any] = json.loads(saved.read_text())
        return data
    try:
        project = project_dir(folder)
    except FileNotFoundError:
        project = folder  # a bare project without build_prj.tcl: look for its reports
    report = parse_reports(project, tool="")  # which tool: known once the report is read
    report["tool"] = _tool_of(Path(report["csynth_report"]), report["tool_version"])
    write_json(saved, report)
    return report
