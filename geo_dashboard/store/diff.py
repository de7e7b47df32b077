"""Differences between two cycles of an area.

The diff compares the KPI state of both cycles: the close snapshot of a
closed cycle, or the live state of an open one. It also lists the KPI and
target versions recorded after the older cycle up to and including the
newer one, each with its author, time and rationale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from geo_dashboard.store.cycles import CycleState, cycle_state, find_cycle
from geo_dashboard.store.engine import Store
from geo_dashboard.store.models import Cycle, KpiVersion, SnapshotKpi

# Relative tolerance below which two KPI values count as equal.
VALUE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class KpiDelta:
    """Difference of one KPI between cycle A and cycle B.

    ``kind`` is ``added`` or ``retired`` (KPI set), ``moved`` (value changed),
    ``gap`` (no value in either cycle) or ``unchanged``.
    """

    kpi_id: str
    kind: str
    unit: str
    value_a: float | None
    value_b: float | None
    status_a: str | None
    status_b: str | None
    target_a: float | None
    target_year_a: int | None
    target_b: float | None
    target_year_b: int | None

    @property
    def delta(self) -> float | None:
        """Value B minus value A, None if either is missing."""
        if self.value_a is None or self.value_b is None:
            return None
        return self.value_b - self.value_a

    @property
    def target_changed(self) -> bool:
        """Whether the target value or year differs between both cycles."""
        if self.target_year_a is None or self.target_year_b is None:
            return False
        return not _same(self.target_a, self.target_b) or (
            self.target_year_a != self.target_year_b
        )


@dataclass(frozen=True)
class VersionChange:
    """A KPI or target change recorded between both cycles, old against new."""

    kpi_id: str
    change: str
    cycle_number: int
    cycle_version: str
    changed_by: str
    changed_at: datetime
    rationale: str
    old: KpiVersion | None
    new: KpiVersion


@dataclass(frozen=True)
class LayerChange:
    """A layer whose data version (SHA-256) differs between both cycles."""

    layer_id: str
    sha256_a: str | None
    sha256_b: str | None
    year_a: int | None
    year_b: int | None


@dataclass(frozen=True)
class CycleDiff:
    """Everything that differs between an older cycle A and a newer cycle B."""

    area_id: str
    cycle_a: Cycle
    cycle_b: Cycle
    state_a: CycleState
    state_b: CycleState
    kpis: list[KpiDelta]
    changes: list[VersionChange]
    layers: list[LayerChange]

    def of_kind(self, kind: str) -> list[KpiDelta]:
        """Return the KPI deltas of one kind, e.g. ``"moved"``."""
        return [delta for delta in self.kpis if delta.kind == kind]

    @property
    def target_changes(self) -> list[VersionChange]:
        """Changes that set or removed a target."""
        return [c for c in self.changes if c.change in {"set_target", "retire_target"}]


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=VALUE_TOLERANCE, abs_tol=VALUE_TOLERANCE)


def _delta(kpi_id: str, a: SnapshotKpi | None, b: SnapshotKpi | None) -> KpiDelta:
    if a is None:
        kind = "added"
    elif b is None:
        kind = "retired"
    elif a.value is None and b.value is None:
        kind = "gap"
    elif _same(a.value, b.value):
        kind = "unchanged"
    else:
        kind = "moved"
    either = b or a
    assert either is not None
    return KpiDelta(
        kpi_id=kpi_id,
        kind=kind,
        unit=either.unit,
        value_a=a.value if a else None,
        value_b=b.value if b else None,
        status_a=a.status if a else None,
        status_b=b.status if b else None,
        target_a=a.target_value if a else None,
        target_year_a=a.target_year if a else None,
        target_b=b.target_value if b else None,
        target_year_b=b.target_year if b else None,
    )


def _layer_changes(state_a: CycleState, state_b: CycleState) -> list[LayerChange]:
    layers_a = {layer.layer_id: layer for layer in state_a.build.layers}
    layers_b = {layer.layer_id: layer for layer in state_b.build.layers}
    changes = []
    for layer_id in [*layers_a, *(k for k in layers_b if k not in layers_a)]:
        a, b = layers_a.get(layer_id), layers_b.get(layer_id)
        if a is not None and b is not None and a.sha256 == b.sha256:
            continue
        changes.append(
            LayerChange(
                layer_id,
                a.sha256 if a else None,
                b.sha256 if b else None,
                a.year if a else None,
                b.year if b else None,
            )
        )
    return changes


def diff_cycles(store: Store, area_id: str, a: str | int, b: str | int) -> CycleDiff:
    """Compare two cycles of an area; the older one is always cycle A.

    Parameters
    ----------
    store
        An open store.
    area_id
        Area id.
    a, b
        Cycle numbers or versions, in any order. Equal cycles give an empty
        change list.

    Raises
    ------
    CycleNotFoundError
        If either cycle does not exist.
    StoreError
        If a cycle is open and the area has no recorded build.
    """
    with store.read() as session:
        cycle_a = find_cycle(session, area_id, a)
        cycle_b = find_cycle(session, area_id, b)
        if cycle_a.number > cycle_b.number:
            cycle_a, cycle_b = cycle_b, cycle_a
        state_a = cycle_state(session, cycle_a)
        state_b = cycle_state(session, cycle_b)

        rows_a = {row.kpi_id: row for row in state_a.kpis}
        rows_b = {row.kpi_id: row for row in state_b.kpis}
        order = [*rows_a, *(k for k in rows_b if k not in rows_a)]
        kpis = [
            _delta(kpi_id, rows_a.get(kpi_id), rows_b.get(kpi_id)) for kpi_id in order
        ]

        versions = session.scalars(
            select(KpiVersion)
            .join(Cycle, KpiVersion.cycle_id == Cycle.id)
            .where(KpiVersion.area_id == area_id, Cycle.number <= cycle_b.number)
            .order_by(KpiVersion.id)
            .options(selectinload(KpiVersion.cycle))
        ).all()

    previous: dict[str, KpiVersion] = {}
    changes = []
    for version in versions:
        old = previous.get(version.kpi_id)
        previous[version.kpi_id] = version
        if version.cycle.number > cycle_a.number:
            changes.append(
                VersionChange(
                    kpi_id=version.kpi_id,
                    change=version.change,
                    cycle_number=version.cycle.number,
                    cycle_version=version.cycle.version,
                    changed_by=version.changed_by,
                    changed_at=version.changed_at,
                    rationale=version.rationale,
                    old=old,
                    new=version,
                )
            )
    return CycleDiff(
        area_id,
        cycle_a,
        cycle_b,
        state_a,
        state_b,
        kpis,
        changes,
        _layer_changes(state_a, state_b),
    )
