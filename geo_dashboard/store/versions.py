"""KPI and target versions: each change stores who, when, old, new and why.

A version row contains the full state of an area KPI after a change, and
the previous version contains the old state. Changes are only made inside an open
cycle, so every change belongs to the cycle in which it was agreed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_dashboard.config import AreaKpi, ValuePoint
from geo_dashboard.kpis import load_kpi_library, value_range_problem
from geo_dashboard.store._common import (
    lock_area,
    require_author,
    require_finite,
    require_open_cycle,
    require_text,
)
from geo_dashboard.store.engine import Store
from geo_dashboard.store.errors import StoreInputError
from geo_dashboard.store.models import Area, Cycle, KpiVersion, utc_now

logger = logging.getLogger(__name__)

BASES = ("policy", "literature", "measured", "provisional")
_RATIONALE_HINT = "say why the KPI or target changes (--rationale TEXT)"


def latest_versions(
    session: Session, area_id: str, include_retired: bool = False
) -> dict[str, KpiVersion]:
    """Return the newest version of each KPI of the area, in the order added.

    Parameters
    ----------
    include_retired
        Also return KPIs whose newest version retired them.
    """
    rows = session.scalars(
        select(KpiVersion).where(KpiVersion.area_id == area_id).order_by(KpiVersion.id)
    ).all()
    latest: dict[str, KpiVersion] = {}
    for row in rows:
        if row.kpi_id not in latest or row.version > latest[row.kpi_id].version:
            latest[row.kpi_id] = row
    return {
        kpi_id: row for kpi_id, row in latest.items() if include_retired or row.active
    }


def kpi_states(
    store: Store, area_id: str, include_retired: bool = False
) -> list[KpiVersion]:
    """Return the KPI set and targets in force for an area.

    Parameters
    ----------
    store
        An open store.
    area_id
        Area id, e.g. ``"noordoostpolder"``.
    include_retired
        Also return retired KPIs (with ``active`` False).
    """
    with store.read() as session:
        return list(latest_versions(session, area_id, include_retired).values())


def kpi_history(
    store: Store, area_id: str, kpi_id: str | None = None
) -> list[KpiVersion]:
    """Return every KPI version of the area (or of one KPI), oldest first."""
    with store.read() as session:
        query = select(KpiVersion).where(KpiVersion.area_id == area_id)
        if kpi_id is not None:
            query = query.where(KpiVersion.kpi_id == kpi_id)
        rows = session.scalars(query.order_by(KpiVersion.id)).all()
        for row in rows:
            _ = row.cycle  # load the cycle before the session closes
        return list(rows)


def area_kpi_model(row: KpiVersion) -> AreaKpi:
    """Return a version as the ``kpis:`` entry of an area config."""
    return AreaKpi(
        id=row.kpi_id,
        baseline=ValuePoint(
            value=row.baseline_value,
            year=row.baseline_year,
            basis=row.baseline_basis,
            source=row.baseline_source,
        ),
        target=ValuePoint(
            value=row.target_value,
            year=row.target_year,
            basis=row.target_basis,
            source=row.target_source,
        ),
        interim=[ValuePoint(**point) for point in row.interim],
    )


def add_version(
    session: Session,
    area: Area,
    cycle: Cycle,
    kpi_id: str,
    change: str,
    state: dict[str, Any],
    rationale: str,
    by: str,
    previous: KpiVersion | None,
) -> KpiVersion:
    """Validate ``state`` as an area KPI and insert it as the next version."""
    try:
        AreaKpi(
            id=kpi_id,
            baseline=ValuePoint(
                value=state["baseline_value"],
                year=state["baseline_year"],
                basis=state["baseline_basis"],
                source=state["baseline_source"],
            ),
            target=ValuePoint(
                value=state["target_value"],
                year=state["target_year"],
                basis=state["target_basis"],
                source=state["target_source"],
            ),
            interim=[ValuePoint(**point) for point in state["interim"]],
        )
    except ValidationError as err:
        details = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'kpi'}: {error['msg']}"
            for error in err.errors()
        )
        raise StoreInputError(
            f"invalid {change} for KPI {kpi_id!r}: {details}"
        ) from err
    library = load_kpi_library()
    if kpi_id in library.ids:
        for key in ("baseline_value", "target_value"):
            problem = value_range_problem(library.get(kpi_id), state[key])
            if problem:
                raise StoreInputError(f"invalid {change} for KPI {kpi_id!r}: {problem}")

    row = KpiVersion(
        area_id=area.area_id,
        kpi_id=kpi_id,
        version=1 if previous is None else previous.version + 1,
        cycle_id=cycle.id,
        change=change,
        changed_by=by,
        changed_at=utc_now(),
        rationale=rationale,
        **state,
    )
    session.add(row)
    session.flush()
    return row


def state_of(row: KpiVersion) -> dict[str, Any]:
    """Return the state columns of a version, to copy into the next one."""
    return {
        "active": row.active,
        "baseline_value": row.baseline_value,
        "baseline_year": row.baseline_year,
        "baseline_basis": row.baseline_basis,
        "baseline_source": row.baseline_source,
        "target_value": row.target_value,
        "target_year": row.target_year,
        "target_basis": row.target_basis,
        "target_source": row.target_source,
        "interim": list(row.interim),
    }


def state_from_config(area_kpi: AreaKpi) -> dict[str, Any]:
    """Return the version state of a ``kpis:`` entry of an area config."""
    return {
        "active": True,
        "baseline_value": area_kpi.baseline.value,
        "baseline_year": area_kpi.baseline.year,
        "baseline_basis": area_kpi.baseline.basis,
        "baseline_source": area_kpi.baseline.source,
        "target_value": area_kpi.target.value,
        "target_year": area_kpi.target.year,
        "target_basis": area_kpi.target.basis,
        "target_source": area_kpi.target.source,
        "interim": [point.model_dump() for point in area_kpi.interim],
    }


def seed_versions(
    session: Session,
    area: Area,
    cycle: Cycle,
    area_kpis: Iterable[AreaKpi],
    change: str,
    rationale: str,
    by: str,
) -> list[KpiVersion]:
    """Insert a first version for each config KPI the store does not know yet."""
    known = latest_versions(session, area.area_id, include_retired=True)
    added = []
    for area_kpi in area_kpis:
        if area_kpi.id in known:
            continue
        added.append(
            add_version(
                session,
                area,
                cycle,
                area_kpi.id,
                change,
                state_from_config(area_kpi),
                rationale,
                by,
                previous=None,
            )
        )
    return added


def _change(
    store: Store,
    area_id: str,
    kpi_id: str,
    rationale: str | None,
    by: str | None,
    change: str,
    updates: dict[str, Any],
) -> KpiVersion:
    # Check the rationale first: it is the most common omission.
    reason = require_text(rationale, "a rationale", _RATIONALE_HINT)
    author = require_author(by)
    with store.write() as session:
        area = lock_area(session, area_id)
        cycle = require_open_cycle(session, area_id, f"record a {change} change")
        current = latest_versions(session, area_id, include_retired=True)
        previous = current.get(kpi_id)
        if previous is None or not previous.active:
            active = [k for k, row in current.items() if row.active]
            raise StoreInputError(
                f"KPI {kpi_id!r} is not in the KPI set of area {area_id!r}. "
                f"KPIs in force: {', '.join(active) or 'none'}."
            )
        state = state_of(previous) | updates
        row = add_version(
            session, area, cycle, kpi_id, change, state, reason, author, previous
        )
        _ = row.cycle
    logger.info("recorded %s of KPI %s in area %s", change, kpi_id, area_id)
    return row


def set_target(
    store: Store,
    area_id: str,
    kpi_id: str,
    *,
    value: float,
    year: int,
    rationale: str | None,
    by: str | None,
    basis: str | None = None,
    source: str | None = None,
) -> KpiVersion:
    """Change the target of a KPI in the open cycle.

    Parameters
    ----------
    store
        An open store.
    area_id, kpi_id
        The area and the KPI whose target changes.
    value
        New target value, in the KPI's unit.
    year
        Year by which the target should be reached.
    rationale
        Why the target changes; required and not empty.
    by
        Who makes the change.
    basis
        ``policy``, ``literature``, ``measured`` or ``provisional``; the
        previous target's basis when None.
    source
        Where the number comes from; the rationale when None.

    Returns
    -------
    KpiVersion
        The new version; the previous one keeps the old target.

    Raises
    ------
    StoreInputError
        If the rationale or author is empty, the KPI is not in force, the value
        is not finite, the basis is unknown, or the year is not after the
        baseline year.
    StoreError
        If the area has no open cycle.
    """
    updates: dict[str, Any] = {
        "target_value": require_finite(value, "target value"),
        "target_year": int(year),
    }
    if basis is not None:
        if basis not in BASES:
            raise StoreInputError(
                f"target basis {basis!r} is invalid; use one of: {', '.join(BASES)}"
            )
        updates["target_basis"] = basis
    if source is not None or rationale:
        updates["target_source"] = (source or rationale or "").strip()
    return _change(store, area_id, kpi_id, rationale, by, "set_target", updates)


def retire_target(
    store: Store, area_id: str, kpi_id: str, *, rationale: str | None, by: str | None
) -> KpiVersion:
    """Remove the target value of a KPI (the KPI stays as a context indicator)."""
    updates = {"target_value": None}
    if rationale:
        updates["target_source"] = rationale.strip()
    return _change(store, area_id, kpi_id, rationale, by, "retire_target", updates)


def set_baseline(
    store: Store,
    area_id: str,
    kpi_id: str,
    *,
    value: float | None,
    year: int,
    rationale: str | None,
    by: str | None,
    basis: str = "measured",
    source: str | None = None,
) -> KpiVersion:
    """Change the baseline of a KPI in the open cycle; see :func:`set_target`."""
    if basis not in BASES:
        raise StoreInputError(
            f"baseline basis {basis!r} is invalid; use one of: {', '.join(BASES)}"
        )
    updates = {
        "baseline_value": require_finite(value, "baseline value"),
        "baseline_year": int(year),
        "baseline_basis": basis,
        "baseline_source": (source or rationale or "").strip(),
    }
    return _change(store, area_id, kpi_id, rationale, by, "set_baseline", updates)


def retire_kpi(
    store: Store, area_id: str, kpi_id: str, *, rationale: str | None, by: str | None
) -> KpiVersion:
    """Take a KPI out of the area's KPI set; its history stays in the store."""
    return _change(
        store, area_id, kpi_id, rationale, by, "retire_kpi", {"active": False}
    )


