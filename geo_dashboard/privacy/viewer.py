"""Who is looking: the viewer's role and farms, and the consent purposes.

A viewer is ``public`` until logged in. A ``farmer`` acts for one or more
farms of the farm register. A ``coordinator`` acts for no farm and sees
farm-level data only through consent, and a ``planner`` sees aggregates only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from geo_dashboard.errors import GeoDashboardError

Role = Literal["coordinator", "farmer", "planner", "public"]
ROLES: tuple[Role, ...] = ("coordinator", "farmer", "planner", "public")

Purpose = Literal["coordinator", "farmers", "aggregates"]
# coordinator: show my farm to the area coordinator;
# farmers: show my farm to the other farmers in the area;
# aggregates: use my farm's data in area aggregates.
PURPOSES: tuple[Purpose, ...] = ("coordinator", "farmers", "aggregates")

# Consents in force: farm id -> purposes granted. A farm that is absent has
# granted nothing.
Consents = Mapping[str, frozenset[str]]
NO_CONSENTS: Consents = {}


class AccessDeniedError(GeoDashboardError, PermissionError):
    """A viewer asked for farm data that the disclosure rules do not allow."""


@dataclass(frozen=True)
class Viewer:
    """The person a page, export or library call is prepared for.

    Parameters
    ----------
    role
        One of :data:`ROLES`.
    farms
        Farm ids a farmer acts for; empty for every other role.
    name
        Username, recorded as the author of consent changes; None for public.
    """

    role: Role = "public"
    farms: frozenset[str] = field(default_factory=frozenset)
    name: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(
                f"viewer role {self.role!r} is invalid; use one of {', '.join(ROLES)}"
            )
        if not isinstance(self.farms, frozenset):
            object.__setattr__(self, "farms", frozenset(self.farms))
        if self.role == "farmer" and not self.farms:
            raise ValueError("a farmer viewer needs at least one farm")
        if self.role != "farmer" and self.farms:
            raise ValueError(
                f"a {self.role} viewer acts for no farm; got {len(self.farms)}"
            )

    @property
    def is_public(self) -> bool:
        """Whether the viewer is not logged in."""
        return self.role == "public"


PUBLIC = Viewer()


def granted(consents: Consents, purpose: Purpose) -> frozenset[str]:
    """Return the farms whose consent for ``purpose`` is in force."""
    if purpose not in PURPOSES:
        raise ValueError(
            f"consent purpose {purpose!r} is invalid; use one of {', '.join(PURPOSES)}"
        )
    return frozenset(farm for farm, purposes in consents.items() if purpose in purposes)
