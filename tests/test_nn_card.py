"""Model cards (triggerml.nn.card) from a study of the model and a build of its weights."""

from __future__ import annotations

import json
from pathlib import Path

from trigger_support import (
    REPO,
)


def test_card_takes_the_operating_point_from_a_study_of_its_model(
    tiny_study: tuple[Path, dict], tmp_path: Path
) -> None:
    """`triggerml card` adds the validation stream's efficiencies at 0.1 and 1 Hz per APA
    (with intervals and exposure) to the model's card; a study of another model is refused
    in one line and the card is left as it was."""
    from conftest import run_cli

    study_dir = tiny_study[0] / "out"
    card_path = tmp_path / "tpmlp.json"
    card_path.write_text((REPO / "models" / "tpmlp.json").read_text())
    result = run_cli("card", str(card_path), "--study", str(study_dir))
    assert result.returncode == 0, result.stderr
    card = json.loads(card_path.read_text())
    summary = json.loads((study_dir / "summary.json").read_text())
    rows = card["validation"]["efficiency_at_rate"]
    assert {(r["trigger"], r["rate_hz_per_apa"]) for r in rows} == {
        (t, r) for t in ("ml", "combined", "adc_sum") for r in (0.1, 1.0)
    }
    source = {
        (r["rate_hz_per_apa"], r["signal"]): r["efficiency"]
        for r in summary["efficiency_at_rate"]["ml"]
    }
    for row in rows:
        if row["trigger"] == "ml":
            assert row["efficiency"] == source[(row["rate_hz_per_apa"], row["signal"])]
    assert card["validation"]["apa_seconds"] == summary["apa_seconds"]
    markdown = card_path.with_suffix(".md").read_text()
    assert "## Operating point on the validation stream" in markdown
    assert "Test split" in markdown  # the training figures stay
    # the firmware's cost: the build's estimate (no synthesis here), labelled as one
    fpga = card["validation"]["fpga"]
    assert fpga["source"].startswith("estimate (not synthesized")
    assert fpga["resources_per_instance"]["LUT"] > 0
    assert "FPGA cost per instance: LUT" in markdown
    other = tmp_path / "roi32.json"
    other.write_text((REPO / "models" / "roi32.json").read_text())
    before = other.read_text()
    refused = run_cli("card", str(other), "--study", str(study_dir))
    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "not 'roi32'" in refused.stderr
    assert other.read_text() == before


def test_card_fpga_cost_of_an_older_study_comes_from_its_firmware_if_built_from_the_card(
    firmware: Path,
) -> None:
    """A study whose budget has no resources (run before builds carried an estimate): the
    card takes the estimate of the study's firmware folder — only when that firmware was
    built from the card's weights."""
    from triggerml.compile.estimate import estimate_build
    from triggerml.nn.card import _fpga

    budget = {"source": "estimate (not synthesized)", "interval_cycles": 1, "clock_ns": 5.0}
    manifest = json.loads((firmware / "manifest.json").read_text())
    same = _fpga(budget, {"firmware": str(firmware)}, manifest["source"]["sha256"])
    assert same is not None
    expected = {k: row["used"] for k, row in estimate_build(firmware)["resources"].items()}
    assert same["resources_per_instance"] == expected
    assert same["source"].startswith("estimate (not synthesized; against 5 real HLS reports")
    assert _fpga(budget, {"firmware": str(firmware)}, "0" * 64) is None


def test_card_takes_the_fpga_cost_of_a_build_of_its_weights(firmware: Path, tmp_path: Path) -> None:
    """`triggerml card --firmware DIR`: the build's estimate (no synthesis here), labelled,
    in the card and its Markdown; a build of other weights is refused in one line and the
    card left as it was; neither option is a usage error."""
    from conftest import run_cli

    from triggerml.compile.estimate import estimate_build

    card_path = tmp_path / "tpmlp.json"
    card_path.write_text((REPO / "models" / "tpmlp.json").read_text())
    done = run_cli("card", str(card_path), "--firmware", str(firmware))
    assert done.returncode == 0, done.stderr
    fpga = json.loads(card_path.read_text())["fpga"]
    estimate = estimate_build(firmware)
    assert fpga["resources_per_instance"] == {
        k: row["used"] for k, row in estimate["resources"].items()
    }
    assert fpga["multiplications"] == estimate["multiplications"] > 0
    assert fpga["latency_cycles"] == estimate["latency_cycles"]
    assert fpga["source"].startswith("estimate (not synthesized; against 5 real HLS reports")
    markdown = card_path.with_suffix(".md").read_text()
    assert "## FPGA cost" in markdown
    assert f"LUT {estimate['resources']['LUT']['used']}" in markdown
    assert "Test split" in markdown
    other = tmp_path / "roi32.json"
    other.write_text((REPO / "models" / "roi32.json").read_text())
    before = other.read_text()
    refused = run_cli("card", str(other), "--firmware", str(firmware))
    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "built from other weights than roi32's card" in refused.stderr
    assert other.read_text() == before
    neither = run_cli("card", str(card_path))
    assert neither.returncode == 2
    assert "give --study DIR, --firmware DIR or both" in neither.stderr
