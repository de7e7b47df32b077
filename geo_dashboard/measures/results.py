"""Results of a scenario: KPI table, costs, farm effects and their summaries."""

from __future__ import annotations

import weakref
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

# Farm code per parcel and farm ids of each engine, see _farm_codes.
_FARM_CODES: weakref.WeakKeyDictionary[
    ScenarioEngine, tuple[np.ndarray, np.ndarray]
] = weakref.WeakKeyDictionary()


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
    """Return one row per KPI: current value, value and change per variant, target.

    The frame is built column by column, because per-row dicts and per-column
    ``pd.to_numeric`` cost milliseconds for a few dozen KPIs.
    """
    text_columns = (
        "kpi_id",
        "kind",
        "status",
        "theme",
        "name_nl",
        "name_en",
        "unit",
        "direction",
    )
    columns: dict[str, list] = {name: [] for name in text_columns}
    columns["target_year"] = []
    columns["missing"] = []
    numbers: dict[str, list[float]] = {"current": [], "target_value": []}
    for variant in VARIANTS:
        numbers[variant] = []
        numbers[f"change_{variant}"] = []
    for item in engine.kpis:
        definition = item.definition
        kpi_id = definition.id
        current = engine.current_values.get(kpi_id)
        columns["kpi_id"].append(kpi_id)
        columns["kind"].append(item.kind)
        columns["status"].append(item.status)
        columns["theme"].append(definition.theme)
        columns["name_nl"].append(definition.name.nl)
        columns["name_en"].append(definition.name.en)
        columns["unit"].append(definition.unit)
        columns["direction"].append(definition.direction)
        columns["target_year"].append(item.target_year)
        columns["missing"].append(", ".join(item.missing))
        numbers["current"].append(_float_or_nan(current))
        numbers["target_value"].append(_float_or_nan(item.target_value))
        for variant in VARIANTS:
            value = values[variant].get(kpi_id, current)
            if item.status != "computed":
                value = current
            change = None if value is None or current is None else value - current
            numbers[variant].append(_float_or_nan(value))
            numbers[f"change_{variant}"].append(_float_or_nan(change))

    # Column order: text columns, current and target, then value and change
    # per variant, as callers and saved results expect.
    data: dict[str, object] = {name: columns[name] for name in text_columns}
    data["current"] = np.array(numbers["current"], dtype="float64")
    data["target_value"] = np.array(numbers["target_value"], dtype="float64")
    data["target_year"] = columns["target_year"]
    data["missing"] = columns["missing"]
    for variant in VARIANTS:
        data[variant] = np.array(numbers[variant], dtype="float64")
        change = numbers[f"change_{variant}"]
        data[f"change_{variant}"] = np.array(change, dtype="float64")
    low, mid, high = data["low"], data["mid"], data["high"]
    target = data["target_value"]
    # np.fmin and np.fmax skip NaN like DataFrame.min(axis=1) and max(axis=1).
    data["range_min"] = np.fmin(np.fmin(low, mid), high)
    data["range_max"] = np.fmax(np.fmax(low, mid), high)
    higher = np.array(columns["direction"], dtype=object) == "higher"
    reached = np.where(higher, mid >= target, mid <= target)
    known = ~np.isnan(mid) & ~np.isnan(target)
    reaches = pd.array(reached, dtype="boolean")
    reaches[~known] = pd.NA
    data["reaches_target_mid"] = reaches
    return pd.DataFrame(data)


def _float_or_nan(value: float | None) -> float:
    # The same conversion as pd.to_numeric(..., errors="coerce") on numbers.
    return np.nan if value is None else float(value)


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


def _farm_codes(engine: ScenarioEngine) -> tuple[np.ndarray, np.ndarray]:
    """Return the farm code of each parcel and the farm ids, cached per engine.

    Parcels without a ``farm_id`` column all belong to one farm, ``"area"``.
    The cache assumes that the engine's parcel table does not change, as the
    engine's own per-measure caches do.
    """
    cached = _FARM_CODES.get(engine)
    if cached is None:
        if "farm_id" in engine.table:
            codes, farms = pd.factorize(engine.table["farm_id"].astype(str))
            farms = np.asarray(farms, dtype=object)
        else:
            codes = np.zeros(len(engine.table), dtype=np.intp)
            farms = np.array(["area"], dtype=object)
        codes.flags.writeable = False
        cached = (codes, farms)
        _FARM_CODES[engine] = cached
    return cached


def farm_frame(engine: ScenarioEngine, masks: dict[str, np.ndarray]) -> pd.DataFrame:
    """Return the farm effects per farm, or for the whole area without ``farm_id``.

    Income and workload are totals per year. The yield change is the mean
    over the treated area of the measures that give one, weighted by area.
    """
    all_codes, farms = _farm_codes(engine)
    count = len(farms)
    totals: dict[str, np.ndarray] = {}

    def add(name: str, codes: np.ndarray, weights: np.ndarray | None) -> None:
        sums = np.bincount(codes, weights=weights, minlength=count)
        totals[name] = totals.get(name, np.zeros(count)) + sums

    for measure_id, rows in masks.items():
        farm = engine.library.get(measure_id).farm
        treated = engine.treated_area(measure_id)[rows]
        codes = all_codes[rows]
        add("treated_ha", codes, treated)
        add("parcels", codes, None)
        if farm.yield_change_pct is not None:
            add("yield_weight", codes, treated)
        for variant in VARIANTS:
            add(
                f"income_eur_yr_{variant}",
                codes,
                treated * farm.income_eur_ha_yr.get(variant),
            )
            if farm.workload_h_ha_yr is not None:
                workload = treated * farm.workload_h_ha_yr.get(variant)
                add(f"workload_h_yr_{variant}", codes, workload)
            if farm.yield_change_pct is not None:
                change = treated * farm.yield_change_pct.get(variant)
                add(f"yield_sum_{variant}", codes, change)

    frame = pd.DataFrame({"farm_id": farms.copy()})
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
