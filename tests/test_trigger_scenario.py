"""Study scenarios (triggerml.trigger.scenario): bad keys named, rates and signal classes
checked, every shipped scenario loads and pairs its model with its training set."""

from __future__ import annotations

from pathlib import Path

import pytest
from trigger_support import (
    scenario_file,
    study_scenarios,
)

from triggerml.config import ConfigError
from triggerml.trigger.scenario import load_study, resolve


def test_bad_scenarios_name_the_key(tmp_path: Path, firmware: Path) -> None:
    with pytest.raises(ConfigError, match="chunk_slices"):
        load_study(scenario_file(tmp_path, firmware, chunk_slices=0))
    with pytest.raises(ConfigError, match="rate_hz_per_apa"):
        load_study(scenario_file(tmp_path, firmware, working_point={"rate_hz_per_apa": -1}))
    with pytest.raises(ConfigError, match="distances_kpc"):
        load_study(scenario_file(tmp_path, firmware, burst={"distances_kpc": [1, 2]}))
    with pytest.raises(ConfigError, match="unknown_key"):
        load_study(scenario_file(tmp_path, firmware, unknown_key=1))


def test_scenario_rates_and_signal_classes_are_checked(tmp_path: Path, firmware: Path) -> None:
    with pytest.raises(ConfigError, match="report_rates_hz_per_apa"):
        load_study(
            scenario_file(tmp_path, firmware, working_point={"report_rates_hz_per_apa": [1, -1]})
        )
    with pytest.raises(ConfigError, match="signals"):
        load_study(scenario_file(tmp_path, firmware, signals=["electron_7_mev"]))


@pytest.mark.parametrize("path", study_scenarios(), ids=lambda p: p.stem)
def test_shipped_scenarios_load_and_pair_model_with_its_training_set(
    path: Path, monkeypatch_module: None
) -> None:
    from triggerml.nn.zoo import load_model_config

    resolved = resolve(load_study(path))
    model = load_model_config(resolved.scenario.model)
    assert resolved.input_kind == model.input
    assert resolved.chain.roi == resolved.dataset.kinds()[model.input]
