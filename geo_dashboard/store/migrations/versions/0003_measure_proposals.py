"""Add measure proposals of area participants and the coordinator's decisions.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATUSES = ("proposed", "accepted", "rejected")
# The same condition as PROPOSAL_DECISION_CHECK in geo_dashboard/store/models.py,
# copied so that this revision does not change when the model does.
DECISION_CHECK = (
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


def _kinds(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


def upgrade() -> None:
    op.create_table(
        "measure_proposals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "area_id",
            sa.String(63),
            sa.ForeignKey("areas.area_id"),
            nullable=False,
            index=True,
        ),
        sa.Column("proposed_by", sa.String(120), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("applies", sa.JSON(), nullable=False),
        sa.Column("effects", sa.JSON(), nullable=False),
        sa.Column("annual_cost", sa.JSON(), nullable=False),
        sa.Column("one_off_cost", sa.JSON(), nullable=False),
        sa.Column("farm_operations", sa.Text(), nullable=False),
        sa.Column("income_change", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("decided_by", sa.String(120), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("measure_id", sa.String(63), nullable=True),
        sa.Column("measure", sa.JSON(), nullable=True),
        sa.UniqueConstraint(
            "area_id", "measure_id", name="uq_measure_proposals_area_id"
        ),
        sa.CheckConstraint(
            _kinds("status", STATUSES), name="ck_measure_proposals_status"
        ),
        sa.CheckConstraint(
            "length(trim(title)) > 0", name="ck_measure_proposals_title"
        ),
        sa.CheckConstraint(
            "length(trim(proposed_by)) > 0", name="ck_measure_proposals_proposed_by"
        ),
        sa.CheckConstraint(DECISION_CHECK, name="ck_measure_proposals_decision"),
    )


def downgrade() -> None:
    op.drop_table("measure_proposals")
