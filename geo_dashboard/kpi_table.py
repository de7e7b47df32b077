"""The KPI table of an area: value, baseline, target, progress and gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo_dashboard.catalog import Catalog
from geo_dashboard.config import AreaConfig
from geo_dashboard.kpis import KpiDefinition, KpiLibrary, aggregate, group_values
from geo_dashboard.progress import compute_progress

KPI_COLUMNS = [
    "kpi_id",
    "theme",
    "name_nl",
    "name_en",
    "unit",
    "direction",
    "status",
    "value",
    "data_year",
    "missing_layers",
    "baseline_value",
    "baseline_year",
    "baseline_basis",
    "baseline_source",
    "target_value",
    "target_year",
    "target_basis",
    "target_source",
    "progress",
    "expected_progress",
    "source",
    "quality",
]


def area_kpi_table(
    config: AreaConfig,
    library: KpiLibrary,
    catalog: Catalog,
    tables: dict[str, pd.DataFrame],
) -> pd.DataFrame:
    """Compute every KPI of the area config over the build's tables.

    A KPI whose required layer roles are missing from the area gets status
    ``gap`` and names the missing roles; its value stays empty, never 0.
    """
    rows = []
    for area_kpi in config.kpis:
        kpi = library.get(area_kpi.id)
        missing = config.missing_roles(kpi.requires)
        value = None if missing else aggregate(kpi, tables[kpi.table])
        year = _data_year(kpi, config, catalog)
        progress = compute_progress(
            value,
            year,
            area_kpi.baseline.value,
            area_kpi.baseline.year,
            area_kpi.target.value,
            area_kpi.target.year,
            kpi.direction,
        )
        rows.append(
            {
                "kpi_id": kpi.id,
                "theme": kpi.theme,
                "name_nl": kpi.name.nl,
                "name_en": kpi.name.en,
                "unit": kpi.unit,
                "direction": kpi.direction,
                "status": progress.status,
                "value": value,
                "data_year": year,
                "missing_layers": ", ".join(missing),
                "baseline_value": area_kpi.baseline.value,
                "baseline_year": area_kpi.baseline.year,
                "baseline_basis": area_kpi.baseline.basis,
                "baseline_source": area_kpi.baseline.source,
                "target_value": area_kpi.target.value,
                "target_year": area_kpi.target.year,
                "target_basis": area_kpi.target.basis,
                "target_source": area_kpi.target.source,
                "progress": progress.fraction,
                "expected_progress": progress.expected,
                "source": kpi.source,
                "quality": kpi.quality,
            }
        )
    return pd.DataFrame(rows, columns=KPI_COLUMNS)


FARM_KPI_COLUMNS = ["farm_id", "kpi_id", "value", "area_ha", "parcels"]


def farm_kpi_table(
    config: AreaConfig, library: KpiLibrary, parcels: pd.DataFrame
) -> pd.DataFrame:
    """Compute each parcel-based KPI per farm, for parcels with a farm id.

    Rows are sorted by farm, then by the KPI order of the area config.
    """
    usable = [
        library.get(area_kpi.id)
        for area_kpi in config.kpis
        if library.get(area_kpi.id).table == "parcels"
        and not config.missing_roles(library.get(area_kpi.id).requires)
    ]
    farmed = parcels[parcels["farm_id"].notna()]
    if farmed.empty or not usable:
        return pd.DataFrame(columns=FARM_KPI_COLUMNS)
    keys = farmed["farm_id"]
    area = farmed.groupby(keys, sort=True)["area_ha"].sum()
    count = farmed.groupby(keys, sort=True).size()
    values = group_values(usable, farmed, keys).reindex(area.index)
    # One row per farm and KPI: farms sorted, KPIs in the config's order.
    kpi_count = len(usable)
    return pd.DataFrame(
        {
            "farm_id": area.index.repeat(kpi_count),
            "kpi_id": np.tile(
                np.array([kpi.id for kpi in usable], dtype=object), len(area)
            ),
            "value": values[[kpi.id for kpi in usable]].to_numpy().ravel(),
            "area_ha": np.repeat(area.to_numpy(), kpi_count),
            "parcels": np.repeat(count.to_numpy(), kpi_count),
        }
    )


def _data_year(kpi: KpiDefinition, config: AreaConfig, catalog: Catalog) -> int | None:
    # A value is only as recent as its oldest input layer.
    years = []
    for role in kpi.requires:
        ref = config.layer_ref(role)
        if ref is not None:
            years.append(catalog.layer(ref.layer).year)
    return min(years) if years else None
