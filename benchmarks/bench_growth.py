"""Build time and peak memory as the pilot is tiled to 4, 16 and 64 times its size.

Each size is a grid of translated copies of the real pilot parcels, with the
pilot's outline and NH3 grid cells copied along, so every copy gets the
same NH3 values as the pilot. Offsets are whole multiples of the 1 km grid
cell and larger than the pilot's extent, so copies never overlap. The real
Natura 2000 layer is not copied: the far copies lie up to about 60 km from
it, which only lengthens their distances.

All tiled layers, their catalogue and area config are written into a
temporary folder; ``layers/`` and ``area_configs/`` are only read.

Times are measured in this process, interleaved over the sizes. Peak memory
is measured once per size in a new Python process (see
``peak_rss_of_build``). The dask engine's parcel step is timed for the two
largest sizes against a scheduler and two single-threaded workers started as
separate processes on loopback.

Run ``python benchmarks/bench_growth.py`` for this benchmark alone.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
import yaml
from distributed import Client

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    REPO,
    markdown_table,
    peak_rss_of_build,
    time_variants,
)

from geo_dashboard.attributes import LayerContext, parcel_table  # noqa: E402
from geo_dashboard.build import build_area  # noqa: E402
from geo_dashboard.catalog import load_catalog  # noqa: E402
from geo_dashboard.config import load_area_config  # noqa: E402
from geo_dashboard.kpis import load_kpi_library  # noqa: E402
from geo_dashboard.paths import ProjectPaths  # noqa: E402
from geo_dashboard.scale import build_parcels_dask  # noqa: E402

PILOT = "noordoostpolder"
FACTORS = (1, 4, 16, 64)
DASK_FACTORS = (16, 64)


def tile_pilot(factor: int, folder: Path) -> ProjectPaths:
    """Write the pilot tiled ``factor`` times, with catalogue and config.

    ``factor`` must be a square number; the copies form a square grid.
    """
    side = math.isqrt(factor)
    if side * side != factor:
        raise ValueError(f"factor must be a square number, got {factor!r}")
    catalog = load_catalog(REPO / "layers")
    source_config = yaml.safe_load(
        (REPO / "area_configs" / f"{PILOT}.yaml").read_text(encoding="utf-8")
    )
    pilot = load_area_config(REPO / "area_configs", PILOT, catalog, load_kpi_library())
    layers_dir = folder / "layers"
    configs_dir = folder / "area_configs"
    (layers_dir / "tiled").mkdir(parents=True)
    configs_dir.mkdir()

    parcels_entry = catalog.layer(pilot.layer_ref("parcels").layer)
    raster_entry = catalog.layer(pilot.layer_ref("nh3_concentration").layer)
    parcels = gpd.read_file(catalog.path(parcels_entry), layer=parcels_entry.layer)

    # Offsets are whole grid cells, so each copy's cells repeat the pilot's.
    with rasterio.open(catalog.path(raster_entry)) as dataset:
        cell = dataset.res[0]
        left, bottom = dataset.bounds.left, dataset.bounds.bottom
        xmin, ymin, xmax, ymax = parcels.total_bounds
        col0 = int((xmin - left) // cell)
        row0 = int((ymin - bottom) // cell)
        width = int(math.ceil((xmax - left) / cell)) - col0
        height = int(math.ceil((ymax - bottom) / cell)) - row0
        window = rasterio.windows.from_bounds(
            left + col0 * cell,
            bottom + row0 * cell,
            left + (col0 + width) * cell,
            bottom + (row0 + height) * cell,
            transform=dataset.transform,
        )
        block = dataset.read(1, window=window)
        profile = dataset.profile
    offsets = [
        (i * width * cell, j * height * cell) for j in range(side) for i in range(side)
    ]

    id_field = pilot.parcel_fields.parcel_id
    copies = []
    for number, (dx, dy) in enumerate(offsets):
        copy = parcels.copy()
        copy["geometry"] = copy.geometry.translate(dx, dy)
        copy[id_field] = copy[id_field].astype("int64") + number * 1_000_000
        copies.append(copy)
    tiled = pd.concat(copies, ignore_index=True)
    tiled.to_file(
        layers_dir / "tiled" / "parcels.gpkg", layer="parcels", engine="pyogrio"
    )

    outlines = [
        shapely.box(xmin + dx, ymin + dy, xmax + dx, ymax + dy) for dx, dy in offsets
    ]
    gpd.GeoDataFrame(
        {"naam": [f"tile {number}" for number in range(factor)]},
        geometry=outlines,
        crs=28992,
    ).to_file(layers_dir / "tiled" / "outline.gpkg", layer="outline", engine="pyogrio")

    grid = np.vstack([np.hstack([block] * side)] * side)
    transform = rasterio.transform.from_origin(
        left + col0 * cell, bottom + (row0 + height * side) * cell, cell, cell
    )
    profile.update(width=grid.shape[1], height=grid.shape[0], transform=transform)
    with rasterio.open(layers_dir / "tiled" / "nh3.tif", "w", **profile) as target:
        target.write(grid, 1)

    natura_entry = catalog.layer(pilot.layer_ref("natura2000").layer)
    shutil.copy(catalog.path(natura_entry), layers_dir / "tiled" / "natura2000.gpkg")
    boundary_entry = catalog.layer(pilot.boundary.layer)

    entries = []
    for entry, file, layer in (
        (parcels_entry, "tiled/parcels.gpkg", "parcels"),
        (boundary_entry, "tiled/outline.gpkg", "outline"),
        (natura_entry, "tiled/natura2000.gpkg", natura_entry.layer),
        (raster_entry, "tiled/nh3.tif", None),
    ):
        data = entry.model_dump(mode="json")
        data.update(
            id=f"tiled_{entry.id}",
            file=file,
            layer=layer,
            processing=f"{entry.processing} Tiled {factor} times for a benchmark.",
        )
        entries.append(data)
    (layers_dir / "catalog.yaml").write_text(
        yaml.safe_dump({"layers": entries}, allow_unicode=True), encoding="utf-8"
    )

    config = dict(source_config)
    config["id"] = f"tiled_{factor}"
    # The farm register lists the pilot's parcel ids, not those of the copies.
    config.pop("farm_register", None)
    config["boundary"] = {
        "layer": f"tiled_{boundary_entry.id}",
        "clip_to_parcel_extent": False,
    }
    config["layers"] = {
        "parcels": f"tiled_{parcels_entry.id}",
        "natura2000": f"tiled_{natura_entry.id}",
        "nh3_concentration": f"tiled_{raster_entry.id}",
    }
    (configs_dir / f"tiled_{factor}.yaml").write_text(
        yaml.safe_dump(config, allow_unicode=True), encoding="utf-8"
    )
    return ProjectPaths(layers=layers_dir, configs=configs_dir, builds=folder / "build")


def run(repeats: int = 3) -> str:
    """Run the benchmark and return its markdown section."""
    with tempfile.TemporaryDirectory(prefix="bench-growth-") as folder:
        paths = {
            factor: tile_pilot(factor, Path(folder) / f"x{factor}")
            for factor in FACTORS
        }
        builds = {
            factor: (lambda f=factor: build_area(f"tiled_{f}", paths[f]))
            for factor in FACTORS
        }
        outputs = {factor: build() for factor, build in builds.items()}
        timings = time_variants(
            {f"{factor}x": build for factor, build in builds.items()},
            repeats,
            warmup=False,
        )
        memory = {
            factor: peak_rss_of_build(f"tiled_{factor}", paths[factor])
            for factor in FACTORS
        }
        dask_rows = _dask_rows(paths, Path(folder), repeats=2)

    base = outputs[1]
    rows = []
    for factor in FACTORS:
        output = outputs[factor]
        seconds = timings[f"{factor}x"].median
        start, peak = memory[factor]
        rows.append(
            [
                f"{factor}x",
                f"{len(output.parcels):,}",
                f"{seconds:.2f}",
                timings[f"{factor}x"].spread,
                f"{seconds / factor / timings['1x'].median:.2f}",
                f"{start:,.0f}",
                f"{peak:,.0f}",
                f"{peak - start:,.0f}",
            ]
        )
        # Each copy repeats the pilot, so the totals scale and the mean stays.
        assert len(output.parcels) == factor * len(base.parcels)
        assert np.isclose(
            output.parcels["area_ha"].sum(),
            factor * base.parcels["area_ha"].sum(),
            rtol=1e-9,
        )
        assert np.isclose(
            output.parcels["nh3_mean"].mean(),
            base.parcels["nh3_mean"].mean(),
            rtol=1e-9,
        )

    slopes = _growth_exponent(
        [len(outputs[f].parcels) for f in FACTORS],
        [timings[f"{f}x"].median for f in FACTORS],
    )
    return "\n\n".join(
        [
            "## Growth: the pilot tiled 4, 16 and 64 times",
            "Each size is a grid of translated copies of the real pilot parcels, "
            "outline and NH3 grid (the real Natura 2000 layer stays as it is). "
            "Every tiled build was checked in the run: parcel count and total area are "
            "the pilot's times the factor, and the mean NH3 per parcel equals the "
            "pilot's.",
            markdown_table(
                [
                    "size",
                    "parcels",
                    "build median s",
                    "range s (± half-range/median)",
                    "time per parcel vs 1x",
                    "RSS after imports MiB",
                    "peak RSS MiB",
                    "added by the build MiB",
                ],
                rows,
            ),
            f"Fitted growth exponent of build time over parcel count (log-log, "
            f"1 = linear): {slopes['all']:.2f} over all sizes, {slopes['large']:.2f} "
            "from 16x to 64x. Memory is measured in a new Python process per size, "
            "which builds once: its resident set after importing geo_dashboard and "
            "at its peak, including what native libraries allocate.",
            "Per-parcel step alone: single process against the dask engine, with a "
            "dask scheduler and 2 single-threaded workers running as separate "
            "processes on this 2-core machine (writing the GeoParquet partitions "
            "included, cluster start excluded):",
            markdown_table(
                [
                    "size",
                    "parcels",
                    "partitions",
                    "parcel_table s",
                    "dask engine s",
                    "speed-up",
                ],
                dask_rows,
            ),
        ]
    )


def _dask_rows(
    paths: dict[int, ProjectPaths], folder: Path, repeats: int
) -> list[list[str]]:
    rows = []
    with _local_cluster(folder) as address:
        for factor in DASK_FACTORS:
            catalog = load_catalog(paths[factor].layers)
            config = load_area_config(
                paths[factor].configs, f"tiled_{factor}", catalog, load_kpi_library()
            )
            partitions = 4 * factor // 16

            def single(config=config, catalog=catalog):
                return parcel_table(
                    LayerContext(config=config, catalog=catalog), lambda name: None
                )

            def partitioned(config=config, catalog=catalog, partitions=partitions):
                return build_parcels_dask(
                    LayerContext(config=config, catalog=catalog),
                    scheduler=address,
                    npartitions=partitions,
                )

            timings = time_variants({"single": single, "dask": partitioned}, repeats)
            rows.append(
                [
                    f"{factor}x",
                    f"{factor * 1698:,}",
                    str(partitions),
                    f"{timings['single'].median:.2f}",
                    f"{timings['dask'].median:.2f}",
                    f"{timings['single'].median / timings['dask'].median:.2f}x",
                ]
            )
    return rows


@contextmanager
def _local_cluster(folder: Path) -> Iterator[str]:
    """Start a dask scheduler and two workers as separate processes on loopback.

    Yields the scheduler address. Outside this process, the scheduler's event
    loop does not compete with the single-process variant for this
    interpreter's GIL, as a LocalCluster's would.
    """
    scheduler_file = folder / "scheduler.json"
    dask = Path(sys.executable).with_name("dask")
    scheduler = subprocess.Popen(
        [
            str(dask),
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers = None
    try:
        workers = subprocess.Popen(
            [
                str(dask),
                "worker",
                "--scheduler-file",
                str(scheduler_file),
                "--host",
                "127.0.0.1",
                "--nworkers",
                "2",
                "--nthreads",
                "1",
                "--no-dashboard",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with Client(scheduler_file=str(scheduler_file), timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            address = client.scheduler.address
        yield address
    finally:
        for process in (workers, scheduler):
            if process is not None:
                process.terminate()
                process.wait(timeout=60)


def _growth_exponent(sizes: list[int], seconds: list[float]) -> dict[str, float]:
    log_n, log_t = np.log(sizes), np.log(seconds)
    return {
        "all": float(np.polyfit(log_n, log_t, 1)[0]),
        "large": float((log_t[-1] - log_t[-2]) / (log_n[-1] - log_n[-2])),
    }


if __name__ == "__main__":
    print(run())
