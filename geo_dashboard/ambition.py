"""Provincial or programme ambitions, allocated to areas as area tasks.

An ambition config (``area_configs/ambitions/<id>.yaml``) names the areas
it covers and per ambition a KPI, a total and a rule that splits the total
over the areas. Each area's task is then set against the area's own target
and its current value, and the tasks together against the ambition.

Numbers that cannot be computed (an area without a build, a KPI that is a
data gap, an area without a target) stay empty and carry a reason code;
the page shows the code through the message keys ``allocation.reason.*``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from geo_dashboard._yaml import load_model
from geo_dashboard.config import AREA_ID_PATTERN
from geo_dashboard.errors import ConfigError
from geo_dashboard.kpis import KpiLibrary, LocalisedText
from geo_dashboard.output import BuildOutput

logger = logging.getLogger(__name__)

AMBITIONS_DIR = "ambitions"

TASK_COLUMNS = [
    "ambition_id", "area_id", "kpi_id", "kind", "unit",
    "base", "base_missing", "task", "task_reason", "task_value",
    "current_value", "value_reason", "missing_layers",
    "baseline_value", "target_value", "target_year",
    "own_commitment", "own_reason", "shortfall",
]  # fmt: skip

SUMMARY_COLUMNS = [
    "ambition_id", "kind", "unit", "total", "allocated", "committed",
    "shortfall", "areas", "areas_unknown", "areas_short", "unknown_areas",
]  # fmt: skip

# Reason codes of an empty number in the task table.
NO_BUILD = "no_build"  # the area has no build yet
KPI_UNUSED = "kpi_unused"  # the area's KPI set lacks the ambition's KPI
BASE_UNUSED = "base_unused"  # the area's KPI set lacks the allocation KPI
BASE_GAP = "base_gap"  # the allocation KPI is a data gap (see base_missing)
NO_BASE = "no_base"  # no area has a positive base, so nothing can be split
DATA_GAP = "data_gap"  # the KPI is a data gap in the area (see missing_layers)
NO_TARGET = "no_target"  # the area sets no baseline or target for the KPI


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
            raise ValueError(
                f"ambition {self.id!r} of kind 'reduction' needs 'allocate'"
            )
        return self


class AmbitionConfig(BaseModel):
    """The content of one ambition config file."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=AREA_ID_PATTERN)
    name: LocalisedText
    level: Literal["province", "programme", "national"]
    areas: list[str] = Field(min_length=1)
    ambitions: list[Ambition]

    @model_validator(mode="after")
    def _areas_once(self) -> AmbitionConfig:
        repeated = sorted({area for area in self.areas if self.areas.count(area) > 1})
        if repeated:
            raise ValueError(f"areas lists {', '.join(repeated)} more than once")
        return self


def list_ambition_configs(configs_dir: Path) -> list[str]:
    """Return the ids of the ambition configs in ``configs_dir/ambitions``, sorted."""
    return sorted(
        path.stem for path in (Path(configs_dir) / AMBITIONS_DIR).glob("*.yaml")
    )


def load_ambition_config(
    configs_dir: Path, ambition_id: str, library: KpiLibrary, known_areas: list[str]
) -> AmbitionConfig:
    """Read and cross-check an ambition config against KPIs and area configs."""
    path = Path(configs_dir) / AMBITIONS_DIR / f"{ambition_id}.yaml"
    config = load_model(AmbitionConfig, path, "ambition config")
    for index, area_id in enumerate(config.areas):
        if area_id not in known_areas:
            raise ConfigError(
                f"ambition config {path}: areas.{index}: area {area_id!r} has no "
                f"config. Known areas: {', '.join(known_areas)}."
            )
    for index, ambition in enumerate(config.ambitions):
        for key, kpi_id in (
            ("kpi", ambition.kpi),
            ("allocate.by_kpi", _by_kpi(ambition)),
        ):
            if kpi_id is not None and kpi_id not in library.ids:
                raise ConfigError(
                    f"ambition config {path}: ambitions.{index}.{key}: KPI {kpi_id!r} "
                    f"is not defined. Known KPIs: {', '.join(library.ids)}."
                )
        weights = ambition.allocate.weights if ambition.allocate else None
        unknown = sorted(set(weights or {}) - set(config.areas))
        if unknown:
            raise ConfigError(
                f"ambition config {path}: ambitions.{index}.allocate.weights: area "
                f"{unknown[0]!r} is not in the config's areas "
                f"({', '.join(config.areas)}). Add it to areas or remove the weight."
            )
    return config


def _by_kpi(ambition: Ambition) -> str | None:
    return ambition.allocate.by_kpi if ambition.allocate else None


