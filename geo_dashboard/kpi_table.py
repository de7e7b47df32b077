"""The KPI table of an area: value, baseline, target, progress and gaps."""

from __future__ import annotations

import pandas as pd

from geo_dashboard.catalog import Catalog
from geo_dashboard.config import AreaConfig
from geo_dashboard.kpis import KpiDefinition, KpiLibrary, aggregate
from geo_dashboard.progress import compute_progress

KPI_COLUMNS = [
    "kpi_id", "theme", "name_nl", "name_en", "unit", "direction", "status",
    "value", "data_year", "missing_layers", "baseline_value", "baseline_year",
    "baseline_basis", "baseline_source", "target_value", "target_year",
    "target_basis", "target_source", "progress", "expected_progress",
    "source", "quality",
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
            value, year,
            area_kpi.baseline.value, area_kpi.baseline.year,
            area_kpi.target.value, area_kpi.target.year,
            kpi.direction,
        )
        rows.append({
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
        })
    return pd.DataFrame(rows, columns=KPI_COLUMNS)


def farm_kpi_table(
    config: AreaConfig, library: KpiLibrary, parcels: pd.DataFrame
) -> pd.DataFrame:
    """Compute each parcel-based KPI per farm, for parcels with a farm id."""
    rows = []
    kpis = [library.get(k.id) for k in config.kpis]
    usable = [
        kpi for kpi in kpis
        if kpi.table == "parcels" and not config.missing_roles(kpi.requires)
    ]
    for farm_id, farm_parcels in parcels.groupby("farm_id", sort=True):
        for kpi in usable:
            rows.append({
                "farm_id": farm_id,
                "kpi_id": kpi.id,
                "value": aggregate(kpi, farm_parcels),
                "area_ha": float(farm_parcels["area_ha"].sum()),
                "parcels": len(farm_parcels),
            })
    return pd.DataFrame(rows, columns=["farm_id", "kpi_id", "value", "area_ha", "parcels"])


def _data_year(kpi: KpiDefinition, config: AreaConfig, catalog: Catalog) -> int | None:
    # A value is only as recent as its oldest input layer.
    years = []
    for role in kpi.requires:
        ref = config.layer_ref(role)
        if ref is not None:
            years.append(catalog.layer(ref.layer).year)
    return min(years) if years else None
