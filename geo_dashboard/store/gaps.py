"""The data-gap register: per KPI or layer role, what data is missing.

An entry names what is missing, who could supply it, the estimated cost of
sourcing and of handling the data (in euro) and a status. Each update is a
new version of the entry, so earlier estimates stay visible.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.roles import KPI_INPUTS
from geo_dashboard.store._common import (
    lock_area,
    require_author,
    require_choice,
    require_finite,
    require_text,
)
from geo_dashboard.store.engine import Store
from geo_dashboard.store.errors import StoreInputError
from geo_dashboard.store.models import (
    GAP_STATUSES,
    GAP_SUBJECTS,
    Area,
    DataGap,
    DataGapVersion,
    utc_now,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GapEntry:
    """The current state of a data-gap register entry."""

    id: int
    subject_kind: str
    subject: str
    missing: str
    supplier: str | None
    sourcing_cost_eur: float | None
    handling_cost_eur: float | None
    status: str
    note: str | None
    version: int
    changed_by: str
    changed_at: datetime

    @property
    def is_open(self) -> bool:
        """Whether the data is still missing (not resolved or dropped)."""
        return self.status not in {"resolved", "dropped"}

    @property
    def total_cost_eur(self) -> float | None:
        """Sourcing plus handling cost, None when neither is estimated."""
        costs = [
            c for c in (self.sourcing_cost_eur, self.handling_cost_eur) if c is not None
        ]
        return sum(costs) if costs else None


def _entry(gap: DataGap) -> GapEntry:
    latest = gap.versions[-1]
    return GapEntry(
        id=gap.id,
        subject_kind=gap.subject_kind,
        subject=gap.subject,
        missing=latest.missing,
        supplier=latest.supplier,
        sourcing_cost_eur=latest.sourcing_cost_eur,
        handling_cost_eur=latest.handling_cost_eur,
        status=latest.status,
        note=latest.note,
        version=latest.version,
        changed_by=latest.changed_by,
        changed_at=latest.changed_at,
    )


def _check_subject(subject_kind: str, subject: str) -> None:
    require_choice(subject_kind, GAP_SUBJECTS, "data-gap subject kind")
    if subject_kind == "layer" and subject not in KPI_INPUTS:
        raise StoreInputError(
            f"input {subject!r} is unknown; valid layer roles and parcel columns: "
            f"{', '.join(sorted(KPI_INPUTS))}"
        )
    if subject_kind == "kpi":
        library = load_kpi_library()
        if subject not in library.ids:
            raise StoreInputError(
                f"KPI {subject!r} is not defined. Known KPIs: {', '.join(library.ids)}."
            )


def seed_gaps(
    session: Session, area: Area, gaps: Mapping[str, str], by: str
) -> list[str]:
    """Add register entries for layer roles that the register does not have yet.

    Returns
    -------
    list of str
        The roles that were added.
    """
    known = set(
        session.scalars(
            select(DataGap.subject).where(
                DataGap.area_id == area.area_id, DataGap.subject_kind == "layer"
            )
        ).all()
    )
    added = []
    for role, missing in gaps.items():
        if role in known:
            continue
        gap = DataGap(
            area_id=area.area_id,
            subject_kind="layer",
            subject=role,
            created_at=utc_now(),
        )
        gap.versions.append(
            DataGapVersion(
                version=1,
                missing=missing,
                status="open",
                changed_by=by,
                changed_at=utc_now(),
                note="seeded from the area config",
            )
        )
        session.add(gap)
        added.append(role)
    session.flush()
    return added


def set_gap(
    store: Store,
    area_id: str,
    subject_kind: str,
    subject: str,
    *,
    by: str | None,
    missing: str | None = None,
    supplier: str | None = None,
    sourcing_cost_eur: float | None = None,
    handling_cost_eur: float | None = None,
    status: str | None = None,
    note: str | None = None,
) -> GapEntry:
    """Add a data-gap entry or record a new version of an existing one.

    Parameters
    ----------
    store
        An open store.
    area_id
        Area id.
    subject_kind
        ``"kpi"`` or ``"layer"``: a layer role such as ``"nnn"``, or a
        parcel-layer column such as ``"crop_codes"``.
    subject
        The KPI id or layer role.
    by
        Who records the update.
    missing, supplier, sourcing_cost_eur, handling_cost_eur, status, note
        New values; None keeps the previous value. ``missing`` is required
        for a new entry. Costs are in euro.

    Raises
    ------
    StoreInputError
        On an unknown subject or status, a negative or non-finite cost, or a
        new entry without ``missing``.
    """
    _check_subject(subject_kind, subject)
    author = require_author(by)
    if status is not None:
        require_choice(status, GAP_STATUSES, "data-gap status")
    if missing is not None:
        missing = require_text(missing, "what is missing", "describe the missing data")
    for label, cost in (
        ("sourcing cost", sourcing_cost_eur),
        ("handling cost", handling_cost_eur),
    ):
        if require_finite(cost, label) is not None and cost < 0:
            raise StoreInputError(f"{label} {cost!r} is negative; give euro >= 0")

    with store.write() as session:
        area = lock_area(session, area_id)
        gap = session.scalars(
            select(DataGap)
            .where(
                DataGap.area_id == area.area_id,
                DataGap.subject_kind == subject_kind,
                DataGap.subject == subject,
            )
            .options(selectinload(DataGap.versions))
        ).one_or_none()
        if gap is None:
            require_text(missing, "what is missing", "describe the missing data")
            gap = DataGap(
                area_id=area.area_id,
                subject_kind=subject_kind,
                subject=subject,
                created_at=utc_now(),
            )
            session.add(gap)
            previous = None
        else:
            previous = gap.versions[-1]

        def keep(new: object, old_name: str) -> object:
            if new is not None:
                return new
            return getattr(previous, old_name) if previous is not None else None

        gap.versions.append(
            DataGapVersion(
                version=1 if previous is None else previous.version + 1,
                missing=str(keep(missing, "missing")),
                supplier=keep(supplier, "supplier"),
                sourcing_cost_eur=keep(sourcing_cost_eur, "sourcing_cost_eur"),
                handling_cost_eur=keep(handling_cost_eur, "handling_cost_eur"),
                status=str(keep(status, "status") or "open"),
                note=note,
                changed_by=author,
                changed_at=utc_now(),
            )
        )
        session.flush()
        entry = _entry(gap)
    logger.info("recorded data gap %s %s of %s", subject_kind, subject, area_id)
    return entry


def list_gaps(store: Store, area_id: str) -> list[GapEntry]:
    """Return the current state of every data-gap entry of an area."""
    with store.read() as session:
        gaps = session.scalars(
            select(DataGap)
            .where(DataGap.area_id == area_id)
            .order_by(DataGap.id)
            .options(selectinload(DataGap.versions))
        ).all()
        return [_entry(gap) for gap in gaps]


def gaps_for_kpi(
    entries: Iterable[GapEntry], kpi_id: str, missing_roles: Iterable[str]
) -> list[GapEntry]:
    """Return the register entries that explain why a KPI has no value.

    Parameters
    ----------
    entries
        Register entries, e.g. from :func:`list_gaps`.
    kpi_id
        The KPI.
    missing_roles
        Layer roles the KPI needs and the area lacks (the build's
        ``missing_layers`` column, split on commas).
    """
    roles = {role.strip() for role in missing_roles if role.strip()}
    return [
        entry
        for entry in entries
        if (entry.subject_kind == "kpi" and entry.subject == kpi_id)
        or (entry.subject_kind == "layer" and entry.subject in roles)
    ]
