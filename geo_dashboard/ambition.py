"""Provincial or programme ambitions, allocated to areas as area tasks.

An ambition config (``area_configs/ambitions/<id>.yaml``) names the areas
it covers and per ambition a KPI, a total and a rule that splits the total
over the areas. Each area's task is then set against the area's own target.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from geo_dashboard._yaml import load_model
from geo_dashboard.config import AREA_ID_PATTERN
from geo_dashboard.errors import ConfigError
from geo_dashboard.kpis import KpiLibrary, LocalisedText
from geo_dashboard.output import BuildOutput

AMBITIONS_DIR = "ambitions"

TASK_COLUMNS = [
    "ambition_id", "area_id", "kpi_id", "kind", "base", "task", "own_commitment",
    "shortfall", "note",
]


class Allocation(BaseModel):
    """How a total is split: by an area KPI's current value, or by fixed weights."""

    model_config = ConfigDict(extra="forbid")

    by_kpi: str | None = None
    weights: dict[str, float] | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> Allocation:
        if (self.by_kpi is None) == (self.weights is None):
            raise ValueError("give exactly one of allocate.by_kpi or allocate.weights")
        if self.weights and any(w < 0 for w in self.weights.values()):
            raise ValueError("allocate.weights must not be negative")
        return self


class Ambition(BaseModel):
    """One ambition: a KPI, what must be reached in total, and how to split it.

    ``kind`` is ``reduction`` (a total amount by which a summed KPI must go
    down, split over the areas) or ``level`` (a value every area must reach,
    e.g. a share, which is not split).
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: LocalisedText
    kpi: str
    kind: Literal["reduction", "level"]
    total: float
    year: int = Field(ge=2000, le=2100)
    basis: Literal["policy", "literature", "provisional"]
    source: str
    allocate: Allocation | None = None
    decimals: int = Field(default=0, ge=0, le=6)

    @model_validator(mode="after")
    def _allocation_for_reduction(self) -> Ambition:
        if self.kind == "reduction" and self.allocate is None:
            raise ValueError(f"ambition {self.id!r} of kind 'reduction' needs 'allocate'")
        return self


class AmbitionConfig(BaseModel):
    """The content of one ambition config file."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=AREA_ID_PATTERN)
    name: LocalisedText
    level: Literal["province", "programme", "national"]
    areas: list[str] = Field(min_length=1)
    ambitions: list[Ambition]


def list_ambition_configs(configs_dir: Path) -> list[str]:
    return sorted(path.stem for path in (Path(configs_dir) / AMBITIONS_DIR).glob("*.yaml"))


def load_ambition_config(
    configs_dir: Path, ambition_id: str, library: KpiLibrary, known_areas: list[str]
) -> AmbitionConfig:
    """Read and cross-check an ambition config against KPIs and area configs."""
    path = Path(configs_dir) / AMBITIONS_DIR / f"{ambition_id}.yaml"
    config = load_model(AmbitionConfig, path, "ambition config")
    for index, area_id in enumerate(config.areas):
        if area_id not in known_areas:
            raise ConfigError(
                f"ambition config {path}: areas.{index}: area {area_id!r} has no config. "
                f"Known areas: {', '.join(known_areas)}."
            )
    for index, ambition in enumerate(config.ambitions):
        for key, kpi_id in (("kpi", ambition.kpi), ("allocate.by_kpi", _by_kpi(ambition))):
            if kpi_id is not None and kpi_id not in library.ids:
                raise ConfigError(
                    f"ambition config {path}: ambitions.{index}.{key}: KPI {kpi_id!r} "
                    f"is not defined. Known KPIs: {', '.join(library.ids)}."
                )
    return config


def _by_kpi(ambition: Ambition) -> str | None:
    return ambition.allocate.by_kpi if ambition.allocate else None


