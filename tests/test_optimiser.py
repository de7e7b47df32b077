"""Least-cost optimiser and greedy baseline on the pilot build."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from geo_dashboard.catalog import load_catalog
from geo_dashboard.config import load_area_config
from geo_dashboard.kpis import aggregate, load_kpi_library
from geo_dashboard.measures.engine import NO_MEASURE, PLANNING_YEARS, ScenarioEngine
from geo_dashboard.measures.loader import load_measure_library
from geo_dashboard.measures.optimiser import (
    OptimiserOptions,
    Target,
    greedy_plan,
    lp_bound,
    optimise,
    target_options,
)

AREA = "noordoostpolder"
PILOT_TARGETS = (
    "nitrate_risk_arable_share",
    "permanent_grassland_share",
    "agri_environment_share",
)


@pytest.fixture(scope="module")
def parts(pilot_build, pilot_paths):
    kpi_library = load_kpi_library()
    config = load_area_config(
        pilot_paths.configs, AREA, load_catalog(pilot_paths.layers), kpi_library
    )
    return config, load_measure_library(AREA, pilot_paths.configs), kpi_library


@pytest.fixture(scope="module")
def engine(pilot_build, parts) -> ScenarioEngine:
    config, library, kpi_library = parts
    return ScenarioEngine(
        pilot_build.parcels, library, config, kpi_library, pilot_build.nature
    )


@pytest.fixture(scope="module")
def pilot_targets(engine) -> list[Target]:
    targets, _ = target_options(engine)
    return [target for target in targets if target.kpi_id in PILOT_TARGETS]


def _meets(
    engine: ScenarioEngine, assignment: np.ndarray, targets: list[Target]
) -> bool:
    table = engine.apply(assignment, ("mid",))["mid"]
    for target in targets:
        value = aggregate(engine.kpi(target.kpi_id).definition, table)
        if value is None:
            return False
        if engine.kpi(target.kpi_id).definition.direction == "lower":
            if value > target.value + 1e-9:
                return False
        elif value < target.value - 1e-9:
            return False
    return True


def _cost(engine: ScenarioEngine, assignment: np.ndarray) -> float:
    total = 0.0
    for measure_id in set(assignment) - {NO_MEASURE}:
        cost = engine.library.get(measure_id).cost
        per_ha = cost.annual_eur_ha.mid + cost.one_off_eur_ha.mid / PLANNING_YEARS
        total += (
            engine.treated_area(measure_id)[assignment == measure_id].sum() * per_ha
        )
    return float(total)


def test_target_options_explain_exclusions(engine):
    targets, reasons = target_options(engine)
    ids = {target.kpi_id for target in targets}
    assert set(PILOT_TARGETS) <= ids
    assert reasons["crop_diversity_shannon"].code == "nonlinear"
    assert "not linear" in str(reasons["crop_diversity_shannon"])
    assert reasons["natura2000_nh3_above_3ug"].code == "fixed"
    assert "Natura 2000 site table" in str(reasons["natura2000_nh3_above_3ug"])
    assert reasons["peat_co2_emission"].code == "gap"
    assert str(reasons["peat_co2_emission"]).startswith("data gap")


def test_plan_feasible_and_not_dearer_than_greedy(engine, pilot_targets):
    plan = optimise(engine, pilot_targets)
    greedy = greedy_plan(engine, pilot_targets)
    assert plan.status == "optimal"
    assert plan.all_met
    assert _meets(engine, plan.assignment, pilot_targets)
    engine.check_assignment(plan.assignment)
    assert greedy.status == "feasible"
    assert _meets(engine, greedy.assignment, pilot_targets)
    assert plan.annualised_cost <= greedy.annualised_cost * (1 + 1e-6)
    assert plan.annualised_cost == pytest.approx(_cost(engine, plan.assignment))
    assert greedy.annualised_cost == pytest.approx(_cost(engine, greedy.assignment))
    evaluated = engine.evaluate(plan.assignment).total_cost()["annualised_mid"]
    assert evaluated == pytest.approx(plan.annualised_cost)


def test_lp_bound_below_optimum(engine, pilot_targets):
    bound = lp_bound(engine, pilot_targets)
    plan = optimise(engine, pilot_targets)
    assert bound is not None
    assert bound > 0
    assert bound <= plan.annualised_cost * (1 + 1e-9)


def test_equals_brute_force_on_six_parcels(pilot_build, parts):
    config, library, kpi_library = parts
    parcels = pilot_build.parcels.reset_index(drop=True)
    arable = parcels[(parcels["land_use"] == "arable") & (parcels["area_ha"] > 1)]
    small = arable.sort_values("area_ha").iloc[:: max(1, len(arable) // 6)].head(6)
    engine = ScenarioEngine(small, library, config, kpi_library)
    measures = ["arable_to_grassland", "agri_environment_mixture"]
    current = engine.current_values
    targets = [
        Target(
            "permanent_grassland_share", current["permanent_grassland_share"] + 20.0
        ),
        Target("agri_environment_share", current["agri_environment_share"] + 15.0),
        Target("nitrate_risk_arable_share", current["nitrate_risk_arable_share"]),
    ]
    best_cost, best = np.inf, None
    for combination in itertools.product([NO_MEASURE, *measures], repeat=len(small)):
        assignment = np.array(combination, dtype=object)
        if _meets(engine, assignment, targets):
            cost = _cost(engine, assignment)
            if cost < best_cost:
                best_cost, best = cost, assignment
    assert best is not None
    plan = optimise(engine, targets, OptimiserOptions(measures=measures))
    assert plan.status == "optimal"
    assert plan.annualised_cost == pytest.approx(best_cost, rel=1e-6)
    assert _meets(engine, plan.assignment, targets)


def test_infeasible_targets_reported(engine, pilot_targets):
    nh3 = Target("nh3_concentration_farmland", 4.16)
    plan = optimise(engine, [*pilot_targets, nh3])
    assert plan.status == "infeasible"
    reports = {report.kpi_id: report for report in plan.targets}
    unmet = reports["nh3_concentration_farmland"]
    assert not unmet.met
    assert unmet.shortfall == pytest.approx(engine.current_values[nh3.kpi_id] - 4.16)
    assert unmet.best_alone == pytest.approx(engine.current_values[nh3.kpi_id])
    for kpi_id in PILOT_TARGETS:
        assert reports[kpi_id].met


def test_budget_limits_plan_and_reports_best_reachable(engine, pilot_targets):
    options = OptimiserOptions(budget_eur_yr=50_000)
    plan = optimise(engine, pilot_targets, options)
    assert plan.status == "infeasible"
    assert plan.annualised_cost <= 50_000 + 1e-6
    unmet = [report for report in plan.targets if not report.met]
    assert unmet
    for report in unmet:
        assert report.shortfall > 0
        assert report.best_alone is not None
        if report.direction == "lower":
            assert report.best_alone <= report.current
        else:
            assert report.best_alone >= report.current
    greedy = greedy_plan(engine, pilot_targets, options)
    assert greedy.annualised_cost <= 50_000 + 1e-6


def test_excluded_parcels_and_farm_share(pilot_build, parts, pilot_targets):
    config, library, kpi_library = parts
    parcels = pilot_build.parcels.copy()
    parcels["farm_id"] = np.where(np.arange(len(parcels)) % 3 == 0, "farm_a", "farm_b")
    engine = ScenarioEngine(parcels, library, config, kpi_library)
    first = optimise(engine, pilot_targets)
    excluded = list(engine.parcel_ids[first.assignment != NO_MEASURE][:20])
    options = OptimiserOptions(excluded_parcels=excluded, max_farm_share=0.05)
    plan = optimise(engine, pilot_targets, options)
    assert plan.status in ("optimal", "infeasible")
    positions = engine.parcel_ids.get_indexer(excluded)
    assert (plan.assignment[positions] == NO_MEASURE).all()
    treated = plan.assignment != NO_MEASURE
    farms = parcels["farm_id"].to_numpy()
    for farm in ("farm_a", "farm_b"):
        in_farm = farms == farm
        share = engine.area_ha[treated & in_farm].sum() / engine.area_ha[in_farm].sum()
        assert share <= 0.05 + 1e-9


def test_no_applicable_measure_leaves_empty_plan(engine, pilot_targets):
    options = OptimiserOptions(measures=["submerged_drains_peat"])
    plan = optimise(engine, pilot_targets, options)
    assert plan.status == "infeasible"
    assert (plan.assignment == NO_MEASURE).all()
    assert plan.annualised_cost == 0.0
