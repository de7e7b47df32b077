"""Measure proposals: submitted by logged-in viewers, decided by a coordinator.

Any logged-in viewer (coordinator, farmer or planner) can submit a proposal
for an area; the public cannot, so every proposal has an account behind it.
Only a coordinator can accept or reject, each time with a rationale, and only
a proposal with status ``proposed`` can be decided. Accepting validates the
proposal as a library measure under a measure id that is new in the area's
library, and stores that measure with the decision. Every write is one
transaction and rows are never deleted, so the history stays complete.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo_dashboard.errors import ConfigError, GeoDashboardError
from geo_dashboard.measures.library import Measure
from geo_dashboard.measures.loader import add_measures, load_measure_library
from geo_dashboard.measures.proposals import (
    MAX_TEXT,
    ProposalContent,
    ProposalInvalidError,
    check_content,
    describe_error,
    proposal_measure,
)
from geo_dashboard.privacy.viewer import Viewer
from geo_dashboard.store._common import lock_area, require_author, require_text
from geo_dashboard.store.engine import Store
from geo_dashboard.store.errors import StoreError, StoreInputError
from geo_dashboard.store.models import PROPOSAL_STATUSES, MeasureProposal, utc_now

logger = logging.getLogger(__name__)

# The pattern of Measure.id in the measure library, checked here first for a
# shorter message; the column measure_proposals.measure_id has 63 characters.
MEASURE_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
MEASURE_ID_MAX_LENGTH = 63


class ProposalAccessError(GeoDashboardError, PermissionError):
    """The viewer's role does not allow this proposal action."""


def proposal_content(proposal: MeasureProposal) -> ProposalContent:
    """Return the stored fields of ``proposal`` as validated content.

    Raises
    ------
    ProposalInvalidError
        If a stored field does not pass the current rules.
    """
    return check_content(
        {
            "title": proposal.title,
            "description": proposal.description,
            "applies": proposal.applies,
            "effects": proposal.effects,
            "annual_cost": proposal.annual_cost,
            "one_off_cost": proposal.one_off_cost,
            "farm_operations": proposal.farm_operations,
            "income_change": proposal.income_change,
        },
        prefix=f"proposal {proposal.id}",
    )


def submit_proposal(
    store: Store,
    area_id: str,
    viewer: Viewer,
    content: ProposalContent | Mapping[str, Any],
    display_name: str | None = None,
) -> MeasureProposal:
    """Store a new proposal of ``viewer`` for ``area_id`` with status ``proposed``.

    Parameters
    ----------
    content
        The proposal; a mapping is validated as :class:`ProposalContent`.
    display_name
        Name shown with the proposal; the viewer's username when None.

    Raises
    ------
    ProposalAccessError
        If the viewer is not logged in.
    ProposalInvalidError
        If a field of ``content`` is invalid; nothing is stored.
    StoreError
        If the area is not in the store.
    """
    if viewer.is_public or not viewer.name:
        raise ProposalAccessError(
            "proposing a measure needs a login; log in as coordinator, farmer "
            "or planner"
        )
    if not isinstance(content, ProposalContent):
        content = check_content(dict(content))
    shown_name = require_author(display_name or viewer.name)
    data = content.model_dump(mode="json")
    with store.write() as session:
        lock_area(session, area_id)
        proposal = MeasureProposal(
            area_id=area_id,
            proposed_by=shown_name,
            account=viewer.name,
            created_at=utc_now(),
            title=data["title"],
            description=data["description"],
            applies=data["applies"],
            effects=data["effects"],
            annual_cost=data["annual_cost"],
            one_off_cost=data["one_off_cost"],
            farm_operations=data["farm_operations"],
            income_change=data["income_change"],
            status="proposed",
        )
        session.add(proposal)
        session.flush()
    logger.info("proposal %d submitted for area %s", proposal.id, area_id)
    return proposal


def list_proposals(
    store: Store, area_id: str, status: str | None = None
) -> list[MeasureProposal]:
    """Return the proposals of an area, newest first, optionally of one status."""
    if status is not None and status not in PROPOSAL_STATUSES:
        raise StoreInputError(
            f"proposal status {status!r} is invalid; use one of "
            f"{', '.join(PROPOSAL_STATUSES)}"
        )
    with store.read() as session:
        query = (
            select(MeasureProposal)
            .where(MeasureProposal.area_id == area_id)
            .order_by(MeasureProposal.id.desc())
        )
        if status is not None:
            query = query.where(MeasureProposal.status == status)
        return list(session.scalars(query).all())


def get_proposal(store: Store, proposal_id: int) -> MeasureProposal:
    """Return proposal ``proposal_id``, or raise StoreInputError if unknown."""
    with store.read() as session:
        proposal = session.get(MeasureProposal, proposal_id)
    if proposal is None:
        raise StoreInputError(f"proposal {proposal_id} does not exist")
    return proposal


