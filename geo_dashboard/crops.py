"""BRP crop codes to land-use class, crop group and KPI flags."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from geo_dashboard.errors import ConfigError
from geo_dashboard.paths import package_data

logger = logging.getLogger(__name__)

CROP_COLUMNS = [
    "crop_code",
    "crop_name",
    "brp_category",
    "land_use",
    "crop_group",
    "permanent_grassland",
    "agri_environment",
    "nitrate_leaching_risk",
    "source",
]
LAND_USES = {"arable", "grassland", "fallow", "horticulture", "fruit", "nature"}
UNKNOWN = "unknown"


def load_crop_table(path: Path | None = None) -> pd.DataFrame:
    """Read and check the crop-code table, indexed by integer crop code."""
    path = path or package_data("crop_codes.csv")
    table = pd.read_csv(path, dtype={"crop_code": "Int64"})
    missing = [name for name in CROP_COLUMNS if name not in table.columns]
    if missing:
        raise ConfigError(f"crop table {path} lacks column(s) {', '.join(missing)}.")
    duplicated = table["crop_code"][table["crop_code"].duplicated()].tolist()
    if duplicated:
        raise ConfigError(f"crop table {path}: crop codes listed twice: {duplicated}.")
    bad = sorted(set(table["land_use"]) - LAND_USES)
    if bad:
        raise ConfigError(
            f"crop table {path}: unknown land_use value(s) {bad}; "
            f"use one of {sorted(LAND_USES)}."
        )
    return table.set_index("crop_code")


def classify_crops(codes: pd.Series, table: pd.DataFrame, layer_id: str) -> pd.DataFrame:
    """Look up each crop code; unknown codes get land use ``unknown``.

    Returns a frame aligned to ``codes`` with crop name, BRP category, land
    use, crop group and the boolean flags ``permanent_grassland``,
    ``agri_environment``, ``nitrate_risk_high`` and ``arable``.
    """
    numeric = pd.to_numeric(codes, errors="coerce").astype("Int64")
    known = numeric.isin(table.index)
    unknown_codes = sorted(set(codes[~known].astype(str)))
    if unknown_codes:
        logger.warning(
            "layer %s: %d parcels have crop codes missing from the crop table "
            "(%s); they count as land use 'unknown'",
            layer_id, int((~known).sum()), ", ".join(unknown_codes[:20]),
        )
    looked_up = table.reindex(numeric.to_numpy())
    looked_up.index = codes.index
    result = pd.DataFrame(index=codes.index)
    result["crop_code"] = numeric
    result["crop_name"] = looked_up["crop_name"].fillna(UNKNOWN)
    result["brp_category"] = looked_up["brp_category"].fillna(UNKNOWN)
    result["land_use"] = looked_up["land_use"].fillna(UNKNOWN)
    result["crop_group"] = looked_up["crop_group"].fillna(UNKNOWN)
    result["permanent_grassland"] = looked_up["permanent_grassland"].fillna(0).astype(bool)
    result["agri_environment"] = looked_up["agri_environment"].fillna(0).astype(bool)
    result["nitrate_risk_high"] = looked_up["nitrate_leaching_risk"].eq("high")
    result["arable"] = looked_up["brp_category"].eq("Bouwland")
    return result
