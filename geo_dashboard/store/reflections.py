"""Reflections of a cycle: lessons, decisions, measure evaluations, dilemmas.

A reflection can point at a saved map view (KPI, layers and extent), so that
a discussion can be reopened on the same map. Reflections are only added,
never edited, so the record of a meeting stays as it was written. They go to
the open cycle only: a closed cycle is the frozen record of a finished round.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from geo_dashboard.store._common import (
    latest_cycle,
    lock_area,
    open_cycle,
    require_author,
    require_choice,
    require_text,
)
from geo_dashboard.store.cycles import find_cycle
from geo_dashboard.store.engine import Store
from geo_dashboard.store.errors import StoreError, StoreInputError
from geo_dashboard.store.models import (
    ASSESSMENTS,
    REFLECTION_KINDS,
    Cycle,
    MapView,
    Reflection,
    utc_now,
)
from geo_dashboard.store.versions import latest_versions

logger = logging.getLogger(__name__)


class ClosedCycleError(StoreError):
    """A reflection was added to a closed cycle, or no cycle is open."""


@dataclass(frozen=True)
class MapViewSpec:
    """A map view to save with a reflection; bounds in degrees (EPSG:4326)."""

    kpi_id: str | None = None
    layers: list[str] = field(default_factory=list)
    bounds: tuple[float, float, float, float] | None = None

    def check(self) -> None:
        """Raise StoreInputError unless the bounds form a valid box in degrees."""
        if self.bounds is None:
            return
        if len(self.bounds) != 4 or not all(math.isfinite(b) for b in self.bounds):
            raise StoreInputError(
                f"map bounds {self.bounds!r} must be four finite numbers: "
                "west, south, east, north in degrees"
            )
        west, south, east, north = self.bounds
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise StoreInputError(
                f"map bounds {self.bounds!r} are invalid: need "
                "-180 <= west < east <= 180 and -90 <= south < north <= 90"
            )


def add_reflection(
    store: Store,
    area_id: str,
    kind: str,
    text: str,
    by: str | None,
    *,
    kpi_id: str | None = None,
    cycle: str | int | None = None,
    measure: str | None = None,
    effective: str | None = None,
    feasible: str | None = None,
    evidence: str | None = None,
    map_view: MapViewSpec | None = None,
) -> Reflection:
    """Add a reflection to a cycle of an area.

    Parameters
    ----------
    store
        An open store.
    area_id
        Area id.
    kind
        ``lesson``, ``decision``, ``evaluation`` (of a measure) or ``dilemma``.
    text
        The reflection itself; stored as written and escaped when shown.
    by
        Who records it.
    kpi_id
        KPI the reflection is about; must be or have been in the area's set.
    cycle
        Cycle number or version; the open cycle when None. It must be open,
        because a closed cycle is the record of a finished round.
    measure, effective, feasible, evidence
        For evaluations: the measure, whether it was effective and feasible
        (``yes``, ``partly``, ``no``, ``unknown``) and the evidence.
    map_view
        A map view to save with the reflection.

    Raises
    ------
    StoreInputError
        On an empty text or author, an unknown kind, KPI or assessment, or
        invalid map bounds.
    CycleNotFoundError
        If ``cycle`` is not a cycle of the area.
    ClosedCycleError
        If the cycle is closed, or ``cycle`` is None and no cycle is open.
        Nothing is written.
    """
    require_choice(kind, REFLECTION_KINDS, "reflection kind")
    body = require_text(text, "the reflection text", "pass --text TEXT")
    author = require_author(by)
    for name, value in (("effective", effective), ("feasible", feasible)):
        if value is not None:
            require_choice(value, ASSESSMENTS, f"assessment {name!r}")
    if map_view is not None:
        map_view.check()

    with store.write() as session:
        lock_area(session, area_id)
        known = latest_versions(session, area_id, include_retired=True)
        for label, value in (
            ("kpi", kpi_id),
            ("map view KPI", map_view and map_view.kpi_id),
        ):
            if value is not None and value not in known:
                raise StoreInputError(
                    f"{label} {value!r} is not a KPI of area {area_id!r}. "
                    f"Its KPIs: {', '.join(known)}."
                )
        target = _reflection_cycle(session, area_id, cycle)

        view = None
        if map_view is not None:
            west, south, east, north = map_view.bounds or (None, None, None, None)
            view = MapView(
                area_id=area_id,
                kpi_id=map_view.kpi_id,
                layers=list(map_view.layers),
                west=west,
                south=south,
                east=east,
                north=north,
                created_by=author,
                created_at=utc_now(),
            )
            session.add(view)
        reflection = Reflection(
            area_id=area_id,
            cycle=target,
            kind=kind,
            text=body,
            kpi_id=kpi_id,
            measure=measure.strip() if measure else None,
            effective=effective,
            feasible=feasible,
            evidence=evidence.strip() if evidence else None,
            map_view=view,
            created_by=author,
            created_at=utc_now(),
        )
        session.add(reflection)
        session.flush()
    logger.info("added a %s to cycle %s of %s", kind, target.version, area_id)
    return reflection


def _reflection_cycle(session: Session, area_id: str, ref: str | int | None) -> Cycle:
    """Return the open cycle that a reflection goes to, or raise."""
    if ref is not None:
        cycle = find_cycle(session, area_id, ref)
        if cycle.status == "open":
            return cycle
        raise ClosedCycleError(
            f"cycle {cycle.number} (v{cycle.version}) of area {area_id!r} was "
            f"closed on {cycle.closed_at:%Y-%m-%d} by {cycle.closed_by}; a "
            "reflection can only be added to the open cycle. Leave out --cycle "
            "to use the open cycle, or start a new one with: "
            f"geo-dashboard cycle start {area_id} --name NAME"
        )
    cycle = open_cycle(session, area_id)
    if cycle is not None:
        return cycle
    latest = latest_cycle(session, area_id)
    if latest is None:
        raise StoreError(
            f"area {area_id!r} has no cycle yet. Run: geo-dashboard build {area_id}"
        )
    raise ClosedCycleError(
        f"area {area_id!r} has no open cycle: its latest cycle {latest.number} "
        f"(v{latest.version}) was closed on {latest.closed_at:%Y-%m-%d}. A "
        "reflection can only be added to an open cycle. Start one with: "
        f"geo-dashboard cycle start {area_id} --name NAME"
    )


def list_reflections(
    store: Store, area_id: str, cycle: str | int | None = None
) -> list[Reflection]:
    """Return the reflections of an area (or of one cycle), oldest first."""
    with store.read() as session:
        query = (
            select(Reflection)
            .where(Reflection.area_id == area_id)
            .order_by(Reflection.id)
            .options(selectinload(Reflection.cycle), selectinload(Reflection.map_view))
        )
        if cycle is not None:
            query = query.where(
                Reflection.cycle_id == find_cycle(session, area_id, cycle).id
            )
        return list(session.scalars(query).all())
