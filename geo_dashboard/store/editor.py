"""Changes to an area process made for a logged-in viewer: coordinators only.

The Cycles page writes through :class:`CycleEditor`. Each method checks the
viewer's role before it calls the store function of the same name, so a page
that shows a form by mistake still cannot write for a farmer, a planner or
the public. The command line calls the store functions directly, because
whoever can run it can also open the store file or database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from geo_dashboard.privacy import Viewer
from geo_dashboard.store.cycles import StartedCycle, close_cycle, start_cycle
from geo_dashboard.store.engine import Store
from geo_dashboard.store.errors import StoreError
from geo_dashboard.store.gaps import GapEntry, set_gap
from geo_dashboard.store.models import Cycle, KpiVersion, Reflection
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
