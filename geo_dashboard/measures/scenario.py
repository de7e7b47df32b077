"""Scenarios: which measure goes on which parcel, as data that can be saved.

A scenario lists steps that are applied in order. A later step overrides an
earlier one on the same parcel, so each parcel has at most one measure:

- a :class:`RuleStep` assigns a measure to every parcel where it applies,
  optionally narrowed by a ``where`` formula over the parcel table;
- a :class:`ParcelStep` assigns a measure to listed parcel ids (for example
  a selection drawn on the map, or a single parcel). Every listed parcel
  must exist and the measure must apply there, else the scenario is
  rejected with a message that names the parcel and the measure;
- a :class:`ParcelStep` with ``measure: null`` removes measures again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from geo_dashboard.expressions import formula_columns
from geo_dashboard.measures.engine import NO_MEASURE, ScenarioEngine, ScenarioError

logger = logging.getLogger(__name__)


class RuleStep(BaseModel):
    """Assign a measure wherever it applies, optionally only where a formula holds."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["rule"] = "rule"
    measure: str
    where: str | None = None

    @model_validator(mode="after")
    def _check_where(self) -> RuleStep:
        if self.where is not None:
            formula_columns(self.where)
        return self


class ParcelStep(BaseModel):
    """Assign a measure (or none) to listed parcels."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["parcels"] = "parcels"
    measure: str | None
    parcel_ids: list[str] = Field(min_length=1)


Step = Annotated[RuleStep | ParcelStep, Field(discriminator="kind")]


class Scenario(BaseModel):
    """A named what-if: measures on parcels of one area.

    ``build`` records the build folder the scenario was made on, so a saved
    scenario whose parcel ids are gone after a rebuild can be explained.
    ``cycle`` links the scenario to a cycle of the area by its id or name.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    area_id: str
    description: str = ""
    created: str = Field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds")
    )
    build: str | None = None
    cycle: str | None = Field(default=None, max_length=120)
    planning_years: int = Field(default=10, ge=1, le=100)
    steps: list[Step] = Field(default_factory=list)

    def assignment(self, engine: ScenarioEngine) -> np.ndarray:
        """Resolve the steps to one measure id per parcel row of ``engine``.

        Raises
        ------
        ScenarioError
            If a step names an unknown measure or parcel, or a parcel step
            assigns a measure to a parcel where it does not apply.
        """
        assignment = engine.empty_assignment()
        for index, step in enumerate(self.steps):
            where = f"scenario {self.name!r}, step {index + 1}"
            if step.kind == "rule":
                _apply_rule(engine, assignment, step, where)
            else:
                _apply_parcels(engine, assignment, step, where)
        engine.check_assignment(assignment)
        return assignment


def _known_measure(engine: ScenarioEngine, measure_id: str, where: str) -> None:
    if measure_id not in engine.library.ids:
        raise ScenarioError(
            f"{where}: measure {measure_id!r} is not in the measure library. "
            f"Known measures: {', '.join(engine.library.ids)}."
        )


def _apply_rule(
    engine: ScenarioEngine, assignment: np.ndarray, step: RuleStep, where: str
) -> None:
    _known_measure(engine, step.measure, where)
    mask = engine.applicable(step.measure).copy()
    if step.where is not None:
        values = engine.base_values(step.where, where)
        mask &= ~np.isnan(values) & (values != 0.0)
    assignment[mask] = step.measure
    logger.debug("%s: %s on %d parcels", where, step.measure, int(mask.sum()))


def _apply_parcels(
    engine: ScenarioEngine, assignment: np.ndarray, step: ParcelStep, where: str
) -> None:
    positions = engine.parcel_ids.get_indexer(step.parcel_ids)
    unknown = [
        pid for pid, pos in zip(step.parcel_ids, positions, strict=True) if pos < 0
    ]
    if unknown:
        raise ScenarioError(
            f"{where}: parcel id(s) {', '.join(unknown[:5])} are not in the parcel "
            "table of this build. Select parcels of the current build."
        )
    if step.measure is None:
        assignment[positions] = NO_MEASURE
        return
    _known_measure(engine, step.measure, where)
    wrong = ~engine.applicable(step.measure)[positions]
    if wrong.any():
        bad = [step.parcel_ids[i] for i in np.flatnonzero(wrong)]
        measure = engine.library.get(step.measure)
        reason = (
            engine.unavailable_reason(measure)
            or f"it applies only where {measure.applies_to}"
        )
        shown = ", ".join(bad[:5]) + (
            f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        )
        raise ScenarioError(
            f"{where}: measure {step.measure!r} does not apply to parcel {shown}: "
            f"{reason}. Remove the parcel from the selection or choose another measure."
        )
    assignment[positions] = step.measure
