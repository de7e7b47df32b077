"""Helpers shared by the store's repository modules."""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo_dashboard.store.errors import StoreError, StoreInputError
from geo_dashboard.store.models import Area, Cycle, utc_now

# Maximum length of the name of who makes a change.
MAX_AUTHOR_LENGTH = 120


def lock_area(session: Session, area_id: str) -> Area:
    """Return the area row locked for this transaction, or raise if unknown.

    On PostgreSQL the row lock serialises writers of one area, so that cycle
    and version numbers are handed out once. SQLite ignores ``FOR UPDATE``;
    there ``BEGIN IMMEDIATE`` already serialises writers.
    """
    area = session.scalars(
        select(Area).where(Area.area_id == area_id).with_for_update()
    ).one_or_none()
    if area is None:
        raise StoreError(
            f"area {area_id!r} is not in the dashboard store yet. "
            f"Run: geo-dashboard build {area_id}"
        )
    return area


def lock_or_create_area(
    session: Session, area_id: str, name_nl: str, name_en: str, config_file: str | None
) -> tuple[Area, bool]:
    """Return the locked area row, creating it first if needed.

    Returns
    -------
    tuple
        The area and whether this call created it.
    """
    area = session.scalars(
        select(Area).where(Area.area_id == area_id).with_for_update()
    ).one_or_none()
    if area is not None:
        return area, False
    try:
        # A savepoint, so that losing a race to create the row is recoverable.
        with session.begin_nested():
            session.add(
                Area(
                    area_id=area_id,
                    name_nl=name_nl,
                    name_en=name_en,
                    config_file=config_file,
                    created_at=utc_now(),
                )
            )
    except IntegrityError:
        return lock_area(session, area_id), False
    return lock_area(session, area_id), True


def open_cycle(session: Session, area_id: str) -> Cycle | None:
    """Return the area's open cycle, or None when every cycle is closed."""
    return session.scalars(
        select(Cycle).where(Cycle.area_id == area_id, Cycle.status == "open")
    ).one_or_none()


def latest_cycle(session: Session, area_id: str) -> Cycle | None:
    """Return the area's cycle with the highest number, or None."""
    return session.scalars(
        select(Cycle).where(Cycle.area_id == area_id).order_by(Cycle.number.desc())
    ).first()


def require_open_cycle(session: Session, area_id: str, action: str) -> Cycle:
    """Return the open cycle, or raise a StoreError naming the command to start one."""
    cycle = open_cycle(session, area_id)
    if cycle is None:
        raise StoreError(
            f"cannot {action}: area {area_id!r} has no open cycle. Start one with: "
            f"geo-dashboard cycle start {area_id} --name NAME"
        )
    return cycle


def require_text(value: str | None, label: str, hint: str) -> str:
    """Return ``value`` stripped, or raise StoreInputError if it is empty."""
    text = (value or "").strip()
    if not text:
        raise StoreInputError(f"{label} is required and must not be empty: {hint}")
    return text


def require_author(by: str | None) -> str:
    """Return the name of who makes a change, checked for length."""
    author = require_text(by, "the name of who makes the change", "pass --by NAME")
    if len(author) > MAX_AUTHOR_LENGTH:
        raise StoreInputError(
            f"the name of who makes the change has {len(author)} characters; "
            f"use at most {MAX_AUTHOR_LENGTH}"
        )
    return author


def require_choice(value: str, choices: tuple[str, ...], label: str) -> str:
    """Return ``value`` if it is one of ``choices``, else raise StoreInputError."""
    if value not in choices:
        raise StoreInputError(
            f"{label} {value!r} is invalid; use one of: {', '.join(choices)}"
        )
    return value


def require_finite(value: float | None, label: str) -> float | None:
    """Return ``value`` as float, rejecting NaN and infinity; None passes."""
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise StoreInputError(f"{label} {value!r} is not a finite number")
    return number
