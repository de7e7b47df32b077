"""Results of a scenario: KPI table, costs, farm effects and their summaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from geo_dashboard.measures.library import VARIANTS, Variant

if TYPE_CHECKING:
    from geo_dashboard.measures.engine import ScenarioEngine

NO_MEASURE = ""
# NOTE: one-off costs are spread over this many years in annualised costs and
# in the optimiser's objective. It is a default planning period, not a value
# from a source; callers can pass another.
PLANNING_YEARS = 10


@dataclass
class ScenarioResult:
    """KPI changes, costs, farm effects and per-parcel differences of a scenario."""

    kpis: pd.DataFrame
    costs: pd.DataFrame
    farm_effects: pd.DataFrame
    parcel_diff: pd.DataFrame
    planning_years: int = PLANNING_YEARS
    notes: list[str] = field(default_factory=list)

    def total_cost(self) -> dict[str, float]:
        """Return annual, one-off and annualised total cost per variant, in EUR."""
        totals: dict[str, float] = {}
        for variant in VARIANTS:
            annual = float(self.costs[f"annual_{variant}"].sum())
            one_off = float(self.costs[f"one_off_{variant}"].sum())
            totals[f"annual_{variant}"] = annual
            totals[f"one_off_{variant}"] = one_off
            totals[f"annualised_{variant}"] = annual + one_off / self.planning_years
        return totals

    def cost_per_gain(self) -> pd.DataFrame:
        """Return the annualised mid cost per unit of KPI improvement.

        Only KPIs that improve (in their own direction) get a cost per unit;
        the others get NaN.
        """
        cost = self.total_cost()["annualised_mid"]
        frame = self.kpis[["kpi_id", "kind", "unit", "direction", "change_mid"]].copy()
        sign = np.where(frame["direction"] == "higher", 1.0, -1.0)
        gain = frame["change_mid"].astype("float64") * sign
        frame["gain_mid"] = gain
        frame["eur_per_unit"] = np.where(gain > 0, cost / gain.where(gain > 0), np.nan)
        return frame


def measure_masks(assignment: np.ndarray) -> dict[str, np.ndarray]:
    """Return a boolean row mask per measure in ``assignment``, in order of use."""
    codes, uniques = pd.factorize(np.asarray(assignment, dtype=object))
    return {
        str(measure_id): codes == index
        for index, measure_id in enumerate(uniques)
        if measure_id != NO_MEASURE
    }


def kpi_frame(
    engine: ScenarioEngine, values: dict[Variant, dict[str, float | None]]
) -> pd.DataFrame:
    rows = []
    for item in engine.kpis:
        definition = item.definition
        kpi_id = definition.id
        current = engine.current_values.get(kpi_id)
        row = {
            "kpi_id": kpi_id,
            "kind": item.kind,
            "status": item.status,
            "theme": definition.theme,
            "name_nl": definition.name.nl,
            "name_en": definition.name.en,
            "unit": definition.unit,
            "direction": definition.direction,
            "current": current,
            "target_value": item.target_value,
            "target_year": item.target_year,
            "missing": ", ".join(item.missing),
        }
        for variant in VARIANTS:
            value = values[variant].get(kpi_id, current)
            if item.status != "computed":
                value = current
            row[variant] = value
            row[f"change_{variant}"] = (
                None if value is None or current is None else value - current
            )
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in (
        "current",
        "low",
        "mid",
        "high",
        "change_low",
        "change_mid",
        "change_high",
        "target_value",
    ):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["range_min"] = frame[["low", "mid", "high"]].min(axis=1)
    frame["range_max"] = frame[["low", "mid", "high"]].max(axis=1)
    higher = frame["direction"] == "higher"
    reached = np.where(
        higher,
        frame["mid"] >= frame["target_value"],
        frame["mid"] <= frame["target_value"],
    )
    known = frame["mid"].notna() & frame["target_value"].notna()
    frame["reaches_target_mid"] = pd.Series(reached, dtype="boolean").where(known)
    return frame


def cost_frame(engine: ScenarioEngine, masks: dict[str, np.ndarray]) -> pd.DataFrame:
    """Return parcels, area and cost per measure, per variant, in EUR."""
    rows = []
    for measure_id, mask in masks.items():
        measure = engine.library.get(measure_id)
        treated = float(engine.treated_area(measure_id)[mask].sum())
        row = {
            "measure_id": measure_id,
            "parcels": int(mask.sum()),
            "area_ha": float(engine.area_ha[mask].sum()),
            "treated_ha": treated,
        }
        for variant in VARIANTS:
            row[f"annual_{variant}"] = treated * measure.cost.annual_eur_ha.get(variant)
            row[f"one_off_{variant}"] = treated * measure.cost.one_off_eur_ha.get(
                variant
            )
        rows.append(row)
    columns = ["measure_id", "parcels", "area_ha", "treated_ha"] + [
        f"{kind}_{variant}" for kind in ("annual", "one_off") for variant in VARIANTS
    ]
    return pd.DataFrame(rows, columns=columns)


def farm_frame(engine: ScenarioEngine, masks: dict[str, np.ndarray]) -> pd.DataFrame:
    """Return the farm effects per farm, or for the whole area without ``farm_id``.

    Income and workload are totals per year. The yield change is the mean
    over the treated area of the measures that give one, weighted by area.
    """
    if "farm_id" in engine.table:
        codes, farms = pd.factorize(engine.table["farm_id"].astype(str))
    else:
        codes, farms = np.zeros(len(engine.table), dtype=int), np.array(["area"])
    count = len(farms)
    totals: dict[str, np.ndarray] = {}

    def add(name: str, rows: np.ndarray, weights: np.ndarray | None) -> None:
        sums = np.bincount(codes[rows], weights=weights, minlength=count)
        totals[name] = totals.get(name, np.zeros(count)) + sums

    for measure_id, rows in masks.items():
        farm = engine.library.get(measure_id).farm
        treated = engine.treated_area(measure_id)[rows]
        add("treated_ha", rows, treated)
        add("parcels", rows, None)
        if farm.yield_change_pct is not None:
            add("yield_weight", rows, treated)
        for variant in VARIANTS:
            add(
                f"income_eur_yr_{variant}",
                rows,
                treated * farm.income_eur_ha_yr.get(variant),
            )
            if farm.workload_h_ha_yr is not None:
                workload = treated * farm.workload_h_ha_yr.get(variant)
                add(f"workload_h_yr_{variant}", rows, workload)
            if farm.yield_change_pct is not None:
                change = treated * farm.yield_change_pct.get(variant)
                add(f"yield_sum_{variant}", rows, change)

    frame = pd.DataFrame({"farm_id": np.asarray(farms, dtype=object)})
    zeros = np.zeros(count)
    frame["treated_ha"] = totals.get("treated_ha", zeros)
    frame["parcels"] = totals.get("parcels", zeros).astype(int)
    for name in ("income_eur_yr", "workload_h_yr"):
        for variant in VARIANTS:
            frame[f"{name}_{variant}"] = totals.get(f"{name}_{variant}", zeros)
    weight = totals.get("yield_weight", zeros)
    for variant in VARIANTS:
        sums = totals.get(f"yield_sum_{variant}", zeros)
        frame[f"yield_change_pct_{variant}"] = np.where(
            weight > 0, sums / np.where(weight > 0, weight, 1.0), np.nan
        )
    return frame[frame["parcels"] > 0].reset_index(drop=True)
