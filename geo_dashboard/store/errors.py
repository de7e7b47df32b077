"""Exceptions raised by the dashboard store."""

from __future__ import annotations

from geo_dashboard.errors import GeoDashboardError


class StoreError(GeoDashboardError, RuntimeError):
    """The store cannot carry out a request in its current state.

    Examples are a target change while no cycle is open, or a cycle command
    for an area that has no recorded build.
    """


class StoreInputError(StoreError, ValueError):
    """A value passed to the store is invalid, such as an empty rationale."""


class CycleNotFoundError(StoreInputError, LookupError):
    """A cycle number or version does not exist for the area."""
