"""Area aggregates of farm-level values with small-group and dominance suppression.

An aggregate is computed over the farms that consented to their use in
aggregates. It is suppressed, with the reason, when

- no consenting farm has a value (``no_data``),
- fewer than ``min_farms`` consenting farms contribute (``too_few_farms``), or
- one farm's contribution is more than ``dominance_share`` of the sum of all
  contributions (``dominance``).

A farm's contribution is the absolute value of its part of the aggregate's
numerator: its total for a sum, the sum of value x weight over its parcels
for a share or weighted mean, and its weight (e.g. hectares) for the
Shannon index. A suppressed aggregate has no value and no farm count.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Literal

import numpy as np
import pandas as pd

from geo_dashboard.config import PrivacyRules
from geo_dashboard.expressions import evaluate
from geo_dashboard.farm_import import FIELDS_BY_NAME
from geo_dashboard.kpis import KpiDefinition, KpiLibrary, aggregate

logger = logging.getLogger(__name__)

SuppressionReason = Literal["no_data", "too_few_farms", "dominance"]
AGGREGATE_COLUMNS = [
    "source",
    "metric",
    "year",
    "unit",
    "aggregation",
    "value",
    "farms",
    "suppressed",
    "reason",
]
# Aggregation of each imported farm figure over farms. Totals are summed, and
# figures per hectare or per farm are averaged weighted by farm area (ha).
FARM_DATA_AGGREGATION: dict[str, Literal["sum", "weighted_mean"]] = {
    "n_soil_surplus_kg_ha": "weighted_mean",
    "nh3_emission_kg_ha": "weighted_mean",
    "ghg_emission_t_co2e": "sum",
    "protein_own_land_pct": "weighted_mean",
    "grazing_days": "weighted_mean",
}


def suppression_reason(
    contributions: pd.Series, rules: PrivacyRules
) -> SuppressionReason | None:
    """Return why an aggregate must be suppressed, or None if it may be shown.

    Parameters
    ----------
    contributions
        One non-negative number per contributing farm.
    rules
        Minimum number of farms and the largest allowed share of one farm.
    """
    if contributions.empty:
        return "no_data"
    if len(contributions) < rules.min_farms:
        return "too_few_farms"
    total = float(contributions.sum())
    if total > 0 and float(contributions.max()) / total > rules.dominance_share:
        return "dominance"
    return None


def _row(
    source: str,
    metric: str,
    year: int | None,
    unit: str,
    aggregation: str,
    value: float | None,
    contributions: pd.Series,
    rules: PrivacyRules,
) -> dict[str, object]:
    reason = suppression_reason(contributions, rules)
    disclosed = reason is None
    return {
        "source": source,
        "metric": metric,
        "year": year,
        "unit": unit,
        "aggregation": aggregation,
        "value": value if disclosed else None,
        "farms": len(contributions) if disclosed else None,
        "suppressed": not disclosed,
        "reason": reason,
    }


def _kpi_contributions(kpi: KpiDefinition, table: pd.DataFrame) -> pd.Series:
    """Return each farm's absolute contribution to ``kpi`` over ``table``."""
    what = f"KPI {kpi.id!r}"
    farms = table["farm_id"]
    if kpi.aggregation == "shannon":
        weights = evaluate(kpi.weight or "1", table, what)
        valid = weights.notna() & table[kpi.category].notna() & (weights > 0)
        return weights[valid].groupby(farms[valid]).sum().abs()

    values = evaluate(kpi.value or "0", table, what)
    if kpi.aggregation == "sum":
        valid = values.notna()
        return values[valid].groupby(farms[valid]).sum().abs()

    weights = evaluate(kpi.weight or "1", table, what)
    valid = values.notna() & weights.notna()
    weight_sums = weights[valid].groupby(farms[valid]).sum()
    # A farm whose weights sum to 0 has no value of its own and does not count.
    counted = weight_sums.index[weight_sums != 0]
    if kpi.aggregation == "share":
        numerator = values[valid]
    else:
        numerator = values[valid] * weights[valid]
    sums = numerator.groupby(farms[valid]).sum().abs()
    return sums.reindex(counted)


def kpi_aggregates(
    parcels: pd.DataFrame,
    kpi_ids: Iterable[str],
    library: KpiLibrary,
    farms: frozenset[str],
    rules: PrivacyRules,
) -> list[dict[str, object]]:
    """Aggregate parcel-based farm KPIs over the parcels of ``farms``.

    Parameters
    ----------
    parcels
        The build's parcel table with ``farm_id`` for every farmed parcel.
    kpi_ids
        KPIs of the build's farm KPI table.
    library
        KPI definitions.
    farms
        Farms that consented to the use of their data in aggregates.
    rules
        Suppression rules of the area.
    """
    table = (
        parcels[parcels["farm_id"].isin(farms)]
        if "farm_id" in parcels
        else parcels.iloc[:0]
    )
    rows = []
    for kpi_id in kpi_ids:
        kpi = library.get(kpi_id)
        if not kpi.columns <= set(table.columns):
            continue
        contributions = _kpi_contributions(kpi, table)
        value = aggregate(kpi, table) if not contributions.empty else None
        rows.append(
            _row(
                "kpi",
                kpi_id,
                None,
                kpi.unit,
                kpi.aggregation,
                value,
                contributions,
                rules,
            )
        )
    return rows


def farm_data_aggregates(
    farm_data: pd.DataFrame,
    farm_area_ha: pd.Series,
    farms: frozenset[str],
    rules: PrivacyRules,
) -> list[dict[str, object]]:
    """Aggregate imported farm figures per field and year over ``farms``.

    Parameters
    ----------
    farm_data
        Farm figures in force (``geo_dashboard.store.farm_data``): ``farm_id``,
        ``year`` and one column per field.
    farm_area_ha
        Parcel area of each farm in hectares, indexed by farm id; the weight
        of averaged figures.
    farms
        Farms that consented to the use of their data in aggregates.
    rules
        Suppression rules of the area.
    """
    rows = []
    if farm_data.empty:
        return rows
    consenting = farm_data[farm_data["farm_id"].isin(farms)]
    for year in sorted(farm_data["year"].unique()):
        in_year = consenting[consenting["year"] == year]
        for field, method in FARM_DATA_AGGREGATION.items():
            if field not in farm_data:
                continue
            present = in_year[in_year[field].notna()]
            values = present.set_index("farm_id")[field].astype("float64")
            value: float | None = None
            if method == "sum":
                contributions = values.abs()
                if not values.empty:
                    value = float(values.sum())
            else:
                weights = farm_area_ha.reindex(values.index).fillna(0.0)
                counted = weights > 0
                values, weights = values[counted], weights[counted]
                contributions = (values * weights).abs()
                if not values.empty:
                    value = float(np.average(values, weights=weights))
            rows.append(
                _row(
                    "farm_data",
                    field,
                    int(year),
                    FIELDS_BY_NAME[field].unit,
                    method,
                    value,
                    contributions,
                    rules,
                )
            )
    return rows


def aggregate_table(rows: list[dict[str, object]]) -> pd.DataFrame:
    """Return aggregate rows as a table with :data:`AGGREGATE_COLUMNS`."""
    table = pd.DataFrame(rows, columns=AGGREGATE_COLUMNS)
    table["value"] = pd.to_numeric(table["value"], errors="coerce").astype("float64")
    table["farms"] = pd.array(table["farms"], dtype="Int64")
    table["year"] = pd.array(table["year"], dtype="Int64")
    table["suppressed"] = table["suppressed"].astype(bool)
    return table
