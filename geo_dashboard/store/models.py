"""Tables of the dashboard store (SQLAlchemy 2 declarative models).

Every change is a new row. KPI and target changes and data-gap updates are
stored as numbered versions, each with the full state after the change, so
the current state is the highest version and the history is never lost.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Constraint names follow a fixed pattern, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

REFLECTION_KINDS = ("lesson", "decision", "evaluation", "dilemma")
ASSESSMENTS = ("yes", "partly", "no", "unknown")
GAP_SUBJECTS = ("kpi", "layer")
GAP_STATUSES = ("open", "requested", "in_progress", "resolved", "dropped")
KPI_CHANGES = (
    "seed",
    "add_kpi",
    "retire_kpi",
    "set_target",
    "retire_target",
    "set_baseline",
)


def utc_now() -> datetime:
    """Return the current time in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and read back as aware UTC.

    SQLite has no time zones, so every dialect stores naive UTC values and
    this type adds the zone on the way out.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no time zone; pass UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    """Declarative base with the store's constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Area(Base):
    """An area known to the store; every other row belongs to one."""

    __tablename__ = "areas"

    area_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    name_nl: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    config_file: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Build(Base):
    """A finished build of an area, recorded with its KPI values and layers."""

    __tablename__ = "builds"
    __table_args__ = (UniqueConstraint("area_id", "build_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[str] = mapped_column(ForeignKey("areas.area_id"), index=True)
    build_id: Mapped[str] = mapped_column(String(120))
    built_at: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    parcel_count: Mapped[int] = mapped_column(Integer)
    software_version: Mapped[str] = mapped_column(String(40))

    values: Mapped[list[BuildValue]] = relationship(
        back_populates="build", cascade="all, delete-orphan", order_by="BuildValue.id"
    )
    layers: Mapped[list[BuildLayer]] = relationship(
        back_populates="build", cascade="all, delete-orphan", order_by="BuildLayer.id"
    )


class BuildValue(Base):
    """The value of one KPI in one build; ``value`` is None for a data gap."""

    __tablename__ = "build_values"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    build_pk: Mapped[int] = mapped_column(ForeignKey("builds.id"), index=True)
    kpi_id: Mapped[str] = mapped_column(String(63))
    value: Mapped[float | None] = mapped_column(Float)
    data_year: Mapped[int | None] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(40))
    direction: Mapped[str] = mapped_column(String(10))
    missing_layers: Mapped[str] = mapped_column(Text, default="")

    build: Mapped[Build] = relationship(back_populates="values")


class BuildLayer(Base):
    """Data version of a layer used by a build: its file and SHA-256 digest."""

    __tablename__ = "build_layers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    build_pk: Mapped[int] = mapped_column(ForeignKey("builds.id"), index=True)
    layer_id: Mapped[str] = mapped_column(String(120))
    file: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    year: Mapped[int | None] = mapped_column(Integer)

    build: Mapped[Build] = relationship(back_populates="layers")


class Cycle(Base):
    """A cycle of the area process; number 1 is the v0.1 sketch."""

    __tablename__ = "cycles"
    __table_args__ = (
        UniqueConstraint("area_id", "number"),
        CheckConstraint(_in("status", ("open", "closed")), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[str] = mapped_column(ForeignKey("areas.area_id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(Text)
    is_sketch: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default="open")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_by: Mapped[str] = mapped_column(String(120))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(120))


class Snapshot(Base):
    """The KPI values and targets in force, frozen at a cycle's start or close."""

    __tablename__ = "snapshots"
    __table_args__ = (
        UniqueConstraint("cycle_id", "kind"),
        CheckConstraint(_in("kind", ("start", "close")), name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    taken_at: Mapped[datetime] = mapped_column(UtcDateTime)
    taken_by: Mapped[str] = mapped_column(String(120))
    build_pk: Mapped[int] = mapped_column(ForeignKey("builds.id"))

    kpis: Mapped[list[SnapshotKpi]] = relationship(
        cascade="all, delete-orphan", order_by="SnapshotKpi.id"
    )
    build: Mapped[Build] = relationship()


class SnapshotKpi(Base):
    """One KPI of the set in force in a snapshot, with its value and target."""

    __tablename__ = "snapshot_kpis"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id"), index=True)
    kpi_id: Mapped[str] = mapped_column(String(63))
    kpi_version: Mapped[int] = mapped_column(Integer)
    value: Mapped[float | None] = mapped_column(Float)
    data_year: Mapped[int | None] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    progress: Mapped[float | None] = mapped_column(Float)
    expected_progress: Mapped[float | None] = mapped_column(Float)
    baseline_value: Mapped[float | None] = mapped_column(Float)
    baseline_year: Mapped[int] = mapped_column(Integer)
    target_value: Mapped[float | None] = mapped_column(Float)
    target_year: Mapped[int] = mapped_column(Integer)
    target_basis: Mapped[str] = mapped_column(String(20))


class KpiVersion(Base):
    """The full state of an area KPI after one change, with who, when and why."""

    __tablename__ = "kpi_versions"
    __table_args__ = (
        UniqueConstraint("area_id", "kpi_id", "version"),
        CheckConstraint("length(trim(rationale)) > 0", name="rationale"),
        CheckConstraint("length(trim(changed_by)) > 0", name="changed_by"),
        CheckConstraint(_in("change", KPI_CHANGES), name="change"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[str] = mapped_column(ForeignKey("areas.area_id"), index=True)
    kpi_id: Mapped[str] = mapped_column(String(63))
    version: Mapped[int] = mapped_column(Integer)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    change: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean)
    baseline_value: Mapped[float | None] = mapped_column(Float)
    baseline_year: Mapped[int] = mapped_column(Integer)
    baseline_basis: Mapped[str] = mapped_column(String(20))
    baseline_source: Mapped[str] = mapped_column(Text)
    target_value: Mapped[float | None] = mapped_column(Float)
    target_year: Mapped[int] = mapped_column(Integer)
    target_basis: Mapped[str] = mapped_column(String(20))
    target_source: Mapped[str] = mapped_column(Text)
    interim: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    changed_by: Mapped[str] = mapped_column(String(120))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    rationale: Mapped[str] = mapped_column(Text)

    cycle: Mapped[Cycle] = relationship()


class MapView(Base):
    """A saved map view: KPI shown, layers switched on and extent (EPSG:4326)."""

    __tablename__ = "map_views"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[str] = mapped_column(ForeignKey("areas.area_id"), index=True)
    kpi_id: Mapped[str | None] = mapped_column(String(63))
    layers: Mapped[list[str]] = mapped_column(JSON, default=list)
    west: Mapped[float | None] = mapped_column(Float)
    south: Mapped[float | None] = mapped_column(Float)
    east: Mapped[float | None] = mapped_column(Float)
    north: Mapped[float | None] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Reflection(Base):
    """A lesson, decision, measure evaluation or open dilemma of a cycle."""

    __tablename__ = "reflections"
    __table_args__ = (
        CheckConstraint(_in("kind", REFLECTION_KINDS), name="kind"),
        CheckConstraint("length(trim(text)) > 0", name="text"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[str] = mapped_column(ForeignKey("areas.area_id"), index=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    kpi_id: Mapped[str | None] = mapped_column(String(63))
    measure: Mapped[str | None] = mapped_column(Text)
    effective: Mapped[str | None] = mapped_column(String(10))
    feasible: Mapped[str | None] = mapped_column(String(10))
    evidence: Mapped[str | None] = mapped_column(Text)
    map_view_id: Mapped[int | None] = mapped_column(ForeignKey("map_views.id"))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    cycle: Mapped[Cycle] = relationship()
    map_view: Mapped[MapView | None] = relationship()


class DataGap(Base):
    """An entry of the data-gap register: a KPI or a layer role without data."""

    __tablename__ = "data_gaps"
    __table_args__ = (
        UniqueConstraint("area_id", "subject_kind", "subject"),
        CheckConstraint(_in("subject_kind", GAP_SUBJECTS), name="subject_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[str] = mapped_column(ForeignKey("areas.area_id"), index=True)
    subject_kind: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(63))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    versions: Mapped[list[DataGapVersion]] = relationship(
        back_populates="gap", order_by="DataGapVersion.version"
    )


class DataGapVersion(Base):
    """The state of a data-gap entry after one update; costs in euro."""

    __tablename__ = "data_gap_versions"
    __table_args__ = (
        UniqueConstraint("gap_id", "version"),
        CheckConstraint(_in("status", GAP_STATUSES), name="status"),
        CheckConstraint("length(trim(missing)) > 0", name="missing"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gap_id: Mapped[int] = mapped_column(ForeignKey("data_gaps.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    missing: Mapped[str] = mapped_column(Text)
    supplier: Mapped[str | None] = mapped_column(Text)
    sourcing_cost_eur: Mapped[float | None] = mapped_column(Float)
    handling_cost_eur: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(120))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)

    gap: Mapped[DataGap] = relationship(back_populates="versions")


PROPOSAL_STATUSES = ("proposed", "accepted", "rejected")
# An open proposal has no decision; a decided one has who, when and why, and
# a measure id exactly when accepted. Every operand is checked for NULL,
# because a CHECK that evaluates to NULL passes.
PROPOSAL_DECISION_CHECK = (
    "(status = 'proposed' AND decided_by IS NULL AND decided_at IS NULL "
    "AND measure_id IS NULL AND measure IS NULL) OR "
    "(status = 'rejected' AND decided_by IS NOT NULL "
    "AND length(trim(decided_by)) > 0 AND decided_at IS NOT NULL "
    "AND rationale IS NOT NULL AND length(trim(rationale)) > 0 "
    "AND measure_id IS NULL AND measure IS NULL) OR "
    "(status = 'accepted' AND decided_by IS NOT NULL "
    "AND length(trim(decided_by)) > 0 AND decided_at IS NOT NULL "
    "AND rationale IS NOT NULL AND length(trim(rationale)) > 0 "
    "AND measure_id IS NOT NULL AND measure IS NOT NULL)"
)


class MeasureProposal(Base):
    """A measure proposed by an area participant, and the coordinator's decision.

    The proposal fields hold the data of
    :class:`geo_dashboard.measures.proposals.ProposalContent` as written. A
    decision sets ``status`` once, with who, when and why. An accepted
    proposal keeps the library measure it became in ``measure`` (JSON of
    :class:`geo_dashboard.measures.library.Measure`) under ``measure_id``,
    unique within the area. Rows are never deleted.
    """

    __tablename__ = "measure_proposals"
    __table_args__ = (
        UniqueConstraint("area_id", "measure_id"),
        CheckConstraint(_in("status", PROPOSAL_STATUSES), name="status"),
        CheckConstraint("length(trim(title)) > 0", name="title"),
        CheckConstraint("length(trim(proposed_by)) > 0", name="proposed_by"),
        CheckConstraint(
            PROPOSAL_DECISION_CHECK,
            name="decision",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[str] = mapped_column(ForeignKey("areas.area_id"), index=True)
    proposed_by: Mapped[str] = mapped_column(String(120))
    account: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    applies: Mapped[dict[str, Any]] = mapped_column(JSON)
    effects: Mapped[dict[str, Any]] = mapped_column(JSON)
    annual_cost: Mapped[dict[str, Any]] = mapped_column(JSON)
    one_off_cost: Mapped[dict[str, Any]] = mapped_column(JSON)
    farm_operations: Mapped[str] = mapped_column(Text)
    income_change: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="proposed")
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    rationale: Mapped[str | None] = mapped_column(Text)
    measure_id: Mapped[str | None] = mapped_column(String(63))
    measure: Mapped[dict[str, Any] | None] = mapped_column(JSON)
