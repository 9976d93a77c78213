"""The synthesis flow without Xilinx tools: a fake tool on PATH writes fixture reports in
the real tool's XML schema; failures and a missing tool are clear errors."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from triggerml.compile.synth import SynthError, SynthOptions, parse_vsynth, run

FIXTURES = Path(__file__).parent / "fixtures" / "hls"


def fake_tool(tmp_path: Path, name: str = "vitis_hls") -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / name
    shutil.copy(FIXTURES / "fake_hls_tool.sh", tool)
    tool.chmod(0o755)
    return bin_dir


def env_with(bin_dir: Path | None, **extra: str) -> dict[str, str]:
    path = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    env = {
        "PATH": f"{bin_dir}:{path}" if bin_dir else path,
        "XILINX_HLS": "",
        "XILINX_VIVADO": "",
        "FAKE_HLS_CSYNTH": str(FIXTURES / "csynth_vitis.xml"),
    }
    env.update(extra)
    return env


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A build-folder stand-in: manifest + an HLS project with build_prj.tcl."""
    build = tmp_path / "build"
    (build / "hls_project").mkdir(parents=True)
    (build / "hls_project" / "build_prj.tcl").write_text("# hls4ml build script\n")
    (build / "manifest.json").write_text(json.dumps({"hls_project": "hls_project"}))
    return build


