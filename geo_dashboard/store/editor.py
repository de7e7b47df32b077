"""Changes to an area process made for a logged-in viewer: coordinators only.

The Cycles page writes through :class:`CycleEditor`. Each method checks the
viewer's role before it calls the store function of the same name, so a page
that shows a form by mistake still cannot write for a farmer, a planner or
the public.

The command line writes through :func:`author_editor`, which resolves
``--by`` to a dashboard user. Once the store has any dashboard user, only an
active user with an editor role may change the area process. A store without
users (first set-up) accepts the change under the given name and logs a
warning. Whoever can run the command line can still write to the store file
or database directly, so this check keeps the recorded authors honest but is
no access control against that person.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from geo_dashboard.privacy import Viewer
from geo_dashboard.store._common import require_author
from geo_dashboard.store.cycles import StartedCycle, close_cycle, start_cycle
from geo_dashboard.store.engine import Store
from geo_dashboard.store.errors import StoreError
from geo_dashboard.store.gaps import GapEntry, set_gap
from geo_dashboard.store.models import Cycle, KpiVersion, Reflection
from geo_dashboard.store.privacy_models import User
from geo_dashboard.store.reflections import add_reflection
from geo_dashboard.store.versions import retire_kpi, set_target

logger = logging.getLogger(__name__)

# Roles that may start and close cycles, change targets and the KPI set, and
# record reflections and data gaps.
EDITOR_ROLES: tuple[str, ...] = ("coordinator",)


class ChangeNotAllowedError(StoreError, PermissionError):
    """A viewer whose role may not change the area process asked to change it."""


def may_edit(viewer: Viewer) -> bool:
    """Return whether ``viewer`` may change cycles, targets, reflections and gaps."""
    return viewer.role in EDITOR_ROLES


def require_editor(viewer: Viewer, action: str) -> None:
    """Raise ChangeNotAllowedError unless ``viewer`` may change the area process."""
    if may_edit(viewer):
        return
    # The role only: usernames are not logged.
    logger.warning("rejected a request to %s by a %s viewer", action, viewer.role)
    raise ChangeNotAllowedError(
        f"cannot {action}: the {viewer.role} role may not change the area "
        f"process. Log in with an account of role {' or '.join(EDITOR_ROLES)}."
    )


def author_editor(store: Store, by: str | None, action: str) -> CycleEditor:
    """Return a :class:`CycleEditor` for the dashboard user named ``by``.

    ``action`` names the change in error messages, e.g. ``"change a target"``.

    Raises
    ------
    StoreInputError
        If ``by`` is empty or too long.
    ChangeNotAllowedError
        If the store has dashboard users and ``by`` is not one of them, is
        deactivated, or has a role outside :data:`EDITOR_ROLES`.
    """
    author = require_author(by)
    with store.read() as session:
        user_count = session.scalar(select(func.count()).select_from(User)) or 0
        user = session.scalars(
            select(User).where(User.username == author)
        ).one_or_none()
        role = None if user is None else user.role
        active = user is not None and user.active
    if user_count == 0:
        # First set-up: nobody can be checked yet. The name is not logged.
        logger.warning(
            "the store has no dashboard users yet, so the change (%s) is recorded "
            "under the given --by name without a role check. Add a coordinator "
            "with: geo-dashboard users add NAME --role coordinator",
            action,
        )
        return CycleEditor(store, Viewer(role="coordinator", name=author))
    fix = f"geo-dashboard users add {author} --role coordinator"
    if role is None:
        logger.warning("rejected a request to %s by an unknown user", action)
        raise ChangeNotAllowedError(
            f"cannot {action}: {author!r} is not a dashboard user, and only a user "
            f"with role {' or '.join(EDITOR_ROLES)} may change the area process. "
            f"Pass --by with a coordinator's username, or add one: {fix}"
        )
    if not active:
        logger.warning("rejected a request to %s by a deactivated user", action)
        raise ChangeNotAllowedError(
            f"cannot {action}: user {author!r} is deactivated. Pass --by with an "
            f"active coordinator's username, or add one: {fix}"
        )
    if role not in EDITOR_ROLES:
        logger.warning("rejected a request to %s by a %s user", action, role)
        raise ChangeNotAllowedError(
            f"cannot {action}: user {author!r} has role {role}, which may not "
            f"change the area process. Pass --by with a coordinator's username, "
            f"or add one: {fix}"
        )
    return CycleEditor(store, Viewer(role=role, name=author))


@dataclass(frozen=True)
class CycleEditor:
    """The store functions that change an area process, for one viewer.

    Every method raises :class:`ChangeNotAllowedError` before it opens a
    transaction when the viewer's role is not in :data:`EDITOR_ROLES`.
    """

    store: Store
    viewer: Viewer

    def start_cycle(self, area_id: str, name: str, by: str | None) -> StartedCycle:
        """Start the next cycle, as :func:`geo_dashboard.store.start_cycle`."""
        require_editor(self.viewer, "start a cycle")
        return start_cycle(self.store, area_id, name, by)

    def close_cycle(self, area_id: str, by: str | None) -> Cycle:
        """Close the open cycle, as :func:`geo_dashboard.store.close_cycle`."""
        require_editor(self.viewer, "close a cycle")
        return close_cycle(self.store, area_id, by)

    def set_target(self, area_id: str, kpi_id: str, **change: Any) -> KpiVersion:
        """Change a KPI's target, as :func:`geo_dashboard.store.set_target`."""
        require_editor(self.viewer, "change a target")
        return set_target(self.store, area_id, kpi_id, **change)

    def retire_kpi(
        self, area_id: str, kpi_id: str, *, rationale: str | None, by: str | None
    ) -> KpiVersion:
        """Take a KPI out of the set, as :func:`geo_dashboard.store.retire_kpi`."""
        require_editor(self.viewer, "retire a KPI")
        return retire_kpi(self.store, area_id, kpi_id, rationale=rationale, by=by)

    def add_reflection(
        self, area_id: str, kind: str, text: str, by: str | None, **details: Any
    ) -> Reflection:
        """Add a reflection, as :func:`geo_dashboard.store.add_reflection`."""
        require_editor(self.viewer, "add a reflection")
        return add_reflection(self.store, area_id, kind, text, by, **details)

    def set_gap(
        self, area_id: str, subject_kind: str, subject: str, **entry: Any
    ) -> GapEntry:
        """Add or update a data gap, as :func:`geo_dashboard.store.set_gap`."""
        require_editor(self.viewer, "record a data gap")
        return set_gap(self.store, area_id, subject_kind, subject, **entry)
