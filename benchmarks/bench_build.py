"""Pilot build against reading its layers (the floor) and against a naive build.

Variants, all in one process and interleaved round by round:

- read layers: read the parcel, boundary and Natura 2000 layers with the
  product's reader and the NH3 grid with rasterio; nothing is computed.
- read inputs: the same plus the catalogue, area config and KPI definitions.
- build_area: the whole product build, written to a temporary folder.
- parcel_table: only the product's per-parcel step, layers included.
- naive parcel table: the same per-parcel table the way it is often written:
  ``geopandas.overlay`` for the Natura 2000 share, a loop over parcels for
  the distance, and a ``rasterio.mask`` loop over parcels for the exact
  area-weighted NH3 mean. Its table is checked against the product's.

Run ``python benchmarks/bench_build.py`` for this benchmark alone.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.mask
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    REPO,
    TIMING_HEADER,
    markdown_table,
    time_variants,
    timing_rows,
)

from geo_dashboard.attributes import LayerContext, parcel_table  # noqa: E402
from geo_dashboard.build import build_area  # noqa: E402
from geo_dashboard.catalog import Catalog, load_catalog  # noqa: E402
from geo_dashboard.config import AreaConfig, load_area_config  # noqa: E402
from geo_dashboard.crops import load_crop_table  # noqa: E402
from geo_dashboard.kpis import load_kpi_library  # noqa: E402
from geo_dashboard.layer_io import read_vector  # noqa: E402
from geo_dashboard.paths import ProjectPaths  # noqa: E402

AREA = "noordoostpolder"
# Columns compared between the naive and the product table, with the
# absolute tolerance of each numeric one.
COMPARED = {
    "area_ha": 1e-9,
    "n2000_share": 1e-9,
    "n2000_distance_m": 1e-6,
    "nh3_mean": 1e-6,
    "nh3_coverage": 1e-6,
}
COMPARED_TEXT = ("crop_code", "land_use")
# Functions whose cumulative time the profile table lists, by module and name.
PROFILED = (
    ("catalog.py", "load_catalog"),
    ("kpis.py", "load_kpi_library"),
    ("config.py", "load_area_config"),
    ("store/targets.py", "apply_store_targets"),
    ("layer_io.py", "read_vector"),
    ("layer_io.py", "repair_polygons"),
    ("spatial.py", "clip_to_boundary"),
    ("spatial.py", "area_share_inside"),
    ("spatial.py", "distance_to_nearest"),
    ("spatial.py", "zonal_statistics"),
    ("attributes.py", "nature_table"),
    ("kpi_table.py", "area_kpi_table"),
    ("kpi_table.py", "farm_kpi_table"),
    ("output.py", "write_tables"),
    ("store/builds.py", "record_build"),
)


def _pilot() -> tuple[ProjectPaths, Catalog, AreaConfig]:
    paths = ProjectPaths(
        layers=REPO / "layers", configs=REPO / "area_configs", builds=REPO / "build"
    )
    catalog = load_catalog(paths.layers)
    config = load_area_config(paths.configs, AREA, catalog, load_kpi_library())
    return paths, catalog, config


def read_layers(catalog: Catalog, config: AreaConfig) -> None:
    """Read every layer the pilot build reads, and nothing else."""
    fields = config.parcel_fields
    for role, columns in (
        ("parcels", [fields.parcel_id, fields.crop_code]),
        ("natura2000", None),
    ):
        entry = catalog.layer(config.layer_ref(role).layer)
        read_vector(catalog, entry, columns=columns)
    read_vector(catalog, catalog.layer(config.boundary.layer))
    raster = catalog.path(catalog.layer(config.layer_ref("nh3_concentration").layer))
    with rasterio.open(raster) as dataset:
        dataset.read(1, masked=True)


def read_inputs(paths: ProjectPaths) -> None:
    """Read the catalogue, KPI definitions, area config and layers."""
    catalog = load_catalog(paths.layers)
    config = load_area_config(paths.configs, AREA, catalog, load_kpi_library())
    read_layers(catalog, config)


def naive_parcel_table(catalog: Catalog, config: AreaConfig) -> pd.DataFrame:
    """Compute the pilot's per-parcel table without the product's vectorised steps."""
    fields = config.parcel_fields

    def path(layer_id: str) -> Path:
        return catalog.path(catalog.layer(layer_id))

    parcels = gpd.read_file(path(config.layer_ref("parcels").layer))
    parcels = parcels[[fields.parcel_id, fields.crop_code, "geometry"]]
    natura = gpd.read_file(path(config.layer_ref("natura2000").layer))
    aoi = gpd.read_file(path(config.boundary.layer))
    raster = path(config.layer_ref("nh3_concentration").layer)
    parcels["geometry"] = parcels.geometry.make_valid()
    natura["geometry"] = natura.geometry.make_valid()

    # The pilot outline is the AOI clipped to the extent of the parcels.
    extent = gpd.GeoDataFrame(
        geometry=[shapely.box(*parcels.total_bounds)], crs=aoi.crs
    )
    outline = gpd.overlay(aoi, extent, how="intersection")
    parcels = gpd.clip(parcels, outline).sort_index()
    parcels = parcels.rename(columns={fields.parcel_id: "parcel_id"})
    parcels["parcel_id"] = parcels["parcel_id"].astype(str)
    parcels["area_ha"] = parcels.area / 10_000

    crops = load_crop_table().reset_index()
    parcels = parcels.merge(
        crops[["crop_code", "land_use"]].astype({"crop_code": "int64"}),
        left_on=fields.crop_code,
        right_on="crop_code",
        how="left",
    )
    parcels["land_use"] = parcels["land_use"].fillna("unknown")

    pieces = gpd.overlay(
        parcels[["parcel_id", "geometry"]],
        natura[["geometry"]].dissolve(),
        how="intersection",
    )
    inside = pieces.area.groupby(pieces["parcel_id"]).sum()
    parcel_area = parcels.set_index("parcel_id").area
    share = (inside.reindex(parcel_area.index).fillna(0.0) / parcel_area).clip(0, 1)
    parcels["n2000_share"] = share.to_numpy()

    parcels["n2000_distance_m"] = [
        natura.distance(parcel).min() for parcel in parcels.geometry
    ]

    means, coverages = [], []
    with rasterio.open(raster) as dataset:
        for parcel in parcels.geometry:
            mean, coverage = _masked_mean(dataset, parcel)
            means.append(mean)
            coverages.append(coverage)
    parcels["nh3_mean"] = means
    parcels["nh3_coverage"] = coverages
    return pd.DataFrame(parcels.drop(columns="geometry"))


def _masked_mean(dataset, parcel: shapely.Geometry) -> tuple[float, float]:
    """Area-weighted mean of the cells a parcel touches, and its data share."""
    band, transform = rasterio.mask.mask(
        dataset, [parcel], crop=True, all_touched=True, filled=False
    )
    values = band[0]
    rows, cols = np.nonzero(~np.ma.getmaskarray(values))
    west, north = rasterio.transform.xy(transform, rows, cols, offset="ul")
    east, south = rasterio.transform.xy(transform, rows, cols, offset="lr")
    cells = shapely.box(
        np.asarray(west), np.asarray(south), np.asarray(east), np.asarray(north)
    )
    weights = shapely.area(shapely.intersection(cells, parcel))
    data = values.data[rows, cols].astype("float64")
    if weights.sum() == 0:
        return np.nan, 0.0
    return float((weights * data).sum() / weights.sum()), float(
        weights.sum() / parcel.area
    )


def check_equal(product: pd.DataFrame, naive: pd.DataFrame) -> int:
    """Assert that both tables hold the same parcels and values; return the count."""
    left = pd.DataFrame(product.drop(columns="geometry")).set_index("parcel_id")
    right = naive.set_index("parcel_id")
    assert set(left.index) == set(right.index), "the two tables hold different parcels"
    right = right.loc[left.index]
    for column, tolerance in COMPARED.items():
        np.testing.assert_allclose(
            right[column].to_numpy(dtype="float64"),
            left[column].to_numpy(dtype="float64"),
            rtol=0,
            atol=tolerance,
            err_msg=f"column {column} differs",
        )
    for column in COMPARED_TEXT:
        same = (
            right[column].astype(str).to_numpy() == left[column].astype(str).to_numpy()
        )
        assert same.all(), f"column {column} differs for {int((~same).sum())} parcels"
    return len(left)


def profile_build(paths: ProjectPaths) -> list[list[str]]:
    """Profile one build; return rows of function, cumulative s and share."""
    profiler = cProfile.Profile()
    profiler.enable()
    build_area(AREA, paths)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = max(entry[3] for entry in stats.values())
    rows = []
    for module, name in PROFILED:
        seconds = sum(
            entry[3]
            for (file, _, function), entry in stats.items()
            if function == name and file.endswith(f"geo_dashboard/{module}")
        )
        rows.append([f"`{name}`", f"{seconds:.3f}", f"{seconds / total:.0%}"])
    rows.append(["whole build (under the profiler)", f"{total:.3f}", "100%"])
    return rows


def run(repeats: int = 7, naive_repeats: int = 3) -> str:
    """Run the benchmark and return its markdown section."""
    paths, catalog, config = _pilot()
    with tempfile.TemporaryDirectory(prefix="bench-build-") as folder:
        build_paths = ProjectPaths(
            layers=paths.layers, configs=paths.configs, builds=Path(folder)
        )
        product, _ = parcel_table(
            LayerContext(config=config, catalog=catalog), lambda name: None
        )
        naive = naive_parcel_table(catalog, config)
        compared = check_equal(product, naive)

        variants = {
            "read layers (floor)": lambda: read_layers(catalog, config),
            "read layers and YAML inputs": lambda: read_inputs(paths),
            "build_area (product)": lambda: build_area(AREA, build_paths),
            "parcel_table (product)": lambda: parcel_table(
                LayerContext(config=config, catalog=catalog), lambda name: None
            ),
            "naive parcel table": lambda: naive_parcel_table(catalog, config),
        }
        counts = dict.fromkeys(variants, repeats)
        counts["naive parcel table"] = naive_repeats
        timings = time_variants(variants, counts)
        profile = profile_build(build_paths)

    floor = timings["read layers (floor)"].median
    inputs = timings["read layers and YAML inputs"].median
    build = timings["build_area (product)"].median
    step = timings["parcel_table (product)"].median
    naive_time = timings["naive parcel table"].median
    targets = [
        [
            "build_area / read layers",
            f"{build / floor:.1f}x",
            "<= 3x",
            _verdict(build / floor <= 3),
        ],
        [
            "build_area / read layers and YAML inputs",
            f"{build / inputs:.1f}x",
            "<= 3x",
            _verdict(build / inputs <= 3),
        ],
        [
            "naive parcel table / build_area",
            f"{naive_time / build:.1f}x",
            ">= 10x",
            _verdict(naive_time / build >= 10),
        ],
        [
            "naive parcel table / parcel_table",
            f"{naive_time / step:.1f}x",
            ">= 10x",
            _verdict(naive_time / step >= 10),
        ],
    ]
    return "\n\n".join(
        [
            "## Pilot build against the floor and a naive build",
            f"Pilot area `{AREA}`: {compared:,} parcels, 7 Natura 2000 sites, a 1 km "
            "NH3 grid. The naive table equals the product's for every parcel "
            "(checked in the run: areas and shares to 1e-9, distances and NH3 values "
            "to 1e-6, crop code and land use exactly).",
            markdown_table(TIMING_HEADER, timing_rows(timings, "read layers (floor)")),
            "Ratios against the targets:",
            markdown_table(["ratio", "measured", "target", "met"], targets),
            _floor_note(build / floor),
            "Where one build spends its time (cProfile, cumulative, one run; the "
            "profiler slows Python code more than native code):",
            markdown_table(["function", "s", "share"], profile),
        ]
    )


def _floor_note(ratio: float) -> str:
    if ratio <= 3:
        return "The build stays within three times the time to read its layers."
    return (
        f"The build takes {ratio:.1f} times the time to read its layers, not 3. "
        "Reading is only its first step: the exact geometry work (distances to "
        "Natura 2000 edges, zonal statistics on the NH3 grid, area shares), "
        "the geometry repairs, writing the tables atomically and recording the "
        "build in the SQLite store each take about as long as the read or "
        "longer, as the profile below shows. Each is already vectorised or "
        "done once per build, so the remaining gap is this work itself."
    )


def _verdict(met: bool) -> str:
    return "yes" if met else "**no**"


if __name__ == "__main__":
    print(run())
