"""Users, argon2 password hashes and expiring sessions in a real SQLite store.

Passwords and session tokens are checked against the raw database file (a
full SQL dump) and against every log record, so neither may appear in plain
text anywhere. The login form of the app is tested in tests/test_farm_page.py.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from geo_dashboard.auth import (
    AuthError,
    add_user,
    authenticate,
    deactivate_user,
    end_session,
    list_users,
    login,
    session_account,
    set_password,
    start_session,
)
from geo_dashboard.cli import app
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.privacy import Viewer
from geo_dashboard.store import Store, StoreInputError
from tests import farm_fixtures
from tests.farm_fixtures import FARM_A, FARM_B, PASSWORD_A

farm_store = farm_fixtures.farm_store
store_url = farm_fixtures.store_url

runner = CliRunner()
NEW_PASSWORD = "nieuwe-wachtwoordzin-42"


def _dump(url: str) -> str:
    """Return the whole SQLite database as SQL text."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        return "\n".join(connection.iterdump())


def _add_farmer(store: Store) -> None:
    add_user(store, "boer.a", PASSWORD_A, "farmer", [FARM_A], by="coordinator")


def test_password_stored_as_argon2_hash(farm_store: Store, store_url: str) -> None:
    _add_farmer(farm_store)
    assert PASSWORD_A not in _dump(store_url)
    with sqlite3.connect(store_url.removeprefix("sqlite:///")) as connection:
        (stored,) = connection.execute("SELECT password_hash FROM users").fetchone()
    assert stored.startswith("$argon2id$")
    assert PasswordHasher().verify(stored, PASSWORD_A)


