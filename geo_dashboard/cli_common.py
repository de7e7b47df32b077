"""Consoles, error exit and store access shared by the command modules."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from geo_dashboard.errors import GeoDashboardError
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.store import Store, open_store

# Without a terminal rich falls back to 80 columns, too narrow for the KPI table.
console = Console(width=None if sys.stdout.isatty() else 140)
error_console = Console(stderr=True)

USER_ENV = "GEO_DASHBOARD_USER"
BY_HELP = f"Who makes the change; default ${USER_ENV} or the login name."
# For changes to an area process, checked by geo_dashboard.store.editor.
BY_EDITOR_HELP = (
    f"Username of who makes the change; default ${USER_ENV} or the login name. "
    "Once the store has dashboard users, it must be an active coordinator."
)
BY_REQUIRED_HELP = (
    "Username of who makes the change. Once the store has dashboard users, it "
    "must be an active coordinator."
)


def fail(err: Exception | str) -> NoReturn:
    """Print the error on stderr and end the command with exit code 2."""
    error_console.print(
        f"[bold red]Error:[/] {escape(str(err))}", highlight=False, soft_wrap=True
    )
    raise typer.Exit(code=2)


def describe_validation_error(err: ValidationError, command: str) -> str:
    """Describe a pydantic error of a command's options without a traceback."""
    lines = [f"{command}: invalid value(s):"]
    for item in err.errors():
        field_path = ".".join(str(part) for part in item["loc"]) or "(value)"
        lines.append(f"  {field_path} = {item.get('input')!r}: {item['msg']}")
    return "\n".join(lines)


def default_author() -> str:
    """Return the name recorded with a change: ``$GEO_DASHBOARD_USER`` or the login."""
    return os.environ.get(USER_ENV) or getpass.getuser()


@contextmanager
def cli_store() -> Iterator[Store]:
    """Open the store; a store, config or input error ends the command with exit 2."""
    try:
        with open_store(paths=ProjectPaths.from_env()) as store:
            yield store
    except GeoDashboardError as err:
        fail(err)
