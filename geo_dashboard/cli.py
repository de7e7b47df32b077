"""Command line: ``geo-dashboard build|serve|validate|areas|kpis|new-area|...``."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import typer
from rich.logging import RichHandler
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from geo_dashboard.build import BUILD_STEPS, build_area
from geo_dashboard.catalog import load_catalog
from geo_dashboard.cli_areas import add_layer_command, new_area_command
from geo_dashboard.cli_common import (
    console,
    error_console,
    fail,
)
from geo_dashboard.cli_cycles import cycle_app, export_config, report
from geo_dashboard.cli_farms import farms_app, users_app
from geo_dashboard.config import list_areas, load_area_config
from geo_dashboard.errors import GeoDashboardError
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.output import read_build
from geo_dashboard.paths import ProjectPaths

# Exit status of a command stopped with Ctrl-C, as shells report SIGINT.
INTERRUPTED_EXIT = 130
_command_started = False


class _InterruptibleTyper(typer.Typer):
    """Typer app that ends on Ctrl-C with one line and exit status 130.

    Click turns KeyboardInterrupt into "Aborted!" with status 1, so the
    interrupt is caught here before Click handles it. Before a command runs,
    nothing was written. Once it runs, a build, import or store write may
    have finished, so only "interrupted" is claimed.
    """

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except KeyboardInterrupt:
            if _command_started:
                sys.stderr.write("interrupted\n")
            else:
                sys.stderr.write("interrupted; nothing was changed\n")
            raise SystemExit(INTERRUPTED_EXIT) from None


app = _InterruptibleTyper(
    help="Gebiedsdashboard: KPIs, maps and progress for Dutch area processes.",
    no_args_is_help=True,
    add_completion=False,
)
logger = logging.getLogger("geo_dashboard.cli")

APP_ENTRY = Path(__file__).resolve().parent / "app" / "main.py"

app.add_typer(cycle_app, name="cycle", help="Cycles, KPI and target versions, reflections.")
app.add_typer(farms_app, name="farms", help="Farm register, farm data import and consent.")
app.add_typer(users_app, name="users", help="Dashboard users, roles and passwords.")
app.command("export-config")(export_config)
app.command("report")(report)
app.command("new-area")(new_area_command)
app.command("add-layer")(add_layer_command)


@app.callback()
def _configure(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log each step."),
) -> None:
    global _command_started
    _command_started = True
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=error_console, show_path=False)],
    )


@app.command()
def build(
    area: str = typer.Argument(..., help="Area id: the name of a file in area_configs/."),
    engine: str = typer.Option(
        "local", "--engine",
        help="local: one process; dask: the per-parcel step partitioned on a dask cluster.",
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler",
        help="Address of a running dask scheduler, e.g. tcp://10.0.0.5:8786; "
        "without it --engine dask starts a local cluster.",
    ),
) -> None:
    """Build an area from its layers and print its KPI table."""
    if engine not in ("local", "dask"):
        fail(ValueError(f"engine {engine!r} is not supported; use local or dask"))
    paths = ProjectPaths.from_env()
    progress = Progress(
        TextColumn("[bold]{task.description:<20}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=error_console,
        transient=False,
    )
    try:
        with progress:
            task = progress.add_task(f"build {area}", total=len(BUILD_STEPS))

            def on_step(name: str) -> None:
                index = BUILD_STEPS.index(name) if name in BUILD_STEPS else 0
                progress.update(task, completed=index, description=name)

            output = build_area(
                area, paths, on_step=on_step, engine=engine, scheduler=scheduler  # type: ignore[arg-type]
            )
            progress.update(task, completed=len(BUILD_STEPS), description="done")
    except GeoDashboardError as err:
        fail(err)
    console.print(
        f"Built [bold]{area}[/]: {output.manifest['parcel_count']} parcels, "
        f"{output.manifest['parcel_area_ha']:.1f} ha -> {output.folder}"
    )
    _print_kpis(output.kpis, area)


@app.command()
def kpis(
    area: str = typer.Argument(..., help="Area id with an existing build."),
    csv: bool = typer.Option(False, "--csv", help="Write the table as CSV to stdout."),
) -> None:
    """Print the KPI table of an area's current build."""
    try:
        output = read_build(ProjectPaths.from_env().builds, area)
    except GeoDashboardError as err:
        fail(err)
    if csv:
        output.kpis.to_csv(sys.stdout, index=False)
    else:
        _print_kpis(output.kpis, area)


