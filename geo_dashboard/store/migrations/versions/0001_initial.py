"""Create the dashboard store: builds, cycles, versions, reflections, gaps.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _kinds(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _area_id() -> sa.Column:
    return sa.Column(
        "area_id",
        sa.String(63),
        sa.ForeignKey("areas.area_id", name=None),
        nullable=False,
        index=True,
    )


def upgrade() -> None:
    op.create_table(
        "areas",
        sa.Column("area_id", sa.String(63), nullable=False),
        sa.Column("name_nl", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("config_file", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("area_id", name="pk_areas"),
    )
    op.create_table(
        "builds",
        _id(),
        _area_id(),
        sa.Column("build_id", sa.String(120), nullable=False),
        sa.Column("built_at", sa.String(40), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("parcel_count", sa.Integer(), nullable=False),
        sa.Column("software_version", sa.String(40), nullable=False),
        sa.UniqueConstraint("area_id", "build_id", name="uq_builds_area_id"),
    )
    op.create_table(
        "build_values",
        _id(),
        sa.Column(
            "build_pk",
            sa.Integer(),
            sa.ForeignKey("builds.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("kpi_id", sa.String(63), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("data_year", sa.Integer(), nullable=True),
        sa.Column("unit", sa.String(40), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("missing_layers", sa.Text(), nullable=False),
    )
    op.create_table(
        "build_layers",
        _id(),
        sa.Column(
            "build_pk",
            sa.Integer(),
            sa.ForeignKey("builds.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("layer_id", sa.String(120), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
    )
    op.create_table(
        "cycles",
        _id(),
        _area_id(),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(20), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("is_sketch", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("started_by", sa.String(120), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(120), nullable=True),
        sa.UniqueConstraint("area_id", "number", name="uq_cycles_area_id"),
        sa.CheckConstraint(
            _kinds("status", ("open", "closed")), name="ck_cycles_status"
        ),
    )
    op.create_table(
        "snapshots",
        _id(),
        sa.Column(
            "cycle_id",
            sa.Integer(),
            sa.ForeignKey("cycles.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.Column("taken_by", sa.String(120), nullable=False),
        sa.Column("build_pk", sa.Integer(), sa.ForeignKey("builds.id"), nullable=False),
        sa.UniqueConstraint("cycle_id", "kind", name="uq_snapshots_cycle_id"),
        sa.CheckConstraint(
            _kinds("kind", ("start", "close")), name="ck_snapshots_kind"
        ),
    )
    op.create_table(
        "snapshot_kpis",
        _id(),
        sa.Column(
            "snapshot_id",
            sa.Integer(),
            sa.ForeignKey("snapshots.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("kpi_id", sa.String(63), nullable=False),
        sa.Column("kpi_version", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("data_year", sa.Integer(), nullable=True),
        sa.Column("unit", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.Column("expected_progress", sa.Float(), nullable=True),
        sa.Column("baseline_value", sa.Float(), nullable=True),
        sa.Column("baseline_year", sa.Integer(), nullable=False),
        sa.Column("target_value", sa.Float(), nullable=True),
        sa.Column("target_year", sa.Integer(), nullable=False),
        sa.Column("target_basis", sa.String(20), nullable=False),
    )
    changes = (
        "seed",
        "add_kpi",
        "retire_kpi",
        "set_target",
        "retire_target",
        "set_baseline",
    )
    op.create_table(
        "kpi_versions",
        _id(),
        _area_id(),
        sa.Column("kpi_id", sa.String(63), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "cycle_id",
            sa.Integer(),
            sa.ForeignKey("cycles.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("change", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("baseline_value", sa.Float(), nullable=True),
        sa.Column("baseline_year", sa.Integer(), nullable=False),
        sa.Column("baseline_basis", sa.String(20), nullable=False),
        sa.Column("baseline_source", sa.Text(), nullable=False),
        sa.Column("target_value", sa.Float(), nullable=True),
        sa.Column("target_year", sa.Integer(), nullable=False),
        sa.Column("target_basis", sa.String(20), nullable=False),
        sa.Column("target_source", sa.Text(), nullable=False),
        sa.Column("interim", sa.JSON(), nullable=False),
        sa.Column("changed_by", sa.String(120), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.UniqueConstraint(
            "area_id", "kpi_id", "version", name="uq_kpi_versions_area_id"
        ),
        sa.CheckConstraint(
            "length(trim(rationale)) > 0", name="ck_kpi_versions_rationale"
        ),
        sa.CheckConstraint(
            "length(trim(changed_by)) > 0", name="ck_kpi_versions_changed_by"
        ),
        sa.CheckConstraint(_kinds("change", changes), name="ck_kpi_versions_change"),
    )
    op.create_table(
        "map_views",
        _id(),
        _area_id(),
        sa.Column("kpi_id", sa.String(63), nullable=True),
        sa.Column("layers", sa.JSON(), nullable=False),
        sa.Column("west", sa.Float(), nullable=True),
        sa.Column("south", sa.Float(), nullable=True),
        sa.Column("east", sa.Float(), nullable=True),
        sa.Column("north", sa.Float(), nullable=True),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "reflections",
        _id(),
        _area_id(),
        sa.Column(
            "cycle_id",
            sa.Integer(),
            sa.ForeignKey("cycles.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kpi_id", sa.String(63), nullable=True),
        sa.Column("measure", sa.Text(), nullable=True),
        sa.Column("effective", sa.String(10), nullable=True),
        sa.Column("feasible", sa.String(10), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column(
            "map_view_id", sa.Integer(), sa.ForeignKey("map_views.id"), nullable=True
        ),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            _kinds("kind", ("lesson", "decision", "evaluation", "dilemma")),
            name="ck_reflections_kind",
        ),
        sa.CheckConstraint("length(trim(text)) > 0", name="ck_reflections_text"),
    )
    op.create_table(
        "data_gaps",
        _id(),
        _area_id(),
        sa.Column("subject_kind", sa.String(10), nullable=False),
        sa.Column("subject", sa.String(63), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint(
            "area_id", "subject_kind", "subject", name="uq_data_gaps_area_id"
        ),
        sa.CheckConstraint(
            _kinds("subject_kind", ("kpi", "layer")), name="ck_data_gaps_subject_kind"
        ),
    )
    statuses = ("open", "requested", "in_progress", "resolved", "dropped")
    op.create_table(
        "data_gap_versions",
        _id(),
        sa.Column(
            "gap_id",
            sa.Integer(),
            sa.ForeignKey("data_gaps.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("missing", sa.Text(), nullable=False),
        sa.Column("supplier", sa.Text(), nullable=True),
        sa.Column("sourcing_cost_eur", sa.Float(), nullable=True),
        sa.Column("handling_cost_eur", sa.Float(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.String(120), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("gap_id", "version", name="uq_data_gap_versions_gap_id"),
        sa.CheckConstraint(
            _kinds("status", statuses), name="ck_data_gap_versions_status"
        ),
        sa.CheckConstraint(
            "length(trim(missing)) > 0", name="ck_data_gap_versions_missing"
        ),
    )


def downgrade() -> None:
    for table in (
        "data_gap_versions",
        "data_gaps",
        "reflections",
        "map_views",
        "kpi_versions",
        "snapshot_kpis",
        "snapshots",
        "cycles",
        "build_layers",
        "build_values",
        "builds",
        "areas",
    ):
        op.drop_table(table)