def add_kpi(
    store: Store,
    area_id: str,
    area_kpi: AreaKpi,
    *,
    rationale: str | None,
    by: str | None,
) -> KpiVersion:
    """Add a KPI from the KPI definitions to the area, or bring a retired one back.

    Parameters
    ----------
    area_kpi
        The KPI id with baseline, target and interim targets, as in a config.

    Raises
    ------
    StoreInputError
        If the rationale is empty, the KPI id is not defined in the KPI
        definitions, or the KPI is already in force.
    """
    reason = require_text(rationale, "a rationale", _RATIONALE_HINT)
    author = require_author(by)
    library = load_kpi_library()
    if area_kpi.id not in library.ids:
        raise StoreInputError(
            f"KPI {area_kpi.id!r} is not defined. Known KPIs: {', '.join(library.ids)}."
        )
    with store.write() as session:
        area = lock_area(session, area_id)
        cycle = require_open_cycle(session, area_id, "add a KPI")
        previous = latest_versions(session, area_id, include_retired=True).get(
            area_kpi.id
        )
        if previous is not None and previous.active:
            raise StoreInputError(
                f"KPI {area_kpi.id!r} is already in the KPI set of area {area_id!r}; "
                "change its target instead"
            )
        row = add_version(
            session,
            area,
            cycle,
            area_kpi.id,
            "add_kpi",
            state_from_config(area_kpi),
            reason,
            author,
            previous,
        )
        _ = row.cycle
    logger.info("added KPI %s to area %s", area_kpi.id, area_id)
    return row
