"""Command line for farms and users: farm data import, consent, accounts.

``farms_app`` contains ``geo-dashboard farms ...`` and ``users_app``
contains ``geo-dashboard users ...``. Passwords are read with a hidden
prompt (typed twice) or, for scripts, from one line of standard input; they
are never echoed or logged.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from geo_dashboard.auth import (
    add_user,
    deactivate_user,
    list_users,
    set_password,
    user_exists,
)
from geo_dashboard.catalog import file_digest, load_catalog
from geo_dashboard.cli_common import (
    BY_HELP,
    cli_store,
    console,
    default_author,
    fail,
)
from geo_dashboard.config import list_areas, load_area_config
from geo_dashboard.errors import ConfigError, GeoDashboardError, LayerError
from geo_dashboard.farm_import import read_farm_data
from geo_dashboard.farms import (
    ILLUSTRATIVE_PREFIX,
    illustrative_register,
    read_register,
)
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.output import current_build_folder, read_build
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.privacy import PURPOSES
from geo_dashboard.store import (
    consent_history,
    consent_state,
    import_farm_data,
    list_farm_imports,
    set_consent,
)
from geo_dashboard.store.privacy_models import USER_ROLES

farms_app = typer.Typer(
    help="Farm register, farm data import and consent.", no_args_is_help=True
)
users_app = typer.Typer(
    help="Dashboard users: coordinators, farmers and planners.", no_args_is_help=True
)
logger = logging.getLogger(__name__)

AREA_HELP = "Area id with a build, e.g. noordoostpolder."


def _area_farms(paths: ProjectPaths, area: str) -> set[str]:
    """Return the farm ids of the area's current build, or fail with the fix."""
    try:
        build = read_build(paths.builds, area)
    except GeoDashboardError as err:
        fail(err)
    if "farm_id" not in build.parcels:
        fail(
            f"the build of area {area!r} has no farms: name a farm register under "
            f"farm_register in its area config, then run: geo-dashboard build {area}"
        )
    return set(build.parcels["farm_id"].dropna().astype(str))


# --- farms -------------------------------------------------------------------


