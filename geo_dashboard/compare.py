"""Comparison of areas on normalised KPI values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo_dashboard.kpis import KpiLibrary
from geo_dashboard.output import BuildOutput

COMPARISON_COLUMNS = [
    "area_id", "kpi_id", "theme", "unit", "status", "value", "missing_layers",
    "area_ha", "farmland_ha", "per_ha", "per_farmland_ha", "target_reached",
]


def comparison_table(builds: dict[str, BuildOutput], library: KpiLibrary) -> pd.DataFrame:
    """Put the KPIs of several areas side by side, normalised for their size.

    ``per_ha`` and ``per_farmland_ha`` divide a summed KPI (hectares,
    tonnes) by the area's total and farmland hectares; they stay empty for
    shares and means, which are already size-free. ``target_reached`` is
    the progress fraction from baseline to target (1 = reached). A KPI that
    is a data gap in an area keeps an empty value there, never 0.
    """
    rows = []
    for area_id, output in builds.items():
        area_ha = float(output.boundary.geometry.area.sum()) / 10_000
        farmland_ha = float(output.parcels["area_ha"].sum()) if len(output.parcels) else 0.0
        for row in output.kpis.itertuples(index=False):
            kpi = library.get(row.kpi_id)
            value = _number(row.value)
            summed = kpi.aggregation == "sum" and value is not None
            rows.append({
                "area_id": area_id,
                "kpi_id": row.kpi_id,
                "theme": row.theme,
                "unit": row.unit,
                "status": row.status,
                "value": value,
                "missing_layers": row.missing_layers if isinstance(row.missing_layers, str) else "",
                "area_ha": area_ha,
                "farmland_ha": farmland_ha,
                "per_ha": value / area_ha if summed and area_ha > 0 else None,
                "per_farmland_ha": value / farmland_ha if summed and farmland_ha > 0 else None,
                "target_reached": _number(row.progress),
            })
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def theme_progress(table: pd.DataFrame) -> pd.DataFrame:
    """Return the mean target fraction per area and theme, for a progress chart.

    KPIs without a target or value are left out; a theme with no such KPI
    in an area is missing from the result rather than 0.
    """
    known = table.dropna(subset=["target_reached"])
    clipped = known.assign(target_reached=known["target_reached"].clip(-1.0, 1.0))
    return (
        clipped.groupby(["area_id", "theme"], as_index=False)["target_reached"]
        .mean()
        .rename(columns={"target_reached": "mean_target_reached"})
    )


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if np.isnan(number) else number