def split_total(total: float, bases: dict[str, float], decimals: int = 0) -> dict[str, float]:
    """Split ``total`` in proportion to ``bases``, rounded so the parts sum to it exactly.

    Uses the largest-remainder method in units of ``10**-decimals``.
    """
    positive = {key: value for key, value in bases.items() if value > 0}
    if not positive:
        raise ValueError("cannot split a total when no area has a positive base")
    unit = 10 ** decimals
    units = round(total * unit)
    weight_sum = sum(positive.values())
    exact = {key: units * value / weight_sum for key, value in positive.items()}
    parts = {key: math.floor(value) for key, value in exact.items()}
    remainder = units - sum(parts.values())
    for key in sorted(exact, key=lambda k: exact[k] - parts[k], reverse=True)[:remainder]:
        parts[key] += 1
    result = {key: parts.get(key, 0) / unit for key in bases}
    return result


def area_tasks(
    config: AmbitionConfig, builds: dict[str, BuildOutput], library: KpiLibrary
) -> pd.DataFrame:
    """Allocate every ambition to the areas and compare with their own targets.

    ``own_commitment`` is what the area config itself aims for: for a
    reduction, baseline minus target; for a level, the area's target value.
    ``shortfall`` is how far the area's own target falls short of its task
    (0 when it meets or exceeds it). Areas whose base or KPI is a data gap
    get no task and a note saying why.
    """
    rows = []
    for ambition in config.ambitions:
        kpi = library.get(ambition.kpi)
        kpi_rows = {area: _kpi_row(builds[area], ambition.kpi) for area in config.areas}
        if ambition.kind == "level":
            for area in config.areas:
                rows.append(_level_row(ambition, kpi.direction, area, kpi_rows[area]))
            continue

        bases, notes = _bases(ambition, config.areas, builds)
        tasks = split_total(ambition.total, bases, ambition.decimals) if bases else {}
        for area in config.areas:
            row = kpi_rows[area]
            own = None
            if row is not None and _known(row["baseline_value"]) and _known(row["target_value"]):
                own = float(row["baseline_value"]) - float(row["target_value"])
                own = own if kpi.direction == "lower" else -own
            task = tasks.get(area)
            rows.append({
                "ambition_id": ambition.id,
                "area_id": area,
                "kpi_id": ambition.kpi,
                "kind": "reduction",
                "base": bases.get(area),
                "task": task,
                "own_commitment": own,
                "shortfall": None if task is None or own is None else max(task - own, 0.0),
                "note": notes.get(area, ""),
            })
    return pd.DataFrame(rows, columns=TASK_COLUMNS)


def _bases(ambition: Ambition, areas: list[str], builds: dict[str, BuildOutput]):
    allocation = ambition.allocate
    assert allocation is not None
    bases: dict[str, float] = {}
    notes: dict[str, str] = {}
    for area in areas:
        if allocation.weights is not None:
            bases[area] = allocation.weights.get(area, 0.0)
            continue
        row = _kpi_row(builds[area], allocation.by_kpi or "")
        if row is None or not _known(row["value"]):
            notes[area] = f"no task: base KPI {allocation.by_kpi} is a data gap in this area"
        else:
            bases[area] = float(row["value"])
    return bases, notes


def _level_row(ambition: Ambition, direction: str, area: str, row) -> dict:
    own = float(row["target_value"]) if row is not None and _known(row["target_value"]) else None
    if own is None:
        shortfall = None
    elif direction == "lower":
        shortfall = max(own - ambition.total, 0.0)
    else:
        shortfall = max(ambition.total - own, 0.0)
    note = "" if row is not None else f"KPI {ambition.kpi} is not used in this area"
    return {
        "ambition_id": ambition.id, "area_id": area, "kpi_id": ambition.kpi,
        "kind": "level", "base": None, "task": ambition.total,
        "own_commitment": own, "shortfall": shortfall, "note": note,
    }


def _kpi_row(output: BuildOutput, kpi_id: str) -> pd.Series | None:
    match = output.kpis[output.kpis["kpi_id"] == kpi_id]
    return None if match.empty else match.iloc[0]


def _known(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))
