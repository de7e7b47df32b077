"""Targets, options, plans and the linear form of targets for the optimiser.

See :mod:`geo_dashboard.measures.optimiser` for which KPIs can be targets
and how a ratio KPI becomes a linear constraint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geo_dashboard.expressions import evaluate
from geo_dashboard.kpis import KpiDefinition
from geo_dashboard.measures.engine import PLANNING_YEARS, ScenarioEngine
from geo_dashboard.measures.library import Variant

LINEAR_AGGREGATIONS = ("sum", "share", "weighted_mean")


@dataclass(frozen=True)
class Target:
    """A KPI target: the KPI must end at or below (or above) ``value``.

    Whether below or above follows the KPI's direction (lower or higher).
    """

    kpi_id: str
    value: float


@dataclass
class OptimiserOptions:
    """Constraints and settings of an optimisation.

    ``budget_eur_yr`` caps the annualised cost. ``max_farm_share`` (0-1)
    caps the share of each farm's parcel area that gets a measure; without a
    ``farm_id`` column the whole area counts as one farm.
    """

    budget_eur_yr: float | None = None
    max_farm_share: float | None = None
    excluded_parcels: Sequence[str] = ()
    measures: Sequence[str] | None = None
    variant: Variant = "mid"
    planning_years: int = PLANNING_YEARS
    time_limit_s: float = 60.0
    mip_rel_gap: float = 1e-6


@dataclass
class TargetReport:
    """How far a plan gets towards one target, computed with the KPI definition."""

    kpi_id: str
    direction: str
    target: float
    current: float | None
    reached: float | None
    met: bool
    shortfall: float
    best_alone: float | None = None


@dataclass
class Plan:
    """A proposed assignment with its cost and target report."""

    method: str
    status: str
    assignment: np.ndarray
    annualised_cost: float
    targets: list[TargetReport]
    solve_seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def all_met(self) -> bool:
        """Whether every target is met."""
        return all(report.met for report in self.targets)

    def target_frame(self) -> pd.DataFrame:
        """Return the target reports as a table."""
        return pd.DataFrame([report.__dict__ for report in self.targets])


@dataclass(frozen=True)
class Exclusion:
    """Why a KPI cannot be an optimiser target: a code and its detail.

    ``code`` is ``gap`` (``detail`` names the missing roles or columns),
    ``fixed`` (computed on the Natura 2000 site table), ``nonlinear``
    (``detail`` names the aggregation) or ``no_target``.
    """

    code: str
    detail: str = ""

    def __str__(self) -> str:
        texts = {
            "gap": f"data gap ({self.detail})",
            "fixed": "computed on the Natura 2000 site table, "
            "which parcel measures do not change",
            "nonlinear": f"aggregation {self.detail!r} is not linear "
            "in parcel attributes",
            "no_target": "the area config gives no target value",
        }
        return texts[self.code]


def target_options(engine: ScenarioEngine) -> tuple[list[Target], dict[str, Exclusion]]:
    """Split the area's KPIs into optimiser targets and the rest, with reasons.

    Returns the targets from the area config that the optimiser can use, and
    for every other KPI the reason why not.
    """
    targets: list[Target] = []
    reasons: dict[str, Exclusion] = {}
    for item in engine.kpis:
        if item.kind != "kpi":
            continue
        definition = item.definition
        if item.status == "gap":
            reasons[definition.id] = Exclusion("gap", ", ".join(item.missing))
        elif item.status == "fixed":
            reasons[definition.id] = Exclusion("fixed")
        elif definition.aggregation not in LINEAR_AGGREGATIONS:
            reasons[definition.id] = Exclusion("nonlinear", definition.aggregation)
        elif item.target_value is None:
            reasons[definition.id] = Exclusion("no_target")
        else:
            targets.append(Target(definition.id, float(item.target_value)))
    return targets, reasons


@dataclass
class Problem:
    parcel: np.ndarray  # row of the parcel table per candidate
    measure: np.ndarray  # measure id per candidate
    cost: np.ndarray  # annualised cost per candidate, EUR/yr
    area: np.ndarray  # parcel area per candidate, ha
    delta: np.ndarray  # (targets, candidates): change of the normalised constraint
    bound: np.ndarray  # (targets,): normalised right-hand side, minus today's value
    definitions: list[KpiDefinition]


def _contribution(kpi: KpiDefinition, target: float, table: pd.DataFrame) -> np.ndarray:
    """Return the per-row terms whose sum the target bounds (see the module notes)."""
    values = evaluate(kpi.value or "0", table, f"KPI {kpi.id!r}")
    if kpi.aggregation == "sum":
        terms = values / kpi.scale
        valid = values.notna()
    else:
        weights = evaluate(kpi.weight or "1", table, f"KPI {kpi.id!r}")
        valid = values.notna() & weights.notna()
        if kpi.aggregation == "share":
            terms = values - target / 100.0 * weights
        else:
            terms = weights * (values - target)
    return np.where(
        valid.to_numpy(), terms.to_numpy(dtype="float64", na_value=0.0), 0.0
    )


def _contributions(
    definitions: list[KpiDefinition], targets: Sequence[Target], table: pd.DataFrame
) -> np.ndarray:
    """Return the per-row terms of every target, as an array (targets, rows)."""
    rows = [
        _contribution(definition, target.value, table)
        for definition, target in zip(definitions, targets, strict=True)
    ]
    return np.array(rows).reshape(len(targets), len(table))


def build_problem(
    engine: ScenarioEngine, targets: Sequence[Target], options: OptimiserOptions
) -> Problem:
    """Collect the candidates (parcel, measure) with their cost and target effects.

    Effects use ``options.variant``; costs always use the mid cost values.
    """
    definitions = [engine.kpi(target.kpi_id).definition for target in targets]
    signs = np.array([1.0 if d.direction == "lower" else -1.0 for d in definitions])
    base = _contributions(definitions, targets, engine.table)
    rhs = np.array(
        [
            target.value if definition.aggregation == "sum" else 0.0
            for definition, target in zip(definitions, targets, strict=True)
        ]
    )

    # One pass per measure: apply it wherever it may go, read each row's change.
    excluded = engine.parcel_ids.isin(list(options.excluded_parcels))
    allowed = options.measures if options.measures is not None else engine.library.ids
    parcels, measures, costs, deltas = [], [], [], []
    for measure_id in allowed:
        measure = engine.library.get(measure_id)
        rows = engine.applicable(measure_id) & ~excluded
        if not rows.any():
            continue
        assignment = engine.empty_assignment()
        assignment[rows] = measure_id
        table = engine.apply(assignment, (options.variant,))[options.variant]
        after = _contributions(definitions, targets, table)

        per_ha = (
            measure.cost.annual_eur_ha.mid
            + measure.cost.one_off_eur_ha.mid / options.planning_years
        )
        parcels.append(np.flatnonzero(rows))
        measures.append(np.full(int(rows.sum()), measure_id, dtype=object))
        costs.append(engine.treated_area(measure_id)[rows] * per_ha)
        deltas.append((after - base)[:, rows])

    if parcels:
        parcel = np.concatenate(parcels)
        delta = np.concatenate(deltas, axis=1) * signs[:, None]
    else:
        parcel, delta = np.zeros(0, dtype=int), np.zeros((len(targets), 0))

    # Constraint k in <= form: sum(delta_k x) <= bound_k, scaled so that
    # closing today's gap is one unit.
    bound = (rhs - base.sum(axis=1)) * signs
    scale = np.where(np.abs(bound) > 1e-12, np.abs(bound), 1.0)
    return Problem(
        parcel=parcel,
        measure=np.concatenate(measures) if measures else np.zeros(0, dtype=object),
        cost=np.concatenate(costs) if costs else np.zeros(0),
        area=engine.area_ha[parcel],
        delta=delta / scale[:, None],
        bound=bound / scale,
        definitions=definitions,
    )


def plan_assignment(
    engine: ScenarioEngine, problem: Problem, chosen: np.ndarray
) -> np.ndarray:
    assignment = engine.empty_assignment()
    assignment[problem.parcel[chosen]] = problem.measure[chosen]
    return assignment


def target_reports(
    engine: ScenarioEngine,
    targets: Sequence[Target],
    assignment: np.ndarray,
    variant: Variant,
) -> list[TargetReport]:
    table = engine.apply(assignment, (variant,))[variant]
    values = engine.kpi_values(table)
    reports = []
    for target in targets:
        definition = engine.kpi(target.kpi_id).definition
        reached = values.get(target.kpi_id)
        tolerance = 1e-6 * max(1.0, abs(target.value))
        if reached is None:
            met, shortfall = False, float("nan")
        elif definition.direction == "lower":
            shortfall = max(0.0, reached - target.value)
            met = shortfall <= tolerance
        else:
            shortfall = max(0.0, target.value - reached)
            met = shortfall <= tolerance
        reports.append(
            TargetReport(
                target.kpi_id,
                definition.direction,
                target.value,
                engine.current_values.get(target.kpi_id),
                reached,
                met,
                0.0 if met else shortfall,
            )
        )
    return reports
