"""Cycles of an area process and the snapshots they freeze.

Cycle 1 is the v0.1 sketch made on the first build; later cycles are
numbered 2, 3, ... with versions 1.0, 2.0, ... At most one cycle of an area
is open. Starting a cycle closes the open one, and both the start and the
close freeze a snapshot: the KPI values of the latest build, with its layer
versions, and the KPI set and targets in force.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from geo_dashboard.progress import compute_progress
from geo_dashboard.store._common import (
    latest_cycle,
    lock_area,
    open_cycle,
    require_author,
    require_text,
)
from geo_dashboard.store.engine import Store
from geo_dashboard.store.errors import CycleNotFoundError, StoreError
from geo_dashboard.store.models import (
    Area,
    Build,
    Cycle,
    KpiVersion,
    Snapshot,
    SnapshotKpi,
    utc_now,
)
from geo_dashboard.store.versions import latest_versions

logger = logging.getLogger(__name__)

SKETCH_NAME = "v0.1 sketch"
SKETCH_VERSION = "0.1"
# Status of a KPI that is in force but has no value in the recorded build,
# because it was added in the store after that build.
NOT_BUILT = "not_built"


@dataclass(frozen=True)
class StartedCycle:
    """The cycle made by :func:`start_cycle` and the one it closed, if any."""

    cycle: Cycle
    closed: Cycle | None


@dataclass(frozen=True)
class CycleState:
    """KPI values and targets of a cycle: frozen at close, or live while open."""

    cycle: Cycle
    build: Build
    kpis: list[SnapshotKpi]
    frozen: bool


def cycle_version(number: int) -> str:
    """Return the version label of cycle ``number``: 0.1, then 1.0, 2.0, ..."""
    return SKETCH_VERSION if number == 1 else f"{number - 1}.0"


def latest_build(session: Session, area_id: str) -> Build | None:
    """Return the area's most recently recorded build, or None."""
    return session.scalars(
        select(Build)
        .where(Build.area_id == area_id)
        .order_by(Build.id.desc())
        .options(selectinload(Build.values), selectinload(Build.layers))
    ).first()


def create_cycle(
    session: Session, area: Area, name: str, by: str, sketch: bool = False
) -> Cycle:
    """Insert the next open cycle of ``area``; the caller holds the area lock."""
    previous = latest_cycle(session, area.area_id)
    number = 1 if previous is None else previous.number + 1
    cycle = Cycle(
        area_id=area.area_id,
        number=number,
        version=cycle_version(number),
        name=name,
        is_sketch=sketch,
        status="open",
        started_at=utc_now(),
        started_by=by,
    )
    session.add(cycle)
    session.flush()
    return cycle


def current_kpis(session: Session, area_id: str) -> tuple[Build, list[SnapshotKpi]]:
    """Return the latest build and, per KPI in force, its value and target.

    The rows are not added to the session; :func:`freeze_snapshot` stores them.

    Raises
    ------
    StoreError
        If the area has no recorded build.
    """
    build = latest_build(session, area_id)
    if build is None:
        raise StoreError(
            f"area {area_id!r} has no recorded build. "
            f"Run: geo-dashboard build {area_id}"
        )
    values = {row.kpi_id: row for row in build.values}
    rows = []
    for version in latest_versions(session, area_id).values():
        rows.append(_snapshot_kpi(version, values.get(version.kpi_id)))
    return build, rows


def _snapshot_kpi(version: KpiVersion, built) -> SnapshotKpi:
    if built is None:
        value, year, unit, status = None, None, "", NOT_BUILT
        fraction = expected = None
    else:
        value, year, unit = built.value, built.data_year, built.unit
        progress = compute_progress(
            value,
            year,
            version.baseline_value,
            version.baseline_year,
            version.target_value,
            version.target_year,
            "lower" if built.direction == "lower" else "higher",
        )
        status, fraction, expected = (
            progress.status,
            progress.fraction,
            progress.expected,
        )
    return SnapshotKpi(
        kpi_id=version.kpi_id,
        kpi_version=version.version,
        value=value,
        data_year=year,
        unit=unit,
        status=status,
        progress=fraction,
        expected_progress=expected,
        baseline_value=version.baseline_value,
        baseline_year=version.baseline_year,
        target_value=version.target_value,
        target_year=version.target_year,
        target_basis=version.target_basis,
    )


