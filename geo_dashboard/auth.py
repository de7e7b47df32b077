"""Dashboard users, argon2 password hashes and login sessions that expire.

Passwords are hashed with argon2id (``argon2-cffi``); only the hash is
stored. A login returns a random session token (256 bits from
:mod:`secrets`); the store keeps its SHA-256 hash and the expiry time, so a
copy of the database gives no usable token. Neither passwords nor tokens nor
usernames are logged; log records name the numeric user id.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from geo_dashboard.errors import GeoDashboardError
from geo_dashboard.privacy.viewer import Viewer
from geo_dashboard.store._common import require_author, require_choice
from geo_dashboard.store.engine import Store
from geo_dashboard.store.errors import StoreInputError
from geo_dashboard.store.models import utc_now
from geo_dashboard.store.privacy_models import (
    FARM_ID_LENGTH,
    USER_ROLES,
    User,
    UserFarm,
    UserSession,
)

logger = logging.getLogger(__name__)

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 1024
# Lifetime of a session from login; logout, a password change or
# deactivation of the user end it earlier.
SESSION_LIFETIME = timedelta(hours=8)
TOKEN_BYTES = 32

# argon2-cffi 25.1's defaults, its profile RFC_9106_LOW_MEMORY: argon2id,
# 3 passes, 64 MiB, 4 lanes, 16-byte salt.
_HASHER = PasswordHasher()


class AuthError(GeoDashboardError, PermissionError):
    """A user cannot be found or changed as requested, e.g. an unknown username."""


@dataclass(frozen=True)
class Account:
    """A dashboard user as the app and the CLI see it: never the password hash."""

    user_id: int
    username: str
    role: str
    farms: tuple[str, ...]
    active: bool

    def viewer(self) -> Viewer:
        """Return the viewer with this account's role, farms and username."""
        return Viewer(role=self.role, farms=frozenset(self.farms), name=self.username)  # type: ignore[arg-type]


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password`` after checking its length."""
    check_password(password)
    return _HASHER.hash(password)


def check_password(password: str) -> None:
    """Raise StoreInputError unless ``password`` has an acceptable length."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise StoreInputError(
            f"the password has {len(password)} characters; use at least "
            f"{PASSWORD_MIN_LENGTH}"
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise StoreInputError(
            f"the password is longer than {PASSWORD_MAX_LENGTH} characters"
        )


def _check_username(username: str) -> str:
    name = (username or "").strip()
    if not USERNAME_PATTERN.fullmatch(name):
        raise StoreInputError(
            f"username {username!r} is invalid; use 2 to 64 lower-case letters, "
            "digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def _check_farms(role: str, farms: Iterable[str]) -> list[str]:
    cleaned = sorted({farm.strip() for farm in farms if farm and farm.strip()})
    if role == "farmer" and not cleaned:
        raise StoreInputError(
            "a farmer account needs at least one farm: pass --farm FARM_ID"
        )
    if role != "farmer" and cleaned:
        raise StoreInputError(
            f"only farmer accounts are bound to farms; a {role} account sees farms "
            "through their consent"
        )
    too_long = [farm for farm in cleaned if len(farm) > FARM_ID_LENGTH]
    if too_long:
        raise StoreInputError(
            f"farm id {too_long[0]!r} is longer than {FARM_ID_LENGTH} characters"
        )
    return cleaned


def add_user(
    store: Store,
    username: str,
    password: str,
    role: str,
    farms: Iterable[str] = (),
    *,
    by: str | None,
) -> Account:
    """Create a user with an argon2 password hash.

    Parameters
    ----------
    store
        An open store.
    username
        Login name: 2-64 lower-case letters, digits, ``.``, ``_`` or ``-``.
    password
        At least :data:`PASSWORD_MIN_LENGTH` characters; only its hash is kept.
    role
        ``coordinator``, ``farmer`` or ``planner``.
    farms
        Farm ids a farmer acts for; required for farmers, rejected otherwise.
    by
        Who creates the user.

    Raises
    ------
    StoreInputError
        On an invalid username, role, password or farm list, or a username
        that is taken.
    """
    name = _check_username(username)
    # An existing user is reported before the role and farm checks, whose
    # messages would otherwise suggest that fixing the options helps.
    if user_exists(store, name):
        raise StoreInputError(_taken(name))
    require_choice(role, USER_ROLES, "role")
    farm_ids = _check_farms(role, farms)
    author = require_author(by)
    password_hash = hash_password(password)

    with store.write() as session:
        if _find(session, name) is not None:
            raise StoreInputError(_taken(name))
        now = utc_now()
        user = User(
            username=name,
            role=role,
            password_hash=password_hash,
            active=True,
            created_by=author,
            created_at=now,
            password_changed_at=now,
        )
        session.add(user)
        session.flush()
        session.add_all(UserFarm(user_id=user.id, farm_id=farm) for farm in farm_ids)
    logger.info("added user %d with role %s", user.id, role)
    return Account(user.id, name, role, tuple(farm_ids), True)


def user_exists(store: Store, username: str) -> bool:
    """Return whether a user with ``username`` exists, active or not."""
    with store.read() as session:
        return _find(session, username.strip()) is not None


def _taken(name: str) -> str:
    return (
        f"user {name!r} already exists; choose another username, or change that "
        f"user's password with: geo-dashboard users passwd {name}"
    )


def _find(session: Session, username: str) -> User | None:
    return session.scalars(
        select(User).where(User.username == username).options(selectinload(User.farms))
    ).one_or_none()


def _account(user: User) -> Account:
    farms = tuple(sorted(link.farm_id for link in user.farms))
    return Account(user.id, user.username, user.role, farms, user.active)


def list_users(store: Store) -> list[Account]:
    """Return all users, active or not, sorted by username."""
    with store.read() as session:
        users = session.scalars(
            select(User).options(selectinload(User.farms)).order_by(User.username)
        ).all()
        return [_account(user) for user in users]


def set_password(store: Store, username: str, password: str) -> None:
    """Replace a user's password hash and end all of that user's sessions.

    Raises
    ------
    AuthError
        If the user does not exist.
    StoreInputError
        If the password is too short or too long.
    """
    password_hash = hash_password(password)
    with store.write() as session:
        user = _require(session, username)
        user.password_hash = password_hash
        user.password_changed_at = utc_now()
        _revoke_all(session, user.id)
    logger.info("password of user %d changed; its sessions were ended", user.id)


def deactivate_user(store: Store, username: str) -> None:
    """Block a user from logging in and end all of that user's sessions."""
    with store.write() as session:
        user = _require(session, username)
        user.active = False
        _revoke_all(session, user.id)
    logger.info("user %d deactivated", user.id)


def _require(session: Session, username: str) -> User:
    user = _find(session, (username or "").strip())
    if user is None:
        raise AuthError(
            f"user {username!r} does not exist; list the users with: "
            "geo-dashboard users list"
        )
    return user


def _revoke_all(session: Session, user_id: int) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utc_now())
    )


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against for unknown users, so a failed login takes about as
    # long whether or not the username exists.
    return _HASHER.hash(secrets.token_urlsafe(16))


