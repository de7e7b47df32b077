"""Least-cost assignment of measures to parcels that meets the area targets.

The optimiser solves a mixed-integer programme with HiGHS through
:func:`scipy.optimize.milp`: one binary variable per (parcel, measure) pair
where the measure applies, at most one measure per parcel, minimal
annualised cost (annual cost plus one-off cost spread over the planning
period).

Which KPIs can be targets
-------------------------
A target is a linear constraint when the KPI is computed on the parcel table
with aggregation ``sum``, ``share`` or ``weighted_mean``, because every
parcel's contribution depends on that parcel's measure only:

- ``sum``: sum(value) / scale <= T (or >=);
- ``share``: 100 * sum(value) / sum(weight) <= T is exactly
  sum(value - T/100 * weight) <= 0 while sum(weight) > 0;
- ``weighted_mean``: sum(value * weight) / sum(weight) <= T is exactly
  sum(weight * (value - T)) <= 0 while sum(weight) > 0.

So a changing denominator (for example arable land that becomes grassland)
is handled exactly. Not targetable: ``shannon`` (not linear), KPIs on the
Natura 2000 site table (parcel measures do not change it), and data gaps.

When the targets cannot all be met, the optimiser first minimises the sum of
the remaining gaps, each as a fraction of that target's gap today. It then
minimises the cost at that minimum. Per target it reports the value reached
and the best value reachable for that target alone. :func:`greedy_plan` is a
cost-effectiveness ranking to compare with.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from geo_dashboard.measures.engine import ScenarioEngine
from geo_dashboard.measures.planning import (
    LINEAR_AGGREGATIONS,
    Exclusion,
    OptimiserOptions,
    Plan,
    Problem,
    Target,
    TargetReport,
    build_problem,
    plan_assignment,
    target_options,
    target_reports,
)

__all__ = [
    "LINEAR_AGGREGATIONS",
    "Exclusion",
    "OptimiserOptions",
    "Plan",
    "Target",
    "TargetReport",
    "greedy_plan",
    "lp_bound",
    "optimise",
    "target_options",
]

logger = logging.getLogger(__name__)


def _farm_codes(engine: ScenarioEngine) -> tuple[np.ndarray, np.ndarray]:
    """Return the farm of each row as a code, and the parcel area per farm."""
    farms = (
        engine.table["farm_id"].astype(str).to_numpy()
        if "farm_id" in engine.table
        else np.full(len(engine.table), "area", dtype=object)
    )
    names, codes = np.unique(farms, return_inverse=True)
    return codes, np.bincount(codes, weights=engine.area_ha, minlength=len(names))


def _constraints(
    engine: ScenarioEngine, problem: Problem, options: OptimiserOptions, soft: bool
) -> tuple[list[LinearConstraint], int]:
    """Return the constraint rows and the number of slack columns after x.

    With ``soft``, each target row gets its own slack variable (>= 0).
    """
    count = len(problem.cost)
    k = len(problem.bound)
    extra = k if soft else 0
    constraints = []

    # At most one measure per parcel.
    _, parcel_row = np.unique(problem.parcel, return_inverse=True)
    parcels = parcel_row.max(initial=-1) + 1
    one_per_parcel = sparse.csr_matrix(
        (np.ones(count), (parcel_row, np.arange(count))), shape=(parcels, count)
    )
    padded = sparse.hstack([one_per_parcel, sparse.csr_matrix((parcels, extra))])
    constraints.append(LinearConstraint(padded, -np.inf, 1))

    if k:
        slack = -sparse.identity(k) if soft else sparse.csr_matrix((k, 0))
        matrix = sparse.hstack([sparse.csr_matrix(problem.delta), slack])
        constraints.append(LinearConstraint(matrix, -np.inf, problem.bound))

    if options.budget_eur_yr is not None:
        row = np.concatenate([problem.cost, np.zeros(extra)])[None, :]
        constraints.append(LinearConstraint(row, -np.inf, options.budget_eur_yr))

    if options.max_farm_share is not None and count:
        codes, farm_area = _farm_codes(engine)
        farm = codes[problem.parcel]
        matrix = sparse.csr_matrix(
            (problem.area, (farm, np.arange(count))), shape=(len(farm_area), count)
        )
        matrix = sparse.hstack([matrix, sparse.csr_matrix((len(farm_area), extra))])
        limit = options.max_farm_share * farm_area
        constraints.append(LinearConstraint(matrix, -np.inf, limit))
    return constraints, extra


def _solve(engine, problem, options, objective, soft, cap=None):
    constraints, extra = _constraints(engine, problem, options, soft)
    count = len(problem.cost)
    if cap is not None:
        constraints.append(
            LinearConstraint(
                np.concatenate([np.zeros(count), cap[0]])[None, :], -np.inf, cap[1]
            )
        )
    integrality = np.concatenate([np.ones(count), np.zeros(extra)])
    bounds = Bounds(
        np.zeros(count + extra),
        np.concatenate([np.ones(count), np.full(extra, np.inf)]),
    )
    return milp(
        objective,
        constraints=constraints,
        integrality=integrality,
        bounds=bounds,
        options={
            "time_limit": options.time_limit_s,
            "mip_rel_gap": options.mip_rel_gap,
        },
    )


def optimise(
    engine: ScenarioEngine,
    targets: Sequence[Target],
    options: OptimiserOptions | None = None,
) -> Plan:
    """Find the least-cost assignment that meets ``targets``.

    Parameters
    ----------
    engine
        Scenario engine of the area's current build.
    targets
        Targets on KPIs that :func:`target_options` lists as targetable.
    options
        Budget, farm share, excluded parcels, allowed measures, effect
        variant and solver limits.

    Returns
    -------
    Plan
        ``status`` is ``optimal``, ``time_limit`` (best plan found in time),
        ``infeasible`` or ``failed``. An infeasible plan is the least-cost
        one that gets closest to the targets, and each unmet target's report
        gives ``best_alone``.
    """
    options = options or OptimiserOptions()
    started = time.perf_counter()
    problem = build_problem(engine, targets, options)
    count, k = len(problem.cost), len(problem.bound)
    notes = []
    if "farm_id" not in engine.table and options.max_farm_share is not None:
        notes.append("no farm_id column: the farm share applies to the whole area")
    if count == 0:
        # No allowed measure applies to any parcel that is not excluded.
        assignment = engine.empty_assignment()
        reports = target_reports(engine, targets, assignment, options.variant)
        for report in reports:
            report.best_alone = None if report.met else report.current
        status = "optimal" if all(r.met for r in reports) else "infeasible"
        notes.append("no allowed measure applies to a parcel that is not excluded")
        return Plan(
            "milp",
            status,
            assignment,
            0.0,
            reports,
            time.perf_counter() - started,
            notes,
        )
    result = _solve(engine, problem, options, problem.cost, soft=False)
    if result.x is not None and result.status in (0, 1):
        status = "optimal" if result.status == 0 else "time_limit"
        chosen = result.x[:count] > 0.5
    elif result.status == 2:
        status = "infeasible"
        gap_objective = np.concatenate([np.zeros(count), np.ones(k)])
        closest = _solve(engine, problem, options, gap_objective, soft=True)
        if closest.x is None:
            return Plan(
                "milp",
                "failed",
                engine.empty_assignment(),
                0.0,
                [],
                time.perf_counter() - started,
                [closest.message],
            )
        cap = (np.ones(k), closest.fun * (1 + 1e-6) + 1e-7)
        cheapest = _solve(
            engine,
            problem,
            options,
            np.concatenate([problem.cost, np.zeros(k)]),
            soft=True,
            cap=cap,
        )
        best = cheapest if cheapest.x is not None else closest
        chosen = best.x[:count] > 0.5
    else:
        return Plan(
            "milp",
            "failed",
            engine.empty_assignment(),
            0.0,
            [],
            time.perf_counter() - started,
            [result.message],
        )
    assignment = plan_assignment(engine, problem, chosen)
    reports = target_reports(engine, targets, assignment, options.variant)
    if status == "infeasible":
        for index, report in enumerate(reports):
            if not report.met:
                report.best_alone = _best_alone(
                    engine, problem, options, targets, index
                )
    plan = Plan(
        "milp",
        status,
        assignment,
        float(problem.cost[chosen].sum()),
        reports,
        time.perf_counter() - started,
        notes,
    )
    logger.info(
        "optimiser: %s, %d parcels, %.0f EUR/yr, %.2f s",
        status,
        int(chosen.sum()),
        plan.annualised_cost,
        plan.solve_seconds,
    )
    return plan


def lp_bound(
    engine: ScenarioEngine,
    targets: Sequence[Target],
    options: OptimiserOptions | None = None,
) -> float | None:
    """Return the cost of the linear relaxation: a lower bound on any plan's cost.

    Each (parcel, measure) variable may take any value in [0, 1], so no plan
    that meets ``targets`` under ``options`` can cost less. Returns None when
    even the relaxation cannot meet the targets.
    """
    options = options or OptimiserOptions()
    problem = build_problem(engine, targets, options)
    if len(problem.cost) == 0:
        return 0.0
    constraints, _ = _constraints(engine, problem, options, soft=False)
    count = len(problem.cost)
    result = milp(
        problem.cost,
        constraints=constraints,
        integrality=np.zeros(count),
        bounds=Bounds(np.zeros(count), np.ones(count)),
        options={"time_limit": options.time_limit_s},
    )
    return float(result.fun) if result.status == 0 else None


def _best_alone(engine, problem, options, targets, index: int) -> float | None:
    """Return the best value of target ``index`` reachable on its own."""
    count, k = len(problem.cost), len(problem.bound)
    objective = np.zeros(count + k)
    objective[count + index] = 1.0
    result = _solve(engine, problem, options, objective, soft=True)
    if result.x is None:
        return None
    assignment = plan_assignment(engine, problem, result.x[:count] > 0.5)
    return target_reports(engine, [targets[index]], assignment, options.variant)[
        0
    ].reached


def greedy_plan(
    engine: ScenarioEngine,
    targets: Sequence[Target],
    options: OptimiserOptions | None = None,
) -> Plan:
    """Assign measures in order of cost per unit of progress towards the targets.

    Each (parcel, measure) pair gets a benefit: the sum over unmet targets
    of the share of today's gap it closes (at most 1 per target). Pairs are
    taken cheapest per benefit first. A pair is skipped when its parcel
    already has a measure or when it would break the budget or a farm share.
    It is also skipped when it helps no target that is still unmet, or when
    it would push a met target past its bound. The ranking stops when all
    targets are met.
    """
    options = options or OptimiserOptions()
    started = time.perf_counter()
    problem = build_problem(engine, targets, options)
    need = np.maximum(0.0, -problem.bound)
    gain = np.maximum(0.0, -problem.delta)
    share = np.where(
        need[:, None] > 0,
        np.minimum(1.0, gain / np.where(need > 0, need, 1.0)[:, None]),
        0.0,
    )
    benefit = share.sum(axis=0)
    useful = np.flatnonzero(benefit > 0)
    order = useful[np.argsort(problem.cost[useful] / benefit[useful], kind="stable")]

    # Walk the ranking, keeping running totals of the constraint rows.
    farms, farm_area = _farm_codes(engine)
    used_area = np.zeros(len(farm_area))
    lhs = np.zeros(len(problem.bound))
    spent = 0.0
    selected = np.zeros(len(problem.cost), dtype=bool)
    used_parcels: set[int] = set()
    for candidate in order:
        if np.all(lhs <= problem.bound + 1e-12):
            break
        parcel = int(problem.parcel[candidate])
        if parcel in used_parcels:
            continue
        cost = problem.cost[candidate]
        if options.budget_eur_yr is not None and spent + cost > options.budget_eur_yr:
            continue
        farm = farms[parcel]
        if (
            options.max_farm_share is not None
            and used_area[farm] + problem.area[candidate]
            > options.max_farm_share * farm_area[farm] + 1e-9
        ):
            continue
        after = lhs + problem.delta[:, candidate]
        met = lhs <= problem.bound + 1e-12
        if not np.any(~met & (problem.delta[:, candidate] < 0)):
            continue  # helps no target that is still unmet
        if np.any(met & (after > problem.bound + 1e-12)):
            continue
        lhs, spent = after, spent + cost
        selected[candidate] = True
        used_parcels.add(parcel)
        used_area[farm] += problem.area[candidate]
    assignment = plan_assignment(engine, problem, selected)
    reports = target_reports(engine, targets, assignment, options.variant)
    status = "feasible" if all(report.met for report in reports) else "infeasible"
    return Plan(
        "greedy",
        status,
        assignment,
        float(problem.cost[selected].sum()),
        reports,
        time.perf_counter() - started,
    )