def freeze_snapshot(session: Session, cycle: Cycle, kind: str, by: str) -> Snapshot:
    """Store the current KPI values and targets as the cycle's ``kind`` snapshot."""
    build, rows = current_kpis(session, cycle.area_id)
    snapshot = Snapshot(
        cycle_id=cycle.id, kind=kind, taken_at=utc_now(), taken_by=by, build_pk=build.id
    )
    snapshot.kpis.extend(rows)
    session.add(snapshot)
    session.flush()
    logger.debug(
        "froze %s snapshot of cycle %s (%d KPIs)", kind, cycle.version, len(rows)
    )
    return snapshot


def _close(session: Session, cycle: Cycle, by: str) -> None:
    freeze_snapshot(session, cycle, "close", by)
    cycle.status = "closed"
    cycle.closed_at = utc_now()
    cycle.closed_by = by
    session.flush()


def start_cycle(store: Store, area_id: str, name: str, by: str | None) -> StartedCycle:
    """Start the next cycle of an area, closing the open cycle first.

    Parameters
    ----------
    store
        An open store.
    area_id
        Area id with at least one recorded build.
    name
        Name of the cycle, e.g. ``"najaar 2026"``.
    by
        Who starts the cycle.

    Raises
    ------
    StoreInputError
        If the name or author is empty.
    StoreError
        If the area has no recorded build.
    """
    name = require_text(name, "a cycle name", "pass --name NAME")
    author = require_author(by)
    with store.write() as session:
        area = lock_area(session, area_id)
        closed = open_cycle(session, area_id)
        if closed is not None:
            _close(session, closed, author)
        cycle = create_cycle(session, area, name, author)
        freeze_snapshot(session, cycle, "start", author)
    logger.info("started cycle %s of %s", cycle.version, area_id)
    return StartedCycle(cycle=cycle, closed=closed)


def close_cycle(store: Store, area_id: str, by: str | None) -> Cycle:
    """Close the open cycle of an area and freeze its close snapshot.

    Raises
    ------
    StoreError
        If the area has no open cycle or no recorded build.
    """
    author = require_author(by)
    with store.write() as session:
        lock_area(session, area_id)
        cycle = open_cycle(session, area_id)
        if cycle is None:
            raise StoreError(
                f"area {area_id!r} has no open cycle to close. Start one with: "
                f"geo-dashboard cycle start {area_id} --name NAME"
            )
        _close(session, cycle, author)
    logger.info("closed cycle %s of %s", cycle.version, area_id)
    return cycle


def list_cycles(store: Store, area_id: str) -> list[Cycle]:
    """Return the cycles of an area, oldest first (empty for an unknown area)."""
    with store.read() as session:
        return list(
            session.scalars(
                select(Cycle).where(Cycle.area_id == area_id).order_by(Cycle.number)
            ).all()
        )


def find_cycle(session: Session, area_id: str, ref: str | int) -> Cycle:
    """Return a cycle by number (``2``) or version label (``"0.1"``, ``"v1.0"``).

    Raises
    ------
    CycleNotFoundError
        If the area has no such cycle; the message lists the cycles it has.
    """
    text = str(ref).strip().removeprefix("v")
    query = select(Cycle).where(Cycle.area_id == area_id)
    if re.fullmatch(r"\d+", text):
        query = query.where(Cycle.number == int(text))
    else:
        query = query.where(Cycle.version == text)
    cycle = session.scalars(query).one_or_none()
    if cycle is None:
        known = session.scalars(
            select(Cycle).where(Cycle.area_id == area_id).order_by(Cycle.number)
        ).all()
        listing = ", ".join(f"{c.number} (v{c.version})" for c in known) or "none"
        raise CycleNotFoundError(
            f"cycle {str(ref)!r} not found for area {area_id!r}. "
            f"Its cycles: {listing}. Give a cycle number or version."
        )
    return cycle


def cycle_state(session: Session, cycle: Cycle) -> CycleState:
    """Return the KPI state of a cycle: its close snapshot, or live if open.

    A closed cycle returns what was frozen when it closed. An open cycle
    returns the latest build with the targets in force now.
    """
    if cycle.status == "closed":
        snapshot = session.scalars(
            select(Snapshot)
            .where(Snapshot.cycle_id == cycle.id, Snapshot.kind == "close")
            .options(
                selectinload(Snapshot.kpis),
                selectinload(Snapshot.build).selectinload(Build.layers),
                selectinload(Snapshot.build).selectinload(Build.values),
            )
        ).one()
        return CycleState(cycle, snapshot.build, list(snapshot.kpis), frozen=True)
    build, rows = current_kpis(session, cycle.area_id)
    return CycleState(cycle, build, rows, frozen=False)