def authenticate(store: Store, username: str, password: str) -> Account | None:
    """Return the account if ``username`` and ``password`` match an active user.

    Returns None on any mismatch, for an unknown or deactivated user alike,
    and logs the failure without the username.
    """
    name = (username or "").strip()
    with store.read() as session:
        user = _find(session, name)
        stored = user.password_hash if user is not None else _dummy_hash()
        try:
            _HASHER.verify(stored, password or "")
            matched = user is not None and user.active
        except (VerificationError, InvalidHashError):
            matched = False
        account = _account(user) if matched and user is not None else None
        rehash = matched and _HASHER.check_needs_rehash(stored)
    if account is None:
        logger.info("failed login")
        return None
    if rehash:
        with store.write() as session:
            row = session.get(User, account.user_id)
            if row is not None:
                row.password_hash = _HASHER.hash(password)
    return account


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(
    store: Store,
    account: Account,
    lifetime: timedelta = SESSION_LIFETIME,
    now: datetime | None = None,
) -> str:
    """Create a session for ``account`` and return its token.

    The token is returned once and stored only as its SHA-256 hash; the
    session expires ``lifetime`` after ``now`` (the current UTC time).
    """
    if lifetime <= timedelta(0):
        raise StoreInputError(f"session lifetime {lifetime} must be positive")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    started = now or utc_now()
    with store.write() as session:
        session.add(
            UserSession(
                user_id=account.user_id,
                token_hash=_token_hash(token),
                created_at=started,
                expires_at=started + lifetime,
            )
        )
    logger.info("user %d logged in", account.user_id)
    return token


def login(
    store: Store,
    username: str,
    password: str,
    lifetime: timedelta = SESSION_LIFETIME,
) -> tuple[Account, str] | None:
    """Check the password and start a session; None when the login fails."""
    account = authenticate(store, username, password)
    if account is None:
        return None
    return account, start_session(store, account, lifetime)


def session_account(
    store: Store, token: str | None, now: datetime | None = None
) -> Account | None:
    """Return the account of a valid session token, or None.

    A token is valid until its expiry time, unless it was ended by
    :func:`end_session`, a password change or deactivation of the user.
    """
    if not token:
        return None
    moment = now or utc_now()
    with store.read() as session:
        found = session.scalars(
            select(UserSession).where(UserSession.token_hash == _token_hash(token))
        ).one_or_none()
        if found is None or found.revoked_at is not None or found.expires_at <= moment:
            return None
        user = session.scalars(
            select(User)
            .where(User.id == found.user_id)
            .options(selectinload(User.farms))
        ).one()
        return _account(user) if user.active else None


def end_session(store: Store, token: str | None) -> None:
    """End the session of ``token`` (logout); an unknown token is ignored."""
    if not token:
        return
    with store.write() as session:
        session.execute(
            update(UserSession)
            .where(
                UserSession.token_hash == _token_hash(token),
                UserSession.revoked_at.is_(None),
            )
            .values(revoked_at=utc_now())
        )
