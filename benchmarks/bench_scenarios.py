"""Benchmark: scenario recompute time on the pilot and on ~100k tiled parcels.

Run from the repository root after a pilot build::

    .venv/bin/python benchmarks/bench_scenarios.py [--repeats 20] [--parcels 100000]

The 100k table tiles the real pilot parcels: each copy is translated east by
the width of the pilot block and gets new parcel ids, so every row is a real
parcel with real attributes. The same scenario is timed with the vectorised
engine and with a naive loop, which applies the measures and accumulates
every KPI parcel by parcel in Python. Both must give the same KPI values. The
script also compares the optimiser with the greedy ranking on the pilot and,
on a 20k-parcel tiled table, with the greedy ranking and the LP bound, and
prints a markdown snippet.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import statistics
import sys
import time

import numpy as np
import pandas as pd

from geo_dashboard.catalog import load_catalog
from geo_dashboard.config import load_area_config
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.measures.engine import NO_MEASURE, ScenarioEngine
from geo_dashboard.measures.engine import _crop_values as crop_values
from geo_dashboard.measures.library import VARIANTS
from geo_dashboard.measures.loader import load_measure_library
from geo_dashboard.measures.optimiser import (
    OptimiserOptions,
    greedy_plan,
    lp_bound,
    optimise,
    target_options,
)
from geo_dashboard.measures.scenario import RuleStep, Scenario
from geo_dashboard.output import read_build
from geo_dashboard.paths import ProjectPaths

AREA = "noordoostpolder"
STEPS = [
    RuleStep(measure="low_emission_housing_feeding"),
    RuleStep(measure="herb_rich_grassland", where="area_ha > 0.5"),
    RuleStep(measure="arable_to_grassland", where="crop_group == 'potatoes'"),
    RuleStep(measure="agri_environment_mixture", where="area_ha < 0.2"),
]


def tiled_parcels(parcels: pd.DataFrame, count: int) -> pd.DataFrame:
    """Return ``count`` rows or more: copies of ``parcels`` shifted east, new ids."""
    copies = math.ceil(count / len(parcels))
    minx, _, maxx, _ = parcels.total_bounds
    width = maxx - minx + 100.0
    frames = []
    for index in range(copies):
        copy = parcels.copy()
        copy["geometry"] = copy.geometry.translate(xoff=index * width)
        copy["parcel_id"] = copy["parcel_id"].astype(str) + f"-{index}"
        frames.append(copy)
    return pd.concat(frames, ignore_index=True)


def naive_values(
    engine: ScenarioEngine, assignment: np.ndarray
) -> dict[str, dict[str, float]]:
    """Apply measures and aggregate every computed KPI in a per-parcel Python loop."""
    kpis = [item.definition for item in engine.computed_kpis]
    compiled = {
        kpi.id: {
            key: compile(getattr(kpi, key), kpi.id, "eval")
            for key in ("value", "weight")
            if getattr(kpi, key)
        }
        for kpi in kpis
    }
    records = engine.table.to_dict("records")
    results: dict[str, dict[str, float]] = {}
    for variant in VARIANTS:
        sums = {kpi.id: [0.0, 0.0] for kpi in kpis}
        groups: dict[str, dict[str, float]] = {kpi.id: {} for kpi in kpis}
        for record, measure_id in zip(records, assignment, strict=True):
            row = dict(record)
            if measure_id != NO_MEASURE:
                measure = engine.library.get(measure_id)
                if measure.set_crop is not None:
                    row.update(crop_values(measure.set_crop))
                for column, effect in measure.effects.items():
                    if column not in row:
                        continue
                    if effect.set is not None:
                        row[column] = effect.set
                    elif effect.reduce_by is not None:
                        row[column] = row[column] * (1 - effect.reduce_by.get(variant))
                    elif effect.add is not None:
                        row[column] = row[column] + effect.add.get(variant)
                    else:
                        row[column] = eval(
                            compile(effect.formula, "f", "eval"), {}, row
                        )
            for kpi in kpis:
                code = compiled[kpi.id]
                if kpi.aggregation == "shannon":
                    weight = float(eval(code["weight"], {"__builtins__": {}}, row))
                    group = groups[kpi.id]
                    group[row[kpi.category]] = (
                        group.get(row[kpi.category], 0.0) + weight
                    )
                    continue
                value = float(eval(code["value"], {"__builtins__": {}}, row))
                weight = (
                    float(eval(code["weight"], {"__builtins__": {}}, row))
                    if "weight" in code
                    else 1.0
                )
                total = sums[kpi.id]
                total[0] += (
                    value * weight if kpi.aggregation == "weighted_mean" else value
                )
                total[1] += weight
        values = {}
        for kpi in kpis:
            numerator, denominator = sums[kpi.id]
            if kpi.aggregation == "sum":
                values[kpi.id] = numerator / kpi.scale
            elif kpi.aggregation == "share":
                values[kpi.id] = (
                    100 * numerator / denominator if denominator else math.nan
                )
            elif kpi.aggregation == "weighted_mean":
                values[kpi.id] = numerator / denominator if denominator else math.nan
            else:
                shares = np.array(list(groups[kpi.id].values()))
                shares = shares[shares > 0] / shares[shares > 0].sum()
                values[kpi.id] = float(-(shares * np.log(shares)).sum())
        results[variant] = values
    return results


def timings(function, repeats: int) -> list[float]:
    """Return the wall time of each call in milliseconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return times


