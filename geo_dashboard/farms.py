"""Farms: the parcel-to-farm register, and farm totals rolled up to the area.

Public parcel data carries no farm id. Farms come from a register file
(``parcel_id,farm_id``) that the area coordinator imports. For the pilot the
project ships an *illustrative* register made by :func:`illustrative_register`:
it groups real parcels by a fixed rule and does not describe real farms.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_dashboard.errors import LayerError
from geo_dashboard.kpis import KpiLibrary, aggregate

logger = logging.getLogger(__name__)

ILLUSTRATIVE_PREFIX = "ILLUSTRATIEF"
REGISTER_COLUMNS = ["parcel_id", "farm_id"]


def illustrative_register(parcels: gpd.GeoDataFrame, cell_m: float = 1000.0) -> pd.DataFrame:
    """Group parcels into illustrative farms by a square grid in EPSG:28992.

    Each parcel goes to the grid cell of its representative point (a point
    inside the parcel); each cell is one farm, named
    ``ILLUSTRATIEF-<x km>-<y km>`` after the cell's south-west corner.
    The rule is reproducible and yields farms of up to ``cell_m``² of land,
    but the farms are not real.
    """
    points = parcels.geometry.representative_point()
    column = np.floor(points.x / cell_m).astype(int)
    row = np.floor(points.y / cell_m).astype(int)
    scale = cell_m / 1000
    farm_ids = [
        f"{ILLUSTRATIVE_PREFIX}-{c * scale:g}-{r * scale:g}" for c, r in zip(column, row, strict=True)
    ]
    return pd.DataFrame({"parcel_id": parcels["parcel_id"].astype(str).to_numpy(), "farm_id": farm_ids})


def read_register(path: Path) -> pd.DataFrame:
    """Read and check a parcel-to-farm register CSV.

    Raises
    ------
    LayerError
        If a column is missing, a row lacks a value, or a parcel is listed
        twice; the message names the file, row and column.
    """
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [name for name in REGISTER_COLUMNS if name not in table.columns]
    if missing:
        raise LayerError(
            f"farm register {path}: missing column(s) {', '.join(missing)}; the file "
            f"needs the columns {', '.join(REGISTER_COLUMNS)}."
        )
    for column in REGISTER_COLUMNS:
        blank = table.index[table[column].str.strip() == ""]
        if len(blank):
            raise LayerError(
                f"farm register {path}: row {blank[0] + 2}, column {column!r} is empty; "
                "every row needs a parcel id and a farm id."
            )
    duplicated = table.index[table["parcel_id"].duplicated()]
    if len(duplicated):
        row = duplicated[0]
        raise LayerError(
            f"farm register {path}: row {row + 2}: parcel {table.at[row, 'parcel_id']!r} "
            "is listed twice; a parcel belongs to one farm."
        )
    return table[REGISTER_COLUMNS]


def attach_farms(parcels: gpd.GeoDataFrame, register: pd.DataFrame) -> gpd.GeoDataFrame:
    """Add a ``farm_id`` column from ``register``; unregistered parcels get none."""
    lookup = register.set_index("parcel_id")["farm_id"]
    result = parcels.copy()
    result["farm_id"] = result["parcel_id"].astype(str).map(lookup)
    unregistered = int(result["farm_id"].isna().sum())
    if unregistered:
        logger.info("%d parcels are not in the farm register", unregistered)
    unknown = len(set(register["parcel_id"]) - set(result["parcel_id"].astype(str)))
    if unknown:
        logger.info("%d register rows name parcels that are not in the area", unknown)
    return result


def farm_contributions(
    parcels: pd.DataFrame, kpi_ids: list[str], library: KpiLibrary, targets: dict[str, float]
) -> pd.DataFrame:
    """Compute each farm's KPI value, share of the area total and proportional task.

    For a summed KPI, ``share_of_area`` is the farm's part of the area total,
    and ``task_per_ha`` is the change per hectare that the area needs from
    every hectare if each farm did its proportional part:
    (target - current area total) / area hectares. For shares and means the
    farm value is compared with the area target directly
    (``gap_to_target``). Only parcels with a farm id take part.
    """
    farmed = parcels[parcels["farm_id"].notna()]
    area_ha = float(farmed["area_ha"].sum())
    rows = []
    for kpi_id in kpi_ids:
        kpi = library.get(kpi_id)
        if not kpi.columns <= set(farmed.columns):
            continue
        area_value = aggregate(kpi, farmed)
        target = targets.get(kpi_id)
        for farm_id, farm in farmed.groupby("farm_id", sort=True):
            value = aggregate(kpi, farm)
            farm_ha = float(farm["area_ha"].sum())
            row = {
                "farm_id": farm_id, "kpi_id": kpi_id, "value": value, "area_ha": farm_ha,
                "share_of_area": None, "task_per_ha": None, "farm_task": None,
                "gap_to_target": None,
            }
            if kpi.aggregation == "sum" and area_value:
                row["share_of_area"] = (value or 0.0) / area_value
            if kpi.aggregation == "sum" and target is not None and area_value is not None:
                per_ha = (target - area_value) / area_ha if area_ha else None
                row["task_per_ha"] = per_ha
                row["farm_task"] = per_ha * farm_ha if per_ha is not None else None
            elif target is not None and value is not None:
                row["gap_to_target"] = target - value
            rows.append(row)
    return pd.DataFrame(rows)
