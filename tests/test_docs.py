"""docs/ is generated from the config dataclasses: the committed files must equal what the
code generates (regenerate with `python -m triggerml.docs`)."""

from __future__ import annotations

import dataclasses

import pytest

from triggerml import docs
from triggerml.trigger.scenario import StudyScenario


@pytest.mark.parametrize("name", sorted(docs.REFERENCES))
def test_committed_reference_equals_the_code(name: str) -> None:
    committed = (docs.DOCS_DIR / name).read_text()
    assert committed == docs.REFERENCES[name](), (
        f"docs/{name} is out of date: run `python -m triggerml.docs`"
    )


def test_every_scenario_key_is_documented_with_its_default() -> None:
    text = docs.scenario_reference()
    for f in dataclasses.fields(StudyScenario):
        assert f"| `{f.name}` |" in text
    assert (
        "| `working_point.report_rates_hz_per_apa` | list of float | `[0.1, 1.0, 10.0]` |" in text
    )
    assert "| `detector.singles.ranges_mev` |" in text
    assert "current working directory" in text