@app.command()
def validate(
    area: str = typer.Argument(..., help="Area id: the name of a file in area_configs/."),
) -> None:
    """Check an area config, its catalogue entries, KPI definitions and layer files."""
    paths = ProjectPaths.from_env()
    try:
        catalog = load_catalog(paths.layers)
        config = load_area_config(paths.configs, area, catalog, load_kpi_library())
        _check_layer_files(catalog, config)
    except GeoDashboardError as err:
        fail(err)
    gaps = ", ".join(config.data_gaps) or "none"
    console.print(
        f"[green]valid[/]: {config.path} ({len(config.kpis)} KPIs, "
        f"{len(config.layers)} layers, data gaps: {gaps})"
    )


@app.command()
def areas() -> None:
    """List the areas that have a config."""
    for area_id in list_areas(ProjectPaths.from_env().configs):
        console.print(area_id)


@app.command()
def serve(
    area: str = typer.Argument("noordoostpolder", help="Area shown first."),
    port: int = typer.Option(8501, help="Local port of the web app."),
    address: str = typer.Option("127.0.0.1", help="Address the web app listens on."),
) -> None:
    """Start the dashboard web app (Streamlit) for an area."""
    env = dict(os.environ, GEO_DASHBOARD_AREA=area)
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP_ENTRY),
        "--server.port", str(port),
        "--server.address", address,
        "--server.headless", "true",
        # Serves geo_dashboard/app/static/, which contains Leaflet for the maps.
        "--server.enableStaticServing", "true",
        "--browser.gatherUsageStats", "false",
    ]
    console.print(f"Dashboard for [bold]{area}[/] at http://{address}:{port}")
    raise typer.Exit(subprocess.call(command, env=env))


@app.command()
def export(
    area: str = typer.Argument(..., help="Area id with an existing build."),
    fmt: str = typer.Option("gpkg", "--format", "-f", help="gpkg, csv, xlsx, png or pdf."),
    out: Path = typer.Option(..., "--out", "-o", help="File to write."),
    kpi: str | None = typer.Option(None, help="KPI shown on the map (png, pdf)."),
    language: str = typer.Option("nl", "--lang", help="Language of names and labels: nl or en."),
) -> None:
    """Export the current build: parcel layer, KPI table, map image or PDF."""
    from geo_dashboard.exports import export as write_export

    if language not in ("nl", "en"):
        fail(ValueError(f"language {language!r} is not supported; use nl or en"))
    try:
        output = read_build(ProjectPaths.from_env().builds, area)
        path = write_export(output, fmt, out, kpi_id=kpi, language=language)  # type: ignore[arg-type]
    except (GeoDashboardError, ValueError) as err:
        fail(err)
    console.print(f"Wrote {path}")


def _check_layer_files(catalog, config) -> None:
    """Open every layer of the area once, so that validate finds unreadable files."""
    from geo_dashboard.layer_io import check_raster, check_vector_file

    refs = [config.boundary.layer] + [config.layer_ref(role).layer for role in config.layers]
    for layer_id in dict.fromkeys(refs):
        entry = catalog.layer(layer_id)
        if entry.kind == "raster":
            check_raster(catalog, entry)
        else:
            check_vector_file(catalog, entry)


def _print_kpis(table: pd.DataFrame, area: str) -> None:
    view = Table(title=f"KPIs of {area}", show_lines=False)
    for column in ("theme", "KPI", "value", "unit", "baseline", "target", "status"):
        view.add_column(column, justify="right" if column in {"value", "baseline", "target"} else "left")
    for row in table.itertuples(index=False):
        if row.status == "gap":
            value = f"gap: no {row.missing_layers}"
        else:
            value = _number(row.value)
        view.add_row(
            row.theme,
            row.name_en,
            value,
            row.unit,
            f"{_number(row.baseline_value)} ({row.baseline_year})",
            f"{_number(row.target_value)} ({row.target_year})",
            row.status,
        )
    console.print(view)


def _number(value: float | None) -> str:
    if value is None or pd.isna(value):
        return "-"
    return f"{value:,.2f}"
