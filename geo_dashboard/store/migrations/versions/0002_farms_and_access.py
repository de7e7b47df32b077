"""Add farm data imports, farm consents, users, farms of users and sessions.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _kinds(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _foreign(name: str, target: str, type_: sa.types.TypeEngine) -> sa.Column:
    return sa.Column(name, type_, sa.ForeignKey(target), nullable=False, index=True)


def upgrade() -> None:
    op.create_table(
        "farm_data_imports",
        _id(),
        _foreign("area_id", "areas.area_id", sa.String(63)),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("imported_by", sa.String(120), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "farm_data_values",
        _id(),
        _foreign("import_id", "farm_data_imports.id", sa.Integer()),
        _foreign("area_id", "areas.area_id", sa.String(63)),
        sa.Column("farm_id", sa.String(120), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(63), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.UniqueConstraint(
            "import_id",
            "farm_id",
            "year",
            "field",
            name="uq_farm_data_values_import_id",
        ),
    )
    op.create_table(
        "farm_consents",
        _id(),
        _foreign("area_id", "areas.area_id", sa.String(63)),
        sa.Column("farm_id", sa.String(120), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(120), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            _kinds("purpose", ("coordinator", "farmers", "aggregates")),
            name="ck_farm_consents_purpose",
        ),
        sa.CheckConstraint(
            "length(trim(changed_by)) > 0", name="ck_farm_consents_changed_by"
        ),
    )
    op.create_table(
        "users",
        _id(),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.CheckConstraint(
            _kinds("role", ("coordinator", "farmer", "planner")), name="ck_users_role"
        ),
    )
    op.create_table(
        "user_farms",
        _id(),
        _foreign("user_id", "users.id", sa.Integer()),
        sa.Column("farm_id", sa.String(120), nullable=False),
        sa.UniqueConstraint("user_id", "farm_id", name="uq_user_farms_user_id"),
    )
    op.create_table(
        "user_sessions",
        _id(),
        _foreign("user_id", "users.id", sa.Integer()),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_user_sessions_token_hash"),
    )


def downgrade() -> None:
    for table in (
        "user_sessions",
        "user_farms",
        "users",
        "farm_consents",
        "farm_data_values",
        "farm_data_imports",
    ):
        op.drop_table(table)
