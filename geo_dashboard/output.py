"""Build output folders: atomic publication and reading back.

Each build is written into a fresh folder ``<builds>/<area>/<build id>/``.
Only when every file is complete does the symlink ``<builds>/<area>/current``
switch to it, with an atomic rename. A build that fails or is killed midway
therefore leaves the previous ``current`` build in place.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo_dashboard.errors import BuildNotFoundError

logger = logging.getLogger(__name__)

CURRENT = "current"
KEEP_BUILDS = 3
BUILD_ID = re.compile(r"\d{8}T\d{12}Z-\d+")


@dataclass
class BuildOutput:
    """The tables of one finished build of an area."""

    area_id: str
    folder: Path
    parcels: gpd.GeoDataFrame
    nature: gpd.GeoDataFrame
    boundary: gpd.GeoDataFrame
    kpis: pd.DataFrame
    farm_kpis: pd.DataFrame | None
    manifest: dict[str, Any]


def new_build_folder(builds_dir: Path, area_id: str) -> Path:
    """Create and return an empty folder for a new build of ``area_id``."""
    area_dir = Path(builds_dir) / area_id
    area_dir.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(area_dir)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    folder = area_dir / f".building-{stamp}-{os.getpid()}"
    folder.mkdir()
    return folder


def write_tables(folder: Path, output: BuildOutput) -> None:
    """Write the build's tables and manifest into ``folder``."""
    output.parcels.to_parquet(folder / "parcels.parquet")
    output.nature.to_parquet(folder / "nature.parquet")
    output.boundary.to_parquet(folder / "boundary.parquet")
    output.kpis.to_csv(folder / "kpis.csv", index=False)
    if output.farm_kpis is not None:
        output.farm_kpis.to_csv(folder / "farm_kpis.csv", index=False)
    with open(folder / "manifest.json", "w", encoding="utf-8") as stream:
        json.dump(output.manifest, stream, indent=2, ensure_ascii=False, default=str)
        stream.flush()
        os.fsync(stream.fileno())


def _remove_abandoned(area_dir: Path) -> None:
    """Delete unfinished build folders whose writing process no longer runs."""
    for folder in area_dir.glob(".building-*"):
        pid = folder.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _process_alive(int(pid)):
            logger.info("removing unfinished build %s of a stopped process", folder)
            shutil.rmtree(folder, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def publish(folder: Path) -> Path:
    """Make a complete build folder the area's current build, atomically."""
    area_dir = folder.parent
    final = area_dir / folder.name.removeprefix(".building-")
    folder.rename(final)
    link = area_dir / CURRENT
    temporary_link = area_dir / f".{CURRENT}-{os.getpid()}"
    if temporary_link.is_symlink() or temporary_link.exists():
        temporary_link.unlink()
    temporary_link.symlink_to(final.name)
    os.replace(temporary_link, link)
    _prune(area_dir, keep=final.name)
    logger.info("published build %s", final)
    return final


def discard(folder: Path) -> None:
    """Remove an unfinished build folder."""
    shutil.rmtree(folder, ignore_errors=True)


def _prune(area_dir: Path, keep: str) -> None:
    # Only build folders are pruned; other folders (saved scenarios) stay.
    builds = sorted(
        (p for p in area_dir.iterdir()
         if p.is_dir() and not p.is_symlink() and BUILD_ID.fullmatch(p.name)),
        key=lambda p: p.name,
    )
    for old in builds[:-KEEP_BUILDS]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def current_build_folder(builds_dir: Path, area_id: str) -> Path:
    """Return the folder of the area's current build, or raise if none exists."""
    from geo_dashboard.config import area_config_path

    area_config_path(Path("."), area_id)  # rejects ids that are not plain names
    link = Path(builds_dir) / area_id / CURRENT
    if not link.exists():
        raise BuildNotFoundError(
            f"area {area_id!r} has no build in {Path(builds_dir) / area_id}. "
            f"Run: geo-dashboard build {area_id}"
        )
    return link.resolve()


def read_build(builds_dir: Path, area_id: str) -> BuildOutput:
    """Read the current build of ``area_id``."""
    folder = current_build_folder(builds_dir, area_id)
    farm_path = folder / "farm_kpis.csv"
    with open(folder / "manifest.json", encoding="utf-8") as stream:
        manifest = json.load(stream)
    return BuildOutput(
        area_id=area_id,
        folder=folder,
        parcels=gpd.read_parquet(folder / "parcels.parquet"),
        nature=gpd.read_parquet(folder / "nature.parquet"),
        boundary=gpd.read_parquet(folder / "boundary.parquet"),
        kpis=pd.read_csv(folder / "kpis.csv", keep_default_na=True),
        farm_kpis=pd.read_csv(farm_path) if farm_path.is_file() else None,
        manifest=manifest,
    )