def summary(times: list[float]) -> str:
    quartiles = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
    return (
        f"{statistics.median(times):,.1f} | {quartiles[0]:,.1f}–{quartiles[2]:,.1f} | "
        f"{min(times):,.1f}–{max(times):,.1f}"
    )


@contextlib.contextmanager
def quiet_stdout():
    """Send file descriptor 1 to /dev/null, for solver messages printed from C."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def check_same(engine: ScenarioEngine, assignment: np.ndarray) -> None:
    result = engine.evaluate(assignment).kpis.set_index("kpi_id")
    naive = naive_values(engine, assignment)
    for variant in VARIANTS:
        for kpi_id, value in naive[variant].items():
            assert math.isclose(
                result.loc[kpi_id, variant], value, rel_tol=1e-9, abs_tol=1e-9
            ), (kpi_id, variant, result.loc[kpi_id, variant], value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=20, help="timed engine runs per size"
    )
    parser.add_argument(
        "--naive-repeats", type=int, default=3, help="timed naive-loop runs per size"
    )
    parser.add_argument(
        "--parcels", type=int, default=100_000, help="rows of the tiled table"
    )
    parser.add_argument(
        "--optimiser-parcels",
        type=int,
        default=20_000,
        help="rows of the tiled table the optimiser is measured on",
    )
    args = parser.parse_args()

    paths = ProjectPaths.from_env()
    build = read_build(paths.builds, AREA)
    kpi_library = load_kpi_library()
    config = load_area_config(
        paths.configs, AREA, load_catalog(paths.layers), kpi_library
    )
    library = load_measure_library(AREA, paths.configs)
    scenario = Scenario(name="benchmark", area_id=AREA, steps=STEPS)

    rows = []
    for label, parcels in (
        ("pilot", build.parcels),
        ("tiled", tiled_parcels(build.parcels, args.parcels)),
    ):
        engine = ScenarioEngine(parcels, library, config, kpi_library, build.nature)
        assignment = scenario.assignment(engine)
        check_same(engine, assignment)
        engine.evaluate(assignment)  # warm caches (row values, crop table)
        fast = timings(lambda e=engine, a=assignment: e.evaluate(a), args.repeats)
        naive = timings(
            lambda e=engine, a=assignment: naive_values(e, a), args.naive_repeats
        )
        treated = int((assignment != NO_MEASURE).sum())
        rows.append((label, len(parcels), treated, fast, naive))

    engine = ScenarioEngine(build.parcels, library, config, kpi_library, build.nature)
    targets = [
        t
        for t in target_options(engine)[0]
        if t.kpi_id
        in (
            "nitrate_risk_arable_share",
            "permanent_grassland_share",
            "agri_environment_share",
        )
    ]
    # HiGHS in SciPy can print a debug line to standard output, which would
    # end up in the markdown that benchmarks/run.py copies.
    with quiet_stdout():
        plan = optimise(engine, targets)
        greedy = greedy_plan(engine, targets)
        large = optimiser_at_scale(
            tiled_parcels(build.parcels, args.optimiser_parcels),
            library,
            config,
            kpi_library,
            build.nature,
            targets,
        )

    print("## Scenarios and optimiser")
    print()
    print(
        "Measured with `benchmarks/bench_scenarios.py` on "
        f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}."
    )
    print()
    print(
        "Scenario: low-emission housing on all grassland and maize, herb-rich "
        "grassland on grassland > 0.5 ha, potatoes to permanent grassland and an "
        "agri-environment mixture on arable parcels < 0.2 ha. All KPIs and "
        "indicators are computed at low, mid and high effect."
    )
    print()
    print(
        "| table | parcels | with a measure | engine median ms | engine IQR ms "
        "| engine min–max ms | naive loop median ms | speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, count, treated, fast, naive in rows:
        engine_median = statistics.median(fast)
        naive_median = statistics.median(naive)
        median, iqr, spread = summary(fast).split(" | ")
        print(
            f"| {label} | {count:,} | {treated:,} | {median} | {iqr} | {spread} | "
            f"{naive_median:,.0f} | {naive_median / engine_median:,.0f}x |"
        )
    print()
    print(
        f"Engine runs: {args.repeats} per table; naive runs: {args.naive_repeats}. "
        "Both give the same KPI values (checked before timing)."
    )
    print()
    print(
        "| optimiser (pilot, 3 targets) | status | annualised cost EUR/yr "
        "| parcels | seconds |"
    )
    print("|---|---|---|---|---|")
    for item in (plan, greedy):
        print(
            f"| {item.method} | {item.status} | {item.annualised_cost:,.0f} | "
            f"{int((item.assignment != NO_MEASURE).sum())} | {item.solve_seconds:.2f} |"
        )
    print()
    print_optimiser_at_scale(large, targets)


# The MILP stops once its plan is within this fraction of the best bound.
LARGE_MIP_GAP = 0.005
LARGE_TIME_LIMIT_S = 600.0


def optimiser_at_scale(parcels, library, config, kpi_library, nature, targets):
    """Solve the pilot targets on a tiled table with MILP, greedy and the LP bound."""
    engine = ScenarioEngine(parcels, library, config, kpi_library, nature)
    options = OptimiserOptions(
        mip_rel_gap=LARGE_MIP_GAP, time_limit_s=LARGE_TIME_LIMIT_S
    )
    candidates = sum(int(engine.applicable(m.id).sum()) for m in library.measures)
    started = time.perf_counter()
    bound = lp_bound(engine, targets, options)
    bound_seconds = time.perf_counter() - started
    return {
        "parcels": len(parcels),
        "measures": len(library.measures),
        "candidates": candidates,
        "milp": optimise(engine, targets, options),
        "greedy": greedy_plan(engine, targets, options),
        "bound": bound,
        "bound_seconds": bound_seconds,
    }


def print_optimiser_at_scale(large, targets) -> None:
    milp, greedy, bound = large["milp"], large["greedy"], large["bound"]
    print(
        f"Optimiser on {large['parcels']:,} tiled parcels x {large['measures']} "
        f"measures ({large['candidates']:,} parcel-measure pairs where a measure "
        f"applies), the same {len(targets)} targets. The MILP stops at a relative "
        f"gap of {LARGE_MIP_GAP:.1%} or after {LARGE_TIME_LIMIT_S:.0f} s; the LP "
        "bound is the cost of the linear relaxation, below which no plan can be."
    )
    print()
    print("| method | status | annualised cost EUR/yr | vs LP bound | seconds |")
    print("|---|---|---|---|---|")
    for item in (milp, greedy):
        gap = "" if bound in (None, 0) else f"{item.annualised_cost / bound - 1:+.2%}"
        print(
            f"| {item.method} | {item.status} | {item.annualised_cost:,.0f} | "
            f"{gap} | {item.solve_seconds:.2f} |"
        )
    bound_text = "infeasible" if bound is None else f"{bound:,.0f}"
    print(f"| LP bound | | {bound_text} | | {large['bound_seconds']:.2f} |")


if __name__ == "__main__":
    main()
