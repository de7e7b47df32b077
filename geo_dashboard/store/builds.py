"""Recording builds in the store, and the v0.1 sketch of a new area."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_dashboard.catalog import load_catalog
from geo_dashboard.config import AreaConfig, load_area_config
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.output import BuildOutput
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.store._common import latest_cycle, lock_or_create_area, open_cycle
from geo_dashboard.store.cycles import SKETCH_NAME, create_cycle, freeze_snapshot
from geo_dashboard.store.engine import open_store
from geo_dashboard.store.gaps import list_gaps, seed_gaps, set_gap
from geo_dashboard.store.models import Build, BuildLayer, BuildValue, utc_now
from geo_dashboard.store.versions import (
    latest_versions,
    seed_versions,
    state_from_config,
)

logger = logging.getLogger(__name__)

# Author recorded for rows that come from the area config file.
CONFIG_AUTHOR = "area config"


@dataclass(frozen=True)
class BuildRecord:
    """Result of :func:`record_build`: the build, its cycle and what was added."""

    area_id: str
    build_id: str
    already_recorded: bool
    sketch_created: bool
    cycle_number: int
    added_kpis: list[str] = field(default_factory=list)
    added_gaps: list[str] = field(default_factory=list)


def record_build(
    paths: ProjectPaths, build_output: BuildOutput, url: str | None = None
) -> BuildRecord:
    """Store a finished build's KPI values and layer versions.

    On the first build of an area this also creates cycle v0.1, marked as a
    sketch, with the KPI set, targets and data gaps of the area config and a
    start snapshot. On later builds, KPIs and data-gap roles that are new in
    the config are added; targets changed in the store are kept.

    Parameters
    ----------
    paths
        Project folders: the area config is read from ``paths.configs`` and
        the SQLite store is ``paths.builds/dashboard.sqlite``.
    build_output
        The finished build, as returned by ``build_area``.
    url
        Store URL; ``GEO_DASHBOARD_DB`` or the SQLite file when None.

    Returns
    -------
    BuildRecord
        The build id, the cycle it belongs to and what was added.

    Raises
    ------
    StoreError
        If the store cannot be opened.
    ConfigError
        If the area config is no longer valid.
    """
    config = load_area_config(
        paths.configs,
        build_output.area_id,
        load_catalog(paths.layers),
        load_kpi_library(),
    )
    with open_store(url, paths) as store:
        with store.write() as session:
            record = _record(session, config, build_output)
        _resolve_filled_gaps(store, config)
    logger.info(
        "recorded build %s of %s in cycle %d",
        record.build_id,
        record.area_id,
        record.cycle_number,
    )
    return record


def _resolve_filled_gaps(store, config: AreaConfig) -> None:
    """Mark layer gaps resolved once the area config names a layer for the role."""
    for gap in list_gaps(store, config.id):
        filled = gap.subject_kind == "layer" and gap.subject in config.layers
        if filled and gap.status not in ("resolved", "dropped"):
            ref = config.layer_ref(gap.subject)
            set_gap(
                store, config.id, "layer", gap.subject, by=CONFIG_AUTHOR,
                status="resolved",
                note=f"layer {ref.layer if ref else ''} added to the area config",
            )


def _record(session: Session, config: AreaConfig, output: BuildOutput) -> BuildRecord:
    manifest = output.manifest
    area, _ = lock_or_create_area(
        session,
        config.id,
        name_nl=config.name.nl,
        name_en=config.name.en,
        config_file=config.path.name if config.path else None,
    )
    build_id = output.folder.name
    existing = session.scalars(
        select(Build).where(Build.area_id == area.area_id, Build.build_id == build_id)
    ).one_or_none()
    if existing is None:
        session.add(_build_row(area.area_id, build_id, output))
        session.flush()

    config_name = config.path.name if config.path else f"{config.id}.yaml"
    cycle = latest_cycle(session, area.area_id)
    if cycle is None:
        cycle = create_cycle(session, area, SKETCH_NAME, CONFIG_AUTHOR, sketch=True)
        rationale = f"first sketch, seeded from the area config {config_name}"
        added = seed_versions(
            session, area, cycle, config.kpis, "seed", rationale, CONFIG_AUTHOR
        )
        gaps = seed_gaps(session, area, manifest.get("data_gaps") or {}, CONFIG_AUTHOR)
        freeze_snapshot(session, cycle, "start", CONFIG_AUTHOR)
        return BuildRecord(
            area.area_id,
            build_id,
            existing is not None,
            True,
            cycle.number,
            [row.kpi_id for row in added],
            gaps,
        )

    # KPIs added to the config later join the open cycle (or the last one).
    target_cycle = open_cycle(session, area.area_id) or cycle
    rationale = f"added to the area config {config_name}"
    added = seed_versions(
        session, area, target_cycle, config.kpis, "add_kpi", rationale, CONFIG_AUTHOR
    )
    gaps = seed_gaps(session, area, manifest.get("data_gaps") or {}, CONFIG_AUTHOR)
    _log_config_differences(session, config)
    return BuildRecord(
        area.area_id,
        build_id,
        existing is not None,
        False,
        target_cycle.number,
        [row.kpi_id for row in added],
        gaps,
    )


def _build_row(area_id: str, build_id: str, output: BuildOutput) -> Build:
    manifest = output.manifest
    build = Build(
        area_id=area_id,
        build_id=build_id,
        built_at=str(manifest.get("built_at", "")),
        recorded_at=utc_now(),
        parcel_count=int(manifest.get("parcel_count", len(output.parcels))),
        software_version=str(manifest.get("geo_dashboard_version", "")),
    )
    for row in output.kpis.to_dict("records"):
        build.values.append(
            BuildValue(
                kpi_id=row["kpi_id"],
                value=_number(row.get("value")),
                data_year=_integer(row.get("data_year")),
                unit=str(row.get("unit") or ""),
                direction=str(row.get("direction") or "higher"),
                missing_layers=str(row.get("missing_layers") or ""),
            )
        )
    for layer in manifest.get("layers", []):
        build.layers.append(
            BuildLayer(
                layer_id=layer["id"],
                file=str(layer.get("file", "")),
                sha256=layer["sha256"],
                year=_integer(layer.get("year")),
            )
        )
    return build


def _log_config_differences(session: Session, config: AreaConfig) -> None:
    # Once seeded, the store takes precedence over the config. Each difference is
    # logged so that an edit of the config file does not go unnoticed.
    current = latest_versions(session, config.id, include_retired=True)
    for area_kpi in config.kpis:
        row = current.get(area_kpi.id)
        if row is None:
            continue
        expected = state_from_config(area_kpi)
        differs = [
            key
            for key in ("target_value", "target_year", "baseline_value")
            if expected[key] != getattr(row, key)
        ]
        if differs or not row.active:
            logger.info(
                "KPI %s of %s differs between the area config and the store (%s); "
                "the store is used. Run geo-dashboard export-config %s to update "
                "the config.",
                area_kpi.id,
                config.id,
                ", ".join(differs) or "retired",
                config.id,
            )


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def _integer(value: object) -> int | None:
    number = _number(value)
    return None if number is None else int(number)
