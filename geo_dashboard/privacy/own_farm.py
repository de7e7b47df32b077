"""A farm seen by someone allowed to see it: its measures, effects and costs.

Each measure of the library is tried alone on the parcels of the farm where
it applies, with the scenario engine, so the numbers are computed exactly as
on the scenario page. The farm must be visible in the viewer's
:class:`~geo_dashboard.privacy.disclosure.Disclosure`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo_dashboard.measures.engine import ScenarioEngine
from geo_dashboard.measures.library import VARIANTS
from geo_dashboard.measures.results import PLANNING_YEARS
from geo_dashboard.privacy.disclosure import Disclosure

MEASURE_COLUMNS = [
    "measure_id",
    "parcels",
    "treated_ha",
    *(f"annual_{v}" for v in VARIANTS),
    *(f"one_off_{v}" for v in VARIANTS),
    "annualised_mid",
    *(f"income_eur_yr_{v}" for v in VARIANTS),
]
EFFECT_COLUMNS = [
    "measure_id",
    "kpi_id",
    "kind",
    "unit",
    "direction",
    *(f"change_{v}" for v in VARIANTS),
]


@dataclass(frozen=True)
class FarmMeasures:
    """The measures that apply to a farm's parcels, each applied on its own.

    ``measures`` has one row per measure with the number of parcels, the
    treated area (ha), annual and one-off cost (EUR, low/mid/high), the
    annualised mid cost and the change of farm income (EUR/yr). ``effects``
    has one row per measure and KPI or indicator that the measure changes,
    with the change of the area value (low/mid/high).
    """

    farm_id: str
    measures: pd.DataFrame
    effects: pd.DataFrame


def farm_measures(
    engine: ScenarioEngine,
    disclosure: Disclosure,
    farm_id: str,
    planning_years: int = PLANNING_YEARS,
) -> FarmMeasures:
    """Apply each measure alone to the farm's parcels where it applies.

    Parameters
    ----------
    engine
        Scenario engine of the same build as ``disclosure``.
    disclosure
        What the viewer may see; the farm must be visible in it.
    farm_id
        The farm.
    planning_years
        Years over which one-off costs are spread in the annualised cost.

    Raises
    ------
    AccessDeniedError
        If the viewer may not see ``farm_id``.
    """
    parcel_ids = disclosure.farm_parcels(farm_id)["parcel_id"].astype(str)
    positions = engine.parcel_ids.get_indexer(parcel_ids)
    on_farm = np.zeros(len(engine.parcel_ids), dtype=bool)
    on_farm[positions[positions >= 0]] = True

    measure_rows = []
    effect_rows = []
    for measure in engine.library.measures:
        rows = on_farm & engine.applicable(measure.id)
        if not rows.any():
            continue
        assignment = engine.empty_assignment()
        assignment[rows] = measure.id
        result = engine.evaluate(assignment, planning_years)

        cost = result.costs.iloc[0]
        totals = result.total_cost()
        farm = result.farm_effects
        row = {
            "measure_id": measure.id,
            "parcels": int(rows.sum()),
            "treated_ha": float(cost["treated_ha"]),
            "annualised_mid": totals["annualised_mid"],
        }
        for variant in VARIANTS:
            row[f"annual_{variant}"] = float(cost[f"annual_{variant}"])
            row[f"one_off_{variant}"] = float(cost[f"one_off_{variant}"])
            income = farm[f"income_eur_yr_{variant}"].sum() if len(farm) else 0.0
            row[f"income_eur_yr_{variant}"] = float(income)
        measure_rows.append(row)

        kpis = result.kpis
        changed = kpis[kpis["change_mid"].fillna(0.0).abs() > 0]
        for kpi in changed.itertuples(index=False):
            effect_rows.append(
                {
                    "measure_id": measure.id,
                    "kpi_id": kpi.kpi_id,
                    "kind": kpi.kind,
                    "unit": kpi.unit,
                    "direction": kpi.direction,
                    **{f"change_{v}": getattr(kpi, f"change_{v}") for v in VARIANTS},
                }
            )
    return FarmMeasures(
        farm_id=farm_id,
        measures=pd.DataFrame(measure_rows, columns=MEASURE_COLUMNS),
        effects=pd.DataFrame(effect_rows, columns=EFFECT_COLUMNS),
    )