@farms_app.command("import")
def import_(
    area: Annotated[str, typer.Argument(help=AREA_HELP)],
    file: Annotated[Path, typer.Argument(help="Farm data file (.csv or .xlsx).")],
    decimal: str = typer.Option(
        None,
        help="Decimal mark of a CSV: ',' or '.'; default ',' for ';'-separated files.",
    ),
    by: str = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Check a farm data file and store it; an invalid file stores nothing."""
    if decimal not in (None, ",", "."):
        fail(f"decimal mark {decimal!r} is not supported; use ',' or '.'")
    paths = ProjectPaths.from_env()
    known = _area_farms(paths, area)
    try:
        table = read_farm_data(file, known_farms=known, decimal=decimal)
    except LayerError as err:
        fail(err)
    with cli_store() as store:
        record = import_farm_data(
            store,
            area,
            table,
            file_name=file.name,
            sha256=file_digest(file),
            by=by or default_author(),
        )
    console.print(
        f"Imported {record.row_count} rows ({record.value_count} values) from "
        f"{escape(file.name)} into {area} as import {record.id}."
    )


@farms_app.command("imports")
def imports(area: str = typer.Argument(..., help=AREA_HELP)) -> None:
    """List the farm data imports of an area, oldest first."""
    with cli_store() as store:
        records = list_farm_imports(store, area)
    view = Table(title=f"Farm data imports of {area}")
    for column in ("no.", "file", "rows", "values", "sha256", "by", "when (UTC)"):
        view.add_column(column)
    for record in records:
        view.add_row(
            str(record.id),
            escape(record.file_name),
            str(record.row_count),
            str(record.value_count),
            record.sha256[:12],
            escape(record.imported_by),
            f"{record.imported_at:%Y-%m-%d %H:%M}",
        )
    console.print(view if view.row_count else f"Area {area} has no farm data imports.")


def _write_csv_atomically(table: pd.DataFrame, target: Path) -> None:
    handle, name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.stem}-", suffix=".csv"
    )
    os.close(handle)
    try:
        table.to_csv(name, index=False)
        os.replace(name, target)
    finally:
        if os.path.exists(name):
            os.unlink(name)


@farms_app.command("illustrate")
def illustrate(
    area: str = typer.Argument(..., help=AREA_HELP),
    force: bool = typer.Option(
        False,
        "--force",
        help="Replace a register that contains farm ids other than illustrative ones.",
    ),
) -> None:
    """Regenerate the area's illustrative farm register from its current build.

    Parcels are grouped by the 1 x 1 km RD New grid cell of a point inside
    each parcel; the farms are not real.
    """
    paths = ProjectPaths.from_env()
    try:
        catalog = load_catalog(paths.layers)
        config = load_area_config(paths.configs, area, catalog, load_kpi_library())
        if config.farm_register is None:
            raise ConfigError(
                f"area config {config.path} has no farm_register; add a table entry "
                "to layers/catalog.yaml and name it under farm_register"
            )
        entry = next(t for t in catalog.tables if t.id == config.farm_register)
        target = catalog.path(entry)
        build = read_build(paths.builds, area)
    except GeoDashboardError as err:
        fail(err)
    if target.is_file() and not force:
        try:
            existing = read_register(target)
        except LayerError as err:
            fail(f"{err} Pass --force to replace the file.")
        real = ~existing["farm_id"].str.startswith(f"{ILLUSTRATIVE_PREFIX}-")
        if real.any():
            fail(
                f"farm register {target} holds {int(real.sum())} rows with farm ids "
                f"that do not start with {ILLUSTRATIVE_PREFIX}-, so it may describe "
                "real farms; pass --force to replace it"
            )
    register = illustrative_register(build.parcels)
    _write_csv_atomically(register, target)
    console.print(
        f"Wrote {len(register)} parcels in {register['farm_id'].nunique()} "
        f"illustrative farms to {target}. Run: geo-dashboard build {area}"
    )


@farms_app.command("consent")
def consent(
    area: str = typer.Argument(..., help=AREA_HELP),
    farm: str = typer.Argument(..., help="Farm id from the area's farm register."),
    purpose: str = typer.Option(
        ..., "--purpose", help=f"One of: {', '.join(PURPOSES)}."
    ),
    grant: bool = typer.Option(
        ..., "--grant/--withdraw", help="Give or withdraw consent."
    ),
    by: str = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Record a consent the farm gave outside the app (e.g. on paper)."""
    if farm not in _area_farms(ProjectPaths.from_env(), area):
        fail(f"farm {farm!r} is not in the farm register of area {area!r}")
    with cli_store() as store:
        change = set_consent(store, area, farm, purpose, grant, by or default_author())
    state = "given" if change.granted else "withdrawn"
    console.print(f"Consent for {purpose} {state} for farm {escape(farm)} in {area}.")


@farms_app.command("consents")
def consents(
    area: str = typer.Argument(..., help=AREA_HELP),
    farm: str = typer.Option(None, "--farm", help="Show the full history of one farm."),
) -> None:
    """List the consents in force, or one farm's history of changes."""
    with cli_store() as store:
        if farm is None:
            state = consent_state(store, area)
        else:
            history = consent_history(store, area, farm)
    if farm is None:
        view = Table(title=f"Consents in force in {area}")
        view.add_column("farm")
        for purpose in PURPOSES:
            view.add_column(purpose)
        for farm_id, purposes in sorted(state.items()):
            view.add_row(
                escape(farm_id), *("yes" if p in purposes else "no" for p in PURPOSES)
            )
        console.print(
            view if view.row_count else f"No farm in {area} has given consent."
        )
        return
    view = Table(title=f"Consent history of {farm} in {area}")
    for column in ("when (UTC)", "purpose", "change", "by"):
        view.add_column(column)
    for change in history:
        view.add_row(
            f"{change.changed_at:%Y-%m-%d %H:%M:%S}",
            change.purpose,
            "given" if change.granted else "withdrawn",
            escape(change.changed_by),
        )
    console.print(view if view.row_count else f"Farm {farm} has no consent changes.")


# --- users -------------------------------------------------------------------


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.removesuffix("\n").removesuffix("\r")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def _known_farms(paths: ProjectPaths) -> set[str]:
    """Return the farm ids of every area with a current build."""
    farms: set[str] = set()
    areas = set(list_areas(paths.configs))
    if paths.builds.is_dir():
        areas |= {folder.name for folder in paths.builds.iterdir() if folder.is_dir()}
    for area in sorted(areas):
        try:
            folder = current_build_folder(paths.builds, area)
        except GeoDashboardError:
            continue
        table = folder / "farm_kpis.csv"
        if table.is_file():
            farms |= set(pd.read_csv(table, usecols=["farm_id"], dtype=str)["farm_id"])
    return farms


@users_app.command("add")
def add(
    username: str = typer.Argument(
        ..., help="Login name: lower-case letters, digits, '.', '_', '-'."
    ),
    role: str = typer.Option(..., "--role", help=f"One of: {', '.join(USER_ROLES)}."),
    farm: Annotated[
        list[str] | None,
        typer.Option(
            "--farm", help="Farm id a farmer acts for; repeat for more farms."
        ),
    ] = None,
    password_stdin: bool = typer.Option(
        False,
        "--password-stdin",
        help="Read the password from one line of standard input.",
    ),
    by: str = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Add a user; the password is asked for twice with a hidden prompt."""
    farm = farm or []
    with cli_store() as store:
        if user_exists(store, username):
            fail(
                f"user {username!r} already exists; choose another username, or "
                f"change that user's password with: geo-dashboard users passwd "
                f"{username}"
            )
    if farm:
        known = _known_farms(ProjectPaths.from_env())
        unknown = sorted(set(farm) - known)
        if unknown:
            fail(
                f"farm(s) {', '.join(unknown)} are not in the farm register of any "
                "built area; check the id or build the area first"
            )
    password = _read_password(password_stdin)
    with cli_store() as store:
        account = add_user(
            store, username, password, role, farm, by=by or default_author()
        )
    farms = f" for farm(s) {', '.join(account.farms)}" if account.farms else ""
    console.print(f"Added {account.role} {escape(account.username)}{escape(farms)}.")


@users_app.command("list")
def list_() -> None:
    """List users with their role, farms and whether they may log in."""
    with cli_store() as store:
        accounts = list_users(store)
    view = Table(title="Users")
    for column in ("username", "role", "farms", "active"):
        view.add_column(column)
    for account in accounts:
        view.add_row(
            escape(account.username),
            account.role,
            escape(", ".join(account.farms)),
            "yes" if account.active else "no",
        )
    console.print(view if view.row_count else "No users yet.")


@users_app.command("passwd")
def passwd(
    username: str = typer.Argument(..., help="Login name."),
    password_stdin: bool = typer.Option(
        False,
        "--password-stdin",
        help="Read the password from one line of standard input.",
    ),
) -> None:
    """Set a new password; the user's open sessions end."""
    password = _read_password(password_stdin)
    with cli_store() as store:
        set_password(store, username, password)
    console.print(f"Password of {escape(username)} changed; its sessions were ended.")


@users_app.command("deactivate")
def deactivate(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Block a user from logging in and end the user's sessions."""
    with cli_store() as store:
        deactivate_user(store, username)
    console.print(f"User {escape(username)} can no longer log in.")