def test_report_equals_the_fixture_field_for_field(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env_with(
        fake_tool(tmp_path), FAKE_HLS_VSYNTH=str(FIXTURES / "vivado_synth.rpt")
    ).items():
        monkeypatch.setenv(key, value)
    report = run(project, options=SynthOptions(vsynth=True))
    assert report == json.loads((project / "report.json").read_text())
    assert report["tool"] == "vitis_hls"
    assert report["top"] == "myproject"
    assert report["tool_version"] == "2023.2"
    assert report["part"] == "xcvu13p-flga2577-2-e"
    assert report["clock_ns"] == {"target": 5.0, "estimated": 3.912}
    assert report["latency_cycles"] == {"best": 14, "worst": 17}
    assert report["latency_ns"] == {"best": 70.0, "worst": 85.0}
    assert report["interval_cycles"] == {"min": 4, "max": 6}
    assert report["resources"]["DSP"] == {"used": 37, "available": 12288, "percent": 0.3}
    assert report["resources"]["LUT"] == {"used": 12987, "available": 1728000, "percent": 0.75}
    assert report["resources_vsynth"]["LUT"]["used"] == 9876
    assert report["resources_vsynth"]["FF"]["used"] == 4410
    assert report["resources_vsynth"]["BRAM_18K"] == {"used": 3, "available": 5376, "percent": 0.06}
    assert report["resources_vsynth"]["DSP"]["available"] == 12288
    assert report["fits"] is True
    args = (project / "hls_project" / "fake_tool_args.txt").read_text()
    assert "-f build_prj.tcl" in args
    assert "synth=1" in args
    assert "vsynth=1" in args
    assert "csim=0" in args


def test_undef_latency_and_a_design_that_does_not_fit(project: Path, tmp_path: Path) -> None:
    env = env_with(
        fake_tool(tmp_path, "vivado_hls"),
        FAKE_HLS_CSYNTH=str(FIXTURES / "csynth_vivado_toobig.xml"),
    )
    result = run_cli("synth", str(project), env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads((project / "report.json").read_text())
    assert report["tool"] == "vivado_hls"
    assert report["latency_cycles"] == {"best": None, "worst": None}
    assert report["latency_ns"] == {"best": None, "worst": None}
    assert report["resources"]["DSP"] == {"used": 260, "available": 90, "percent": 288.89}
    assert report["fits"] is False
    assert "does not fit" in result.stdout
    shown = run_cli("report", str(project), env=env)
    assert shown.returncode == 0
    assert "288.89" in shown.stdout


def test_vitis_run_gets_its_options_in_build_opt_tcl(project: Path, tmp_path: Path) -> None:
    env = env_with(fake_tool(tmp_path, "vitis-run"))
    result = run_cli("synth", str(project), "--tool", "vitis-run", "--cosim", env=env)
    assert result.returncode == 0, result.stderr
    options = (project / "hls_project" / "build_opt.tcl").read_text()
    assert "cosim 1" in options
    assert "synth 1" in options
    args = (project / "hls_project" / "fake_tool_args.txt").read_text()
    assert args.split() == ["--mode", "hls", "--tcl", "build_prj.tcl"]


@pytest.mark.parametrize("mode", ["fail", "error-log"])
def test_failed_synthesis_is_an_error_without_a_report(
    project: Path, tmp_path: Path, mode: str
) -> None:
    env = env_with(fake_tool(tmp_path), FAKE_HLS_MODE=mode)
    result = run_cli("synth", str(project), env=env)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "synth.log" in result.stderr
    assert not (project / "report.json").exists()
    assert "ERROR" in (project / "synth.log").read_text()


def test_tool_that_writes_no_report_is_an_error(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env_with(fake_tool(tmp_path), FAKE_HLS_MODE="none").items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SynthError, match=r"no csynth\.xml"):
        run(project)


def test_missing_tool_exit_3_and_names_what_to_install(project: Path) -> None:
    result = run_cli("synth", str(project), env=env_with(None))
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "XILINX_HLS" in lines[0]
    assert "vivado_hls" in lines[0]
    assert (project / "hls_project" / "build_prj.tcl").exists()  # the project stays complete
    result = run_cli("synth", str(project), "--tool", "vivado_hls", env=env_with(None))
    assert result.returncode == 3
    assert "XILINX_VIVADO" in result.stderr


def test_tool_found_under_its_installation_variable(project: Path, tmp_path: Path) -> None:
    install = tmp_path / "Vitis_HLS" / "2023.2"
    (install / "bin").mkdir(parents=True)
    shutil.copy(FIXTURES / "fake_hls_tool.sh", install / "bin" / "vitis_hls")
    os.chmod(install / "bin" / "vitis_hls", 0o755)
    env = env_with(None, XILINX_HLS=str(install))
    result = run_cli("synth", str(project), env=env)
    assert result.returncode == 0, result.stderr


def test_the_tpg_firmware_goes_through_the_same_flow(tmp_path: Path) -> None:
    tpg = tmp_path / "tpg"
    shutil.copytree(REPO / "firmware" / "tpg", tpg)
    env = env_with(fake_tool(tmp_path))
    result = run_cli("synth", str(tpg), env=env)
    assert result.returncode == 0, result.stderr
    assert (tpg / "tpg_prj" / "solution1" / "syn" / "report" / "csynth.xml").exists()
    assert json.loads((tpg / "report.json").read_text())["fits"] is True


def test_vsynth_parser_counts_bram_tiles_as_two_18k() -> None:
    table, warnings = parse_vsynth(FIXTURES / "vivado_synth.rpt")
    assert table["BRAM_18K"]["used"] == 3
    assert table["URAM"] == {"used": 0, "available": 1280, "percent": 0.0}
    assert warnings == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # Vivado 2019.2: no Prohibited column, footnote marks on CLB LUTs and RAMB36/FIFO
        (
            "vivado2019/utilization_2019.rpt",
            {"LUT": (31208, 117120), "FF": (20514, 234240), "BRAM_18K": (41, 288)}
            | {"DSP": (9, 1248), "URAM": (0, 64)},
        ),
        # Vivado 2024.1: a Prohibited column between Fixed and Available
        (
            "utilization_2024.rpt",
            {"LUT": (7342, 1728000), "FF": (3013, 3456000), "BRAM_18K": (4, 5376)}
            | {"DSP": (21, 12288), "URAM": (0, 1280)},
        ),
    ],
)
def test_utilization_reports_as_vivado_writes_them(name: str, expected: dict) -> None:
    table, warnings = parse_vsynth(FIXTURES / name)
    assert {k: (row["used"], row["available"]) for k, row in table.items()} == expected
    assert warnings == []


def test_utilization_report_without_a_lut_row_gives_null_and_a_warning() -> None:
    table, warnings = parse_vsynth(FIXTURES / "utilization_no_lut.rpt")
    assert table["LUT"] == {"used": None, "available": None, "percent": None}
    assert table["FF"]["used"] == 3013
    assert len(warnings) == 1
    assert "no LUT row" in warnings[0]


def _bare_project(tmp_path: Path, hls4ml_config: bool = True) -> Path:
    """An hls4ml project synthesized elsewhere by Vivado HLS 2019.2 with an AXI wrapper top
    and copied back: per-function reports, the wrapper's csynth.xml, a utilization report."""
    source = FIXTURES / "vivado2019"
    project = tmp_path / "copied_back"
    reports = project / "myproject_prj" / "solution1" / "syn" / "report"
    reports.mkdir(parents=True)
    for name in ("csynth.xml", "myproject_axi_csynth.xml", "myproject_csynth.xml"):
        shutil.copy(source / name, reports / name)
    shutil.copy(source / "dense_csynth.xml", reports / "dense_csynth.xml")
    shutil.copy(source / "utilization_2019.rpt", project / "vivado_synth.rpt")
    if hls4ml_config:
        shutil.copy(source / "hls4ml_config.yml", project / "hls4ml_config.yml")
    return project