def test_secrets_never_logged(
    farm_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _add_farmer(farm_store)
    assert authenticate(farm_store, "boer.a", "wrong password!") is None
    account, token = login(farm_store, "boer.a", PASSWORD_A)
    assert session_account(farm_store, token) == account
    set_password(farm_store, "boer.a", NEW_PASSWORD)
    end_session(farm_store, token)

    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    assert "failed login" in logged
    assert f"user {account.user_id} logged in" in logged
    for secret in (PASSWORD_A, NEW_PASSWORD, "wrong password!", token, "boer.a"):
        assert secret not in logged


def test_token_stored_as_hash(farm_store: Store, store_url: str) -> None:
    _add_farmer(farm_store)
    _, token = login(farm_store, "boer.a", PASSWORD_A)
    dump = _dump(store_url)
    assert token not in dump
    assert hashlib.sha256(token.encode()).hexdigest() in dump


@pytest.mark.parametrize(
    ("username", "password"),
    [("boer.a", "not the password"), ("boer.x", PASSWORD_A), ("", ""), ("boer.a", "")],
)
def test_wrong_login_rejected(farm_store: Store, username: str, password: str) -> None:
    _add_farmer(farm_store)
    assert login(farm_store, username, password) is None


def test_deactivated_user_cannot_log_in(farm_store: Store) -> None:
    _add_farmer(farm_store)
    _, token = login(farm_store, "boer.a", PASSWORD_A)
    deactivate_user(farm_store, "boer.a")
    assert authenticate(farm_store, "boer.a", PASSWORD_A) is None
    assert session_account(farm_store, token) is None
    assert not list_users(farm_store)[0].active


def test_session_expires(farm_store: Store) -> None:
    _add_farmer(farm_store)
    account = authenticate(farm_store, "boer.a", PASSWORD_A)
    assert account is not None
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    token = start_session(farm_store, account, timedelta(hours=1), now=start)
    assert (
        session_account(farm_store, token, now=start + timedelta(minutes=59)) == account
    )
    assert session_account(farm_store, token, now=start + timedelta(hours=1)) is None
    assert session_account(farm_store, token, now=start + timedelta(days=2)) is None


def test_logout_ends_session(farm_store: Store) -> None:
    _add_farmer(farm_store)
    _, token = login(farm_store, "boer.a", PASSWORD_A)
    end_session(farm_store, token)
    assert session_account(farm_store, token) is None


def test_password_change_ends_sessions(farm_store: Store) -> None:
    _add_farmer(farm_store)
    _, token = login(farm_store, "boer.a", PASSWORD_A)
    set_password(farm_store, "boer.a", NEW_PASSWORD)
    assert session_account(farm_store, token) is None
    assert login(farm_store, "boer.a", PASSWORD_A) is None
    assert login(farm_store, "boer.a", NEW_PASSWORD) is not None


def test_unknown_or_random_token(farm_store: Store) -> None:
    assert session_account(farm_store, None) is None
    assert session_account(farm_store, "not-a-token") is None


def test_farmer_account_viewer(farm_store: Store) -> None:
    account = add_user(
        farm_store, "boer.ab", PASSWORD_A, "farmer", [FARM_B, FARM_A], by="anna"
    )
    assert account.farms == tuple(sorted((FARM_A, FARM_B)))
    assert account.viewer() == Viewer("farmer", frozenset({FARM_A, FARM_B}), "boer.ab")


@pytest.mark.parametrize(
    ("username", "role", "farms", "password", "match"),
    [
        ("Boer A", "farmer", [FARM_A], PASSWORD_A, "username 'Boer A' is invalid"),
        ("boer.a", "farmer", [], PASSWORD_A, "needs at least one farm"),
        ("plan", "planner", [FARM_A], PASSWORD_A, "only farmer accounts"),
        ("plan", "admin", [], PASSWORD_A, "role 'admin' is invalid"),
        ("boer.a", "farmer", [FARM_A], "kort", "the password has 4 characters"),
    ],
)
def test_invalid_account_rejected(
    farm_store: Store,
    username: str,
    role: str,
    farms: list[str],
    password: str,
    match: str,
) -> None:
    with pytest.raises(StoreInputError, match=match):
        add_user(farm_store, username, password, role, farms, by="anna")
    assert list_users(farm_store) == []


def test_duplicate_username_rejected(farm_store: Store) -> None:
    _add_farmer(farm_store)
    with pytest.raises(StoreInputError, match="user 'boer.a' already exists"):
        add_user(farm_store, "boer.a", NEW_PASSWORD, "planner", by="anna")


def test_duplicate_farmer_without_farm(farm_store: Store) -> None:
    _add_farmer(farm_store)
    with pytest.raises(StoreInputError, match="user 'boer.a' already exists"):
        add_user(farm_store, "boer.a", NEW_PASSWORD, "farmer", by="anna")


def test_unknown_user_password_change(farm_store: Store) -> None:
    with pytest.raises(AuthError, match="user 'niemand' does not exist"):
        set_password(farm_store, "niemand", NEW_PASSWORD)


# --- Command line -------------------------------------------------------------------


def _env(paths: ProjectPaths, url: str) -> dict[str, str]:
    return {
        "GEO_DASHBOARD_LAYERS": str(paths.layers),
        "GEO_DASHBOARD_CONFIGS": str(paths.configs),
        "GEO_DASHBOARD_BUILDS": str(paths.builds),
        "GEO_DASHBOARD_DB": url,
    }


def test_cli_prompts_for_hidden_password(
    pilot_paths: ProjectPaths, store_url: str, farm_store: Store
) -> None:
    result = runner.invoke(
        app,
        [
            "users",
            "add",
            "boer.a",
            "--role",
            "farmer",
            "--farm",
            FARM_A,
            "--by",
            "anna",
        ],
        input=f"{PASSWORD_A}\n{PASSWORD_A}\n",
        env=_env(pilot_paths, store_url),
    )
    assert result.exit_code == 0, result.output
    assert "Added farmer boer.a for farm(s) ILLUSTRATIEF-173-526" in result.output
    assert "Repeat for confirmation" in result.output
    assert PASSWORD_A not in result.output
    assert authenticate(farm_store, "boer.a", PASSWORD_A) is not None


def test_cli_password_from_stdin(
    pilot_paths: ProjectPaths, store_url: str, farm_store: Store
) -> None:
    result = runner.invoke(
        app,
        ["users", "add", "anna", "--role", "coordinator", "--password-stdin"],
        input=f"{PASSWORD_A}\n",
        env=_env(pilot_paths, store_url),
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD_A not in result.output
    account = authenticate(farm_store, "anna", PASSWORD_A)
    assert account is not None
    assert account.role == "coordinator"


def test_cli_unknown_farm_rejected(
    pilot_paths: ProjectPaths, store_url: str, farm_store: Store
) -> None:
    result = runner.invoke(
        app,
        ["users", "add", "boer.x", "--role", "farmer", "--farm", "ILLUSTRATIEF-0-0"],
        input=f"{PASSWORD_A}\n",
        env=_env(pilot_paths, store_url),
    )
    assert result.exit_code == 2
    assert "ILLUSTRATIEF-0-0 are not in the farm register" in result.output
    assert list_users(farm_store) == []
