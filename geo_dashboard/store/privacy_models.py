"""Tables for farm data, consent, users and login sessions.

The farm data and consent tables only grow: a new import adds rows beside the
earlier ones and a consent change adds a row. A user is deactivated rather
than deleted, and a password change replaces the hash. Passwords and session
tokens are stored only as hashes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from geo_dashboard.privacy.viewer import PURPOSES, ROLES
from geo_dashboard.store.models import Base, UtcDateTime

# Purposes a farm can consent to, in the order the farm page lists them.
CONSENT_PURPOSES: tuple[str, ...] = PURPOSES
# Roles of dashboard users; "public" is everyone who is not logged in.
USER_ROLES: tuple[str, ...] = tuple(role for role in ROLES if role != "public")
FARM_ID_LENGTH = 120


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class FarmDataImport(Base):
    """One imported farm data file: its name, SHA-256 digest, who and when."""

    __tablename__ = "farm_data_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[str] = mapped_column(ForeignKey("areas.area_id"), index=True)
    file_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(Integer)
    imported_by: Mapped[str] = mapped_column(String(120))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime)

    values: Mapped[list[FarmDataValue]] = relationship(
        back_populates="data_import", order_by="FarmDataValue.id"
    )


class FarmDataValue(Base):
    """One figure of one farm and year from an import (empty cells are not stored)."""

    __tablename__ = "farm_data_values"
    __table_args__ = (UniqueConstraint("import_id", "farm_id", "year", "field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(
        ForeignKey("farm_data_imports.id"), index=True
    )
    area_id: Mapped[str] = mapped_column(ForeignKey("areas.area_id"), index=True)
    farm_id: Mapped[str] = mapped_column(String(FARM_ID_LENGTH))
    year: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(63))
    value: Mapped[float] = mapped_column(Float)

    data_import: Mapped[FarmDataImport] = relationship(back_populates="values")


class FarmConsent(Base):
    """A consent given or withdrawn for one farm and purpose; the newest row counts."""

    __tablename__ = "farm_consents"
    __table_args__ = (
        CheckConstraint(_in("purpose", CONSENT_PURPOSES), name="purpose"),
        CheckConstraint("length(trim(changed_by)) > 0", name="changed_by"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[str] = mapped_column(ForeignKey("areas.area_id"), index=True)
    farm_id: Mapped[str] = mapped_column(String(FARM_ID_LENGTH))
    purpose: Mapped[str] = mapped_column(String(20))
    granted: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = mapped_column(String(120))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class User(Base):
    """A dashboard user with a role and an argon2 password hash."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("username"),
        CheckConstraint(_in("role", USER_ROLES), name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UtcDateTime)

    farms: Mapped[list[UserFarm]] = relationship(
        back_populates="user", order_by="UserFarm.farm_id"
    )


class UserFarm(Base):
    """A farm that a farmer account may act for."""

    __tablename__ = "user_farms"
    __table_args__ = (UniqueConstraint("user_id", "farm_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    farm_id: Mapped[str] = mapped_column(String(FARM_ID_LENGTH))

    user: Mapped[User] = relationship(back_populates="farms")


class UserSession(Base):
    """A login session: the SHA-256 hash of its token and when it expires."""

    __tablename__ = "user_sessions"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    user: Mapped[User] = relationship()