def test_report_of_a_project_synthesized_elsewhere_reads_its_top_function(
    tmp_path: Path,
) -> None:
    """Not the wrapper's csynth.xml, not the first per-function file (dense_csynth.xml)."""
    project = _bare_project(tmp_path)
    shown = run_cli("report", str(project))
    assert shown.returncode == 0, shown.stderr
    assert "top myproject" in shown.stdout
    report = json.loads((project / "report.json").read_text())
    assert report["top"] == "myproject"
    assert report["tool"] == "vivado_hls"
    assert report["tool_version"] == "2019.2"
    assert report["csynth_report"].endswith("myproject_csynth.xml")
    assert report["latency_cycles"] == {"best": 2201, "worst": 2203}
    assert report["interval_cycles"] == {"min": 1025, "max": 1026}
    assert report["resources"]["DSP"] == {"used": 11, "available": 1248, "percent": 0.88}
    assert report["resources"]["LUT"]["used"] == 37266
    assert report["resources_vsynth"]["LUT"] == {
        "used": 31208,
        "available": 117120,
        "percent": 26.65,
    }
    assert report["fits"] is True
    as_json = run_cli("report", str(project), "--json")
    assert json.loads(as_json.stdout) == report
    documented = (REPO / "docs" / "report.md").read_text()
    for key in report:
        assert f"`{key}`" in documented, key


def test_report_without_the_project_name_reads_the_top_level_report(tmp_path: Path) -> None:
    project = _bare_project(tmp_path, hls4ml_config=False)
    assert run_cli("report", str(project)).returncode == 0
    report = json.loads((project / "report.json").read_text())
    assert report["top"] == "myproject_axi"
    assert report["interval_cycles"] == {"min": 2049, "max": 2049}


def test_report_of_another_top_or_a_truncated_report_is_one_line(tmp_path: Path) -> None:
    project = _bare_project(tmp_path)
    (project / "hls4ml_config.yml").write_text("ProjectName: jetnet\n")
    for name in ("myproject_csynth.xml", "myproject_axi_csynth.xml", "dense_csynth.xml"):
        (project / "myproject_prj" / "solution1" / "syn" / "report" / name).unlink()
    result = run_cli("report", str(project))
    assert result.returncode == 1
    assert "top function jetnet" in result.stderr
    assert "myproject_axi" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (project / "report.json").exists()
    truncated = _bare_project(tmp_path / "t")
    path = truncated / "myproject_prj" / "solution1" / "syn" / "report" / "myproject_csynth.xml"
    path.write_text(path.read_text()[:300])
    result = run_cli("report", str(truncated))
    assert result.returncode == 1
    assert "myproject_csynth.xml is not a readable csynth report" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_firmware_budget_uses_the_synthesized_interval(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """II from report.json (max 6 cycles at 5 ns: 33.3 M/s per instance), else an estimate."""
    from triggerml.trigger.budget import firmware_budget

    manifest = {"hls_project": "hls_project", "clock_ns": 5.0, "reuse_factor": 2}
    manifest |= {"io_type": "io_parallel", "inputs": [{"shape": [8]}]}
    (project / "manifest.json").write_text(json.dumps(manifest))
    estimate = firmware_budget(project, 1.2e8)
    assert estimate["interval_cycles"] == 2
    assert estimate["instances_per_apa"] == 2  # 1e8/s per instance
    assert estimate["source"].startswith("estimate")
    for key, value in env_with(
        fake_tool(tmp_path), FAKE_HLS_VSYNTH=str(FIXTURES / "vivado_synth.rpt")
    ).items():
        monkeypatch.setenv(key, value)
    run(project, options=SynthOptions(vsynth=True))
    budget = firmware_budget(project, 1.0e8)
    assert budget["interval_cycles"] == 6
    assert budget["instances_per_apa"] == 3
    assert budget["keeps_up"] is True
    assert budget["resources_per_apa"]["LUT"]["used"] == 3 * 9876
    out = run_cli("report", str(project), "--rate", "1e8")
    assert out.returncode == 0, out.stderr
    assert "3 instance(s) per APA keeps up" in out.stdout