def split_total(
    total: float, bases: dict[str, float], decimals: int = 0
) -> dict[str, float]:
    """Split ``total`` in proportion to ``bases``, rounded to sum to it exactly.

    Uses the largest-remainder method in units of ``10**-decimals``.
    """
    positive = {key: value for key, value in bases.items() if value > 0}
    if not positive:
        raise ValueError("cannot split a total when no area has a positive base")
    unit = 10**decimals
    units = round(total * unit)
    weight_sum = sum(positive.values())
    exact = {key: units * value / weight_sum for key, value in positive.items()}
    parts = {key: math.floor(value) for key, value in exact.items()}
    remainder = units - sum(parts.values())
    for key in sorted(exact, key=lambda k: exact[k] - parts[k], reverse=True)[
        :remainder
    ]:
        parts[key] += 1
    return {key: parts.get(key, 0) / unit for key in bases}


def area_tasks(
    config: AmbitionConfig, builds: Mapping[str, BuildOutput], library: KpiLibrary
) -> pd.DataFrame:
    """Allocate every ambition to the areas and set it against their own targets.

    Parameters
    ----------
    config
        The ambition config.
    builds
        Area id to its current build; an area of the config without a
        build gets reason ``no_build`` wherever a build is needed.
    library
        KPI definitions, for the KPI's unit and direction.

    Returns
    -------
    pandas.DataFrame
        One row per ambition and area, columns :data:`TASK_COLUMNS`.
        ``task`` is the area's share of a reduction, or the level every
        area must reach. ``task_value`` is the KPI value that meets the
        task: baseline minus the task for a KPI where lower is better.
        ``own_commitment`` is what the area config aims for: baseline minus
        target for a reduction, the target for a level. ``shortfall`` is by
        how much the own target misses the task (0 when it meets it).
    """
    rows = []
    for ambition in config.ambitions:
        kpi = library.get(ambition.kpi)
        tasks, task_reasons, bases, base_missing = _tasks(
            ambition, config.areas, builds
        )
        for area in config.areas:
            output = builds.get(area)
            row = None if output is None else _kpi_row(output, ambition.kpi)
            record = _kpi_facts(output, row)
            task = tasks.get(area)
            own, own_reason = _own_commitment(ambition, kpi.direction, output, row)
            rows.append(
                {
                    "ambition_id": ambition.id,
                    "area_id": area,
                    "kpi_id": ambition.kpi,
                    "kind": ambition.kind,
                    "unit": kpi.unit,
                    "base": bases.get(area),
                    "base_missing": base_missing.get(area, ""),
                    "task": task,
                    "task_reason": task_reasons.get(area, ""),
                    "task_value": _task_value(ambition, kpi.direction, task, record),
                    **record,
                    "own_commitment": own,
                    "own_reason": own_reason,
                    "shortfall": _shortfall(ambition, kpi.direction, task, own),
                }
            )
    return pd.DataFrame(rows, columns=TASK_COLUMNS)


