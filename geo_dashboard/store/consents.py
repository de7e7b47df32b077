"""Consent of farms per purpose, with the full history of changes.

Each change adds a row with who made it and when; the newest row of a farm
and purpose is in force. A farm without any row has given no consent, so
farm data is private by default.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from geo_dashboard.store._common import lock_area, require_author, require_choice
from geo_dashboard.store.engine import Store
from geo_dashboard.store.errors import StoreInputError
from geo_dashboard.store.models import utc_now
from geo_dashboard.store.privacy_models import (
    CONSENT_PURPOSES,
    FARM_ID_LENGTH,
    FarmConsent,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConsentChange:
    """One recorded consent change of a farm for one purpose."""

    farm_id: str
    purpose: str
    granted: bool
    changed_by: str
    changed_at: datetime


def set_consent(
    store: Store,
    area_id: str,
    farm_id: str,
    purpose: str,
    granted: bool,
    by: str | None,
) -> ConsentChange:
    """Record that a farm gives (``granted=True``) or withdraws consent.

    Parameters
    ----------
    store
        An open store.
    area_id
        Area of the farm; it must have a recorded build.
    farm_id
        Farm id from the area's farm register.
    purpose
        One of :data:`CONSENT_PURPOSES`: ``coordinator`` (show the farm to the
        area coordinator), ``farmers`` (to other farmers in the area) or
        ``aggregates`` (use its data in area aggregates).
    granted
        True to give consent, False to withdraw it.
    by
        Who makes the change (a username).

    Raises
    ------
    StoreInputError
        On an unknown purpose, an empty farm id or author.
    StoreError
        If the area is not in the store.
    """
    require_choice(purpose, CONSENT_PURPOSES, "consent purpose")
    author = require_author(by)
    farm = (farm_id or "").strip()
    if not farm or len(farm) > FARM_ID_LENGTH:
        raise StoreInputError(
            f"farm id {farm_id!r} is empty or longer than {FARM_ID_LENGTH} characters"
        )
    with store.write() as session:
        lock_area(session, area_id)
        row = FarmConsent(
            area_id=area_id,
            farm_id=farm,
            purpose=purpose,
            granted=bool(granted),
            changed_by=author,
            changed_at=utc_now(),
        )
        session.add(row)
    # The farm id is left out of the log, because a real farm's id can identify
    # the farmer.
    logger.info(
        "consent for purpose %s %s in area %s",
        purpose,
        "given" if granted else "withdrawn",
        area_id,
    )
    return ConsentChange(farm, purpose, bool(granted), author, row.changed_at)


def consent_state(store: Store, area_id: str) -> dict[str, frozenset[str]]:
    """Return, per farm, the purposes its consent is in force for.

    Farms whose every consent is withdrawn map to an empty set; farms that
    never recorded a consent are absent.
    """
    granted: dict[str, set[str]] = {}
    for change in _changes(store, area_id, None):
        purposes = granted.setdefault(change.farm_id, set())
        if change.granted:
            purposes.add(change.purpose)
        else:
            purposes.discard(change.purpose)
    return {farm: frozenset(purposes) for farm, purposes in granted.items()}


def consent_history(
    store: Store, area_id: str, farm_id: str | None = None
) -> list[ConsentChange]:
    """Return every consent change of the area, or of one farm, oldest first."""
    return _changes(store, area_id, farm_id)


def _changes(store: Store, area_id: str, farm_id: str | None) -> list[ConsentChange]:
    query = select(FarmConsent).where(FarmConsent.area_id == area_id)
    if farm_id is not None:
        query = query.where(FarmConsent.farm_id == farm_id)
    # Row ids grow with every insert, so they order changes made within the
    # same second as well.
    with store.read() as session:
        rows = session.scalars(query.order_by(FarmConsent.id)).all()
        return [
            ConsentChange(
                row.farm_id, row.purpose, row.granted, row.changed_by, row.changed_at
            )
            for row in rows
        ]