def accept_proposal(
    store: Store,
    proposal_id: int,
    viewer: Viewer,
    measure_id: str,
    rationale: str,
    configs_dir: Path,
) -> MeasureProposal:
    """Accept a proposal into its area's measure library as ``measure_id``.

    The proposal is validated as a library measure and checked against the
    area's library (shared measures, area overrides and measures accepted
    earlier) in the same transaction as the decision.

    Parameters
    ----------
    configs_dir
        Folder of the area configs, for the area's measure overrides.

    Raises
    ------
    ProposalAccessError
        If the viewer is not a coordinator.
    ProposalInvalidError
        If the proposal is not a valid library measure; the message names
        the field. Nothing is written.
    StoreInputError
        On an empty rationale, an invalid measure id or one that the area's
        library already has, or an unknown proposal.
    StoreError
        If the proposal is already decided.
    """
    author = _require_coordinator(viewer, "accept")
    reason = require_text(rationale, "the rationale of the decision", "give a reason")
    _check_length(reason, "the rationale of the decision")
    new_id = _check_measure_id(measure_id)
    with store.write() as session:
        proposal = _open_proposal(session, proposal_id)
        content = proposal_content(proposal)
        measure = proposal_measure(content, new_id, proposal.id)
        accepted = _accepted_in_session(session, proposal.area_id)
        library = load_measure_library(proposal.area_id, configs_dir)
        _check_new_id(new_id, library.ids, accepted, proposal.area_id)
        try:
            add_measures(
                library,
                [*accepted.values(), measure],
                f"accepted proposals of area {proposal.area_id}",
            )
        except ConfigError as err:
            raise ProposalInvalidError(
                f"proposal {proposal.id} does not fit the measure library of "
                f"area {proposal.area_id}: {err}"
            ) from err
        proposal.status = "accepted"
        proposal.measure_id = new_id
        proposal.measure = measure.model_dump(mode="json")
        _record_decision(proposal, author, reason)
    logger.info(
        "proposal %d of area %s accepted as measure %s",
        proposal.id,
        proposal.area_id,
        new_id,
    )
    return proposal


def reject_proposal(
    store: Store, proposal_id: int, viewer: Viewer, rationale: str
) -> MeasureProposal:
    """Reject a proposal, with the coordinator's rationale.

    Raises
    ------
    ProposalAccessError
        If the viewer is not a coordinator.
    StoreInputError
        On an empty rationale or an unknown proposal.
    StoreError
        If the proposal is already decided.
    """
    author = _require_coordinator(viewer, "reject")
    reason = require_text(rationale, "the rationale of the decision", "give a reason")
    _check_length(reason, "the rationale of the decision")
    with store.write() as session:
        proposal = _open_proposal(session, proposal_id)
        proposal.status = "rejected"
        _record_decision(proposal, author, reason)
    logger.info("proposal %d of area %s rejected", proposal.id, proposal.area_id)
    return proposal


def _require_coordinator(viewer: Viewer, action: str) -> str:
    if viewer.role != "coordinator" or not viewer.name:
        raise ProposalAccessError(
            f"only a coordinator can {action} a proposal; this viewer is "
            f"{viewer.role}. Log in with a coordinator account."
        )
    return viewer.name


def _check_length(text: str, label: str) -> None:
    if len(text) > MAX_TEXT:
        raise StoreInputError(
            f"{label} has {len(text)} characters; use at most {MAX_TEXT}"
        )


def _check_measure_id(measure_id: str) -> str:
    new_id = (measure_id or "").strip()
    if not MEASURE_ID_PATTERN.fullmatch(new_id):
        raise StoreInputError(
            f"measure id {measure_id!r} is invalid; use lower-case letters, "
            "digits and '_', starting with a letter"
        )
    if len(new_id) > MEASURE_ID_MAX_LENGTH:
        raise StoreInputError(
            f"measure id {measure_id!r} has {len(new_id)} characters; use at "
            f"most {MEASURE_ID_MAX_LENGTH}"
        )
    return new_id


def _open_proposal(session: Session, proposal_id: int) -> MeasureProposal:
    proposal = session.get(MeasureProposal, proposal_id)
    if proposal is None:
        raise StoreInputError(f"proposal {proposal_id} does not exist")
    lock_area(session, proposal.area_id)
    # Read again after the lock, so a decision made meanwhile is seen.
    session.refresh(proposal)
    if proposal.status != "proposed":
        decided = proposal.decided_at.isoformat() if proposal.decided_at else "?"
        raise StoreError(
            f"proposal {proposal_id} was already {proposal.status} by "
            f"{proposal.decided_by} on {decided}; only proposals with status "
            "'proposed' can be decided. Submit a new proposal instead."
        )
    return proposal


def _accepted_in_session(session: Session, area_id: str) -> dict[int, Measure]:
    rows = session.scalars(
        select(MeasureProposal)
        .where(
            MeasureProposal.area_id == area_id,
            MeasureProposal.status == "accepted",
        )
        .order_by(MeasureProposal.id)
    ).all()
    measures = {}
    for row in rows:
        try:
            measures[row.id] = Measure.model_validate(row.measure)
        except ValidationError as err:
            raise ProposalInvalidError(
                describe_error(
                    err, f"the measure of accepted proposal {row.id} is invalid"
                )
            ) from err
    return measures


def _check_new_id(
    new_id: str, library_ids: list[str], accepted: dict[int, Measure], area_id: str
) -> None:
    for other_id, measure in accepted.items():
        if measure.id == new_id:
            raise StoreInputError(
                f"measure id {new_id!r} is already used by accepted proposal "
                f"{other_id} of area {area_id}; choose another id"
            )
    if new_id in library_ids:
        raise StoreInputError(
            f"measure id {new_id!r} is already in the measure library of area "
            f"{area_id}; choose another id"
        )


def _record_decision(proposal: MeasureProposal, author: str, reason: str) -> None:
    proposal.decided_by = author
    proposal.decided_at = utc_now()
    proposal.rationale = reason