def ambition_summary(config: AmbitionConfig, tasks: pd.DataFrame) -> pd.DataFrame:
    """Set the area targets together against each ambition.

    For a reduction, ``committed`` sums the own commitments that are known
    and ``shortfall`` is ``max(total - committed, 0)``. While an area's own
    commitment is unknown (``areas_unknown`` > 0, ids in ``unknown_areas``)
    and the known ones do not reach the total, the shortfall cannot be
    computed and stays empty. For a level, which is not summed,
    ``shortfall`` stays empty and ``areas_short`` counts the areas whose own
    target misses the level.
    """
    rows = []
    for ambition in config.ambitions:
        part = tasks[tasks["ambition_id"] == ambition.id]
        known = part["own_commitment"].dropna()
        committed = float(known.sum()) if ambition.kind == "reduction" else None
        unknown = tuple(part.loc[part["own_commitment"].isna(), "area_id"])
        shortfall = None
        if committed is not None:
            shortfall = max(ambition.total - committed, 0.0)
            if shortfall > 0 and unknown:
                shortfall = None
        rows.append(
            {
                "ambition_id": ambition.id,
                "kind": ambition.kind,
                "unit": part["unit"].iloc[0] if len(part) else "",
                "total": ambition.total,
                "allocated": float(part["task"].sum())
                if ambition.kind == "reduction"
                else None,
                "committed": committed,
                "shortfall": shortfall,
                "areas": len(part),
                "areas_unknown": int(part["own_commitment"].isna().sum()),
                "areas_short": int((part["shortfall"].fillna(0) > 0).sum()),
                "unknown_areas": unknown,
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def read_area_names(
    configs_dir: Path, area_ids: list[str], language: str
) -> dict[str, str]:
    """Return the name in ``language`` of each area from its config, by id.

    Only the ``name`` key of ``<configs_dir>/<area_id>.yaml`` is read, so an
    area without a build is named too. An area whose name cannot be read is
    logged and named by its id.
    """
    names = {}
    for area_id in area_ids:
        path = Path(configs_dir) / f"{area_id}.yaml"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            name = LocalisedText.model_validate(data["name"])
        except (OSError, yaml.YAMLError, TypeError, KeyError, ValidationError) as err:
            logger.warning("name of area %s not read from %s: %s", area_id, path, err)
            names[area_id] = area_id
            continue
        names[area_id] = name.get(language)
    return names


def _tasks(
    ambition: Ambition, areas: list[str], builds: Mapping[str, BuildOutput]
) -> tuple[dict[str, float], dict[str, str], dict[str, float], dict[str, str]]:
    """Return the task, the reason for a missing task, the base and its gap roles."""
    if ambition.kind == "level":
        return {area: ambition.total for area in areas}, {}, {}, {}
    allocation = ambition.allocate
    assert allocation is not None  # the model requires it for a reduction
    bases: dict[str, float] = {}
    reasons: dict[str, str] = {}
    missing: dict[str, str] = {}
    for area in areas:
        if allocation.weights is not None:
            bases[area] = allocation.weights.get(area, 0.0)
            continue
        output = builds.get(area)
        row = None if output is None else _kpi_row(output, allocation.by_kpi or "")
        if output is None:
            reasons[area] = NO_BUILD
        elif row is None:
            reasons[area] = BASE_UNUSED
        elif row["status"] == "gap" or not _known(row["value"]):
            reasons[area] = BASE_GAP
            missing[area] = _text(row["missing_layers"])
        else:
            bases[area] = float(row["value"])
    if not any(value > 0 for value in bases.values()):
        logger.warning(
            "ambition %s: no area has a positive base, so no area gets a task",
            ambition.id,
        )
        return {}, {area: reasons.get(area, NO_BASE) for area in areas}, bases, missing
    return (
        split_total(ambition.total, bases, ambition.decimals),
        reasons,
        bases,
        missing,
    )


def _kpi_facts(output: BuildOutput | None, row: pd.Series | None) -> dict[str, object]:
    """Return the area's current value, baseline and target of the KPI, with reasons."""
    facts: dict[str, object] = {
        "current_value": None,
        "value_reason": NO_BUILD if output is None else KPI_UNUSED,
        "missing_layers": "",
        "baseline_value": None,
        "target_value": None,
        "target_year": None,
    }
    if row is None:
        return facts
    gap = row["status"] == "gap" or not _known(row["value"])
    facts["current_value"] = None if gap else float(row["value"])
    facts["value_reason"] = DATA_GAP if gap else ""
    facts["missing_layers"] = _text(row["missing_layers"])
    facts["baseline_value"] = _float(row["baseline_value"])
    facts["target_value"] = _float(row["target_value"])
    facts["target_year"] = (
        int(row["target_year"]) if _known(row["target_year"]) else None
    )
    return facts


def _own_commitment(
    ambition: Ambition,
    direction: str,
    output: BuildOutput | None,
    row: pd.Series | None,
) -> tuple[float | None, str]:
    if output is None:
        return None, NO_BUILD
    if row is None:
        return None, KPI_UNUSED
    baseline, target = _float(row["baseline_value"]), _float(row["target_value"])
    if target is None or (ambition.kind == "reduction" and baseline is None):
        return None, DATA_GAP if row["status"] == "gap" else NO_TARGET
    if ambition.kind == "level":
        return target, ""
    assert baseline is not None
    reduction = baseline - target
    return (reduction if direction == "lower" else -reduction), ""


def _task_value(
    ambition: Ambition, direction: str, task: float | None, facts: dict[str, object]
) -> float | None:
    if task is None:
        return None
    if ambition.kind == "level":
        return task
    baseline = facts["baseline_value"]
    if baseline is None:
        return None
    assert isinstance(baseline, float)
    return baseline - task if direction == "lower" else baseline + task


def _shortfall(
    ambition: Ambition, direction: str, task: float | None, own: float | None
) -> float | None:
    if task is None or own is None:
        return None
    if ambition.kind == "reduction":
        return max(task - own, 0.0)
    if direction == "lower":
        return max(own - task, 0.0)
    return max(task - own, 0.0)


def _kpi_row(output: BuildOutput, kpi_id: str) -> pd.Series | None:
    match = output.kpis[output.kpis["kpi_id"] == kpi_id]
    return None if match.empty else match.iloc[0]


def _known(value: object) -> bool:
    if value is None:
        return False
    try:
        return not math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _float(value: object) -> float | None:
    return float(value) if _known(value) else None  # type: ignore[arg-type]


def _text(value: object) -> str:
    return (
        ""
        if value is None or (isinstance(value, float) and math.isnan(value))
        else str(value)
    )
