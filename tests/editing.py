"""Helpers that change a sandbox copy of the layers and configs for one test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import yaml

from geo_dashboard.paths import ProjectPaths


def set_catalog(paths: ProjectPaths, layer_id: str, **changes) -> None:
    """Change keys of one catalogue entry."""
    path = paths.layers / "catalog.yaml"
    catalog = yaml.safe_load(path.read_text(encoding="utf-8"))
    for entry in catalog["layers"]:
        if entry["id"] == layer_id:
            entry.update(changes)
    path.write_text(yaml.safe_dump(catalog, allow_unicode=True), encoding="utf-8")


def edit_config(paths: ProjectPaths, area: str, edit: Callable[[dict], None]) -> None:
    """Load an area config, let ``edit`` change the dict, and write it back."""
    path = paths.configs / f"{area}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def rewrite_vector(
    path: Path, layer: str, edit: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame], **options
) -> None:
    """Replace a GeoPackage layer with an edited copy of itself."""
    gdf = edit(gpd.read_file(path, layer=layer))
    path.unlink()
    gdf.to_file(path, layer=layer, driver="GPKG", **options)


def rewrite_raster(
    path: Path, edit: Callable[[np.ndarray, dict], tuple[np.ndarray, dict]]
) -> None:
    """Replace a single-band GeoTIFF with edited values and profile."""
    with rasterio.open(path) as dataset:
        profile = dataset.profile
        values = dataset.read(1)
    values, profile = edit(values, profile)
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(values, 1)
