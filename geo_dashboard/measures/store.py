"""Saved scenarios: one YAML file per scenario under ``<builds>/<area>/scenarios/``.

Files are written to a temporary file in the same folder and moved into place
with :func:`os.replace`, so a reader never sees a half-written scenario.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from geo_dashboard._yaml import load_model
from geo_dashboard.config import AREA_ID_PATTERN
from geo_dashboard.errors import ConfigError, UnknownIdError
from geo_dashboard.measures.engine import ScenarioEngine
from geo_dashboard.measures.scenario import Scenario

logger = logging.getLogger(__name__)

SCENARIO_FOLDER = "scenarios"
_SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def scenario_slug(name: str) -> str:
    """Return the file name stem of a scenario name.

    For example ``"Meer grasland"`` becomes ``"meer-grasland"``.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-")
    return slug or "scenario"


def scenario_folder(builds_dir: Path, area_id: str) -> Path:
    """Return the folder of an area's saved scenarios (it may not exist yet)."""
    if not re.fullmatch(AREA_ID_PATTERN, area_id):
        raise ConfigError(
            f"area id {area_id!r} is invalid; use lower-case letters, digits and _."
        )
    return Path(builds_dir) / area_id / SCENARIO_FOLDER


def save_scenario(builds_dir: Path, scenario: Scenario) -> Path:
    """Write ``scenario`` atomically and return its path.

    A scenario with the same name (slug) is replaced.
    """
    folder = scenario_folder(builds_dir, scenario.area_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{scenario_slug(scenario.name)}.yaml"
    text = yaml.safe_dump(
        scenario.model_dump(mode="json"), allow_unicode=True, sort_keys=False
    )
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    logger.info(
        "saved scenario %r of area %s to %s", scenario.name, scenario.area_id, path
    )
    return path


def _path(builds_dir: Path, area_id: str, slug: str) -> Path:
    if not _SLUG_PATTERN.fullmatch(slug):
        raise ConfigError(
            f"scenario id {slug!r} is invalid: use lower-case letters, digits and '-'."
        )
    path = scenario_folder(builds_dir, area_id) / f"{slug}.yaml"
    if not path.is_file():
        known = ", ".join(list_scenarios(builds_dir, area_id)) or "none"
        raise UnknownIdError(
            f"scenario {slug!r} of area {area_id!r} not found. Saved: {known}."
        )
    return path


def load_scenario(builds_dir: Path, area_id: str, slug: str) -> Scenario:
    """Read a saved scenario.

    Raises
    ------
    ConfigError
        If the file is invalid or belongs to another area; the message names it.
    """
    scenario = load_model(Scenario, _path(builds_dir, area_id, slug), "scenario file")
    if scenario.area_id != area_id:
        raise ConfigError(
            f"scenario file {slug}.yaml belongs to area {scenario.area_id!r}, "
            f"not {area_id!r}."
        )
    return scenario


def list_scenarios(builds_dir: Path, area_id: str) -> list[str]:
    """Return the ids (file stems) of the area's saved scenarios, sorted."""
    folder = scenario_folder(builds_dir, area_id)
    if not folder.is_dir():
        return []
    return sorted(path.stem for path in folder.glob("*.yaml"))


def delete_scenario(builds_dir: Path, area_id: str, slug: str) -> None:
    """Remove a saved scenario."""
    _path(builds_dir, area_id, slug).unlink()
    logger.info("deleted scenario %s of area %s", slug, area_id)


def compare_scenarios(
    engine: ScenarioEngine, scenarios: list[Scenario]
) -> pd.DataFrame:
    """Put the current state and each scenario's KPI values side by side.

    Returns one row per KPI with ``current`` and, per scenario, its mid
    value and its low-high range as ``<name>`` and ``<name> (range)``, plus
    each scenario's annualised mid cost in a last row ``cost_eur_yr``.
    """
    frame = pd.DataFrame(
        {
            "kpi_id": [item.definition.id for item in engine.kpis],
            "unit": [item.definition.unit for item in engine.kpis],
            "current": [
                engine.current_values.get(item.definition.id) for item in engine.kpis
            ],
        }
    )
    costs: dict[str, float] = {}
    for scenario in scenarios:
        result = engine.evaluate(scenario.assignment(engine), scenario.planning_years)
        frame[scenario.name] = result.kpis["mid"].to_numpy()
        frame[f"{scenario.name} (range)"] = [
            (low, high) if not (np.isnan(low) or np.isnan(high)) else None
            for low, high in zip(
                result.kpis["range_min"], result.kpis["range_max"], strict=True
            )
        ]
        costs[scenario.name] = result.total_cost()["annualised_mid"]
    cost_row = {"kpi_id": "cost_eur_yr", "unit": "EUR/jr", "current": 0.0} | costs
    return pd.concat([frame, pd.DataFrame([cost_row])], ignore_index=True)
