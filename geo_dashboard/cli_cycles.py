"""Command line for the living dashboard: cycles, targets, reflections, reports.

``cycle_app`` contains the ``geo-dashboard cycle ...`` commands. The functions
:func:`export_config` and :func:`report` are registered on the main app as
``geo-dashboard export-config`` and ``geo-dashboard report``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from geo_dashboard.cli_common import (
    BY_EDITOR_HELP,
    BY_REQUIRED_HELP,
    cli_store,
    console,
    default_author,
    error_console,
    fail,
)
from geo_dashboard.errors import GeoDashboardError
from geo_dashboard.i18n import LANGUAGES
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.store import (
    MapViewSpec,
    diff_cycles,
    find_cycle,
    list_cycles,
    list_gaps,
)
from geo_dashboard.store import export_config as export_area_config
from geo_dashboard.store.editor import author_editor
from geo_dashboard.store.models import GAP_STATUSES, REFLECTION_KINDS

cycle_app = typer.Typer(
    help="Cycles of an area process: start, close, diff, targets, reflections.",
    no_args_is_help=True,
)
logger = logging.getLogger(__name__)

AREA_HELP = "Area id with a recorded build, e.g. noordoostpolder."
# Builds store their KPI table with the targets in force when they ran, so the
# overview, allocation page and `kpis` show a change after the next build.
SHOWN_AFTER_BUILD = (
    "The dashboard pages and 'geo-dashboard kpis' show the change after the "
    "next build: geo-dashboard build {area}"
)


@cycle_app.command("start")
def start(
    area: str = typer.Argument(..., help=AREA_HELP),
    name: str = typer.Option(
        ..., "--name", help="Name of the new cycle, e.g. 'najaar 2026'."
    ),
    by: str = typer.Option(None, "--by", help=BY_EDITOR_HELP),
) -> None:
    """Start the next cycle; the open cycle is closed and both are frozen."""
    with cli_store() as store:
        author = by or default_author()
        editor = author_editor(store, author, "start a cycle")
        started = editor.start_cycle(area, name, author)
    if started.closed is not None:
        console.print(
            f"Closed cycle {started.closed.number} (v{started.closed.version})."
        )
    cycle = started.cycle
    console.print(
        f"Started cycle {cycle.number} (v{cycle.version}) "
        f"[bold]{escape(cycle.name)}[/] of {area}."
    )


@cycle_app.command("close")
def close(
    area: str = typer.Argument(..., help=AREA_HELP),
    by: str = typer.Option(None, "--by", help=BY_EDITOR_HELP),
) -> None:
    """Close the open cycle and freeze its KPI values and targets."""
    with cli_store() as store:
        author = by or default_author()
        cycle = author_editor(store, author, "close a cycle").close_cycle(area, author)
    console.print(f"Closed cycle {cycle.number} (v{cycle.version}) of {area}.")


@cycle_app.command("list")
def list_(area: str = typer.Argument(..., help=AREA_HELP)) -> None:
    """List the cycles of an area, oldest first."""
    with cli_store() as store:
        cycles = list_cycles(store, area)
    if not cycles:
        fail(
            GeoDashboardError(
                f"area {area!r} has no cycles. Run: geo-dashboard build {area}"
            )
        )
    view = Table(title=f"Cycles of {area}")
    for column in ("no.", "version", "name", "status", "started", "closed"):
        view.add_column(column)
    for cycle in cycles:
        status = cycle.status + (" (sketch)" if cycle.is_sketch else "")
        closed = ""
        if cycle.closed_at is not None:
            closed = f"{cycle.closed_at:%Y-%m-%d} by {cycle.closed_by}"
        view.add_row(
            str(cycle.number),
            f"v{cycle.version}",
            escape(cycle.name),
            status,
            escape(f"{cycle.started_at:%Y-%m-%d} by {cycle.started_by}"),
            escape(closed),
        )
    console.print(view)


@cycle_app.command("diff")
def diff(
    area: str = typer.Argument(..., help=AREA_HELP),
    a: str = typer.Argument(..., help="First cycle: number (1) or version (0.1)."),
    b: str = typer.Argument(..., help="Second cycle: number or version."),
) -> None:
    """Show what changed between two cycles: KPI values, KPI set, targets, data."""
    # Imported here because cycles_view imports altair, which takes about
    # half a second, and other commands do not need it.
    from geo_dashboard.cycles_view import describe_change, kpi_name

    library = load_kpi_library()
    with cli_store() as store:
        result = diff_cycles(store, area, a, b)

    console.print(
        f"Cycle {result.cycle_a.number} (v{result.cycle_a.version}) -> "
        f"cycle {result.cycle_b.number} (v{result.cycle_b.version}) of {area}"
    )

    # KPIs whose value, membership or target differs; unchanged ones are left out.
    kpis = Table(title="KPIs")
    for column in ("KPI", "change", "value A", "value B", "target A", "target B"):
        kpis.add_column(column)
    for delta in result.kpis:
        if delta.kind in {"unchanged", "gap"} and not delta.target_changed:
            continue
        kpis.add_row(
            kpi_name(library, delta.kpi_id, "en"),
            delta.kind + (", target changed" if delta.target_changed else ""),
            _number(delta.value_a),
            _number(delta.value_b),
            _target(delta.target_a, delta.target_year_a),
            _target(delta.target_b, delta.target_year_b),
        )
    console.print(kpis if kpis.row_count else "KPIs: no value, set or target changed.")

    changes = Table(title="KPI and target changes")
    for column in (
        "cycle",
        "KPI",
        "change",
        "old -> new",
        "by",
        "when (UTC)",
        "rationale",
    ):
        changes.add_column(column)
    for change in result.changes:
        changes.add_row(
            f"v{change.cycle_version}",
            kpi_name(library, change.kpi_id, "en"),
            change.change,
            escape(describe_change(change, library, "en")),
            escape(change.changed_by),
            f"{change.changed_at:%Y-%m-%d %H:%M}",
            escape(change.rationale),
        )
    console.print(changes if changes.row_count else "No KPI or target changes.")

    for layer in result.layers:
        console.print(
            f"Layer {layer.layer_id}: data version "
            f"{(layer.sha256_a or '-')[:12]} -> {(layer.sha256_b or '-')[:12]}"
        )


@cycle_app.command("set-target")
def set_target_command(
    area: str = typer.Argument(..., help=AREA_HELP),
    kpi: str = typer.Argument(..., help="KPI id, e.g. nitrate_risk_arable_share."),
    value: float = typer.Option(
        ..., "--value", help="New target value, in the KPI's unit."
    ),
    year: int = typer.Option(
        ..., "--year", help="Year by which the target should be met."
    ),
    rationale: str = typer.Option(
        ..., "--rationale", help="Why the target changes (required)."
    ),
    by: str = typer.Option(..., "--by", help=BY_REQUIRED_HELP),
    basis: str = typer.Option(
        None,
        "--basis",
        help="policy, literature, measured or provisional; default: unchanged.",
    ),
    source: str = typer.Option(
        None, "--source", help="Source of the number; default: the rationale."
    ),
) -> None:
    """Change a KPI's target in the open cycle, with a required rationale."""
    with cli_store() as store:
        editor = author_editor(store, by, "change a target")
        row = editor.set_target(
            area,
            kpi,
            value=value,
            year=year,
            rationale=rationale,
            by=by,
            basis=basis,
            source=source,
        )
    console.print(
        f"Target of {kpi} is now {_target(row.target_value, row.target_year)} "
        f"(version {row.version}, cycle v{row.cycle.version})."
    )
    console.print(SHOWN_AFTER_BUILD.format(area=area))


@cycle_app.command("retire-kpi")
def retire_kpi_command(
    area: str = typer.Argument(..., help=AREA_HELP),
    kpi: str = typer.Argument(..., help="KPI id to take out of the area's KPI set."),
    rationale: str = typer.Option(
        ..., "--rationale", help="Why the KPI is retired (required)."
    ),
    by: str = typer.Option(..., "--by", help=BY_REQUIRED_HELP),
) -> None:
    """Take a KPI out of the area's KPI set; its history is kept."""
    with cli_store() as store:
        editor = author_editor(store, by, "retire a KPI")
        row = editor.retire_kpi(area, kpi, rationale=rationale, by=by)
    console.print(f"Retired {kpi} (version {row.version}, cycle v{row.cycle.version}).")
    console.print(SHOWN_AFTER_BUILD.format(area=area))


@cycle_app.command("reflect")
def reflect(
    area: str = typer.Argument(..., help=AREA_HELP),
    kind: str = typer.Option(
        ..., "--kind", help=f"One of: {', '.join(REFLECTION_KINDS)}."
    ),
    text: str = typer.Option(
        ..., "--text", help="The lesson, decision, evaluation or dilemma."
    ),
    kpi: str = typer.Option(None, "--kpi", help="KPI id the reflection is about."),
    cycle: str = typer.Option(
        None,
        "--cycle",
        help="Number or version of the open cycle; default: the open cycle. "
        "A closed cycle is rejected.",
    ),
    measure: str = typer.Option(
        None, "--measure", help="Measure evaluated (for --kind evaluation)."
    ),
    effective: str = typer.Option(
        None, "--effective", help="yes, partly, no or unknown."
    ),
    feasible: str = typer.Option(
        None, "--feasible", help="yes, partly, no or unknown."
    ),
    evidence: str = typer.Option(
        None, "--evidence", help="Evidence for the evaluation."
    ),
    map_layers: str = typer.Option(
        None,
        "--map-layers",
        help="Saved map view: comma-separated layers, e.g. parcels,natura2000.",
    ),
    map_bounds: str = typer.Option(
        None,
        "--map-bounds",
        help="Saved map view: west,south,east,north in degrees (EPSG:4326).",
    ),
    by: str = typer.Option(None, "--by", help=BY_EDITOR_HELP),
) -> None:
    """Add a reflection to the open cycle, optionally with a saved map view."""
    view = None
    if map_layers or map_bounds:
        bounds = None
        if map_bounds:
            try:
                bounds = tuple(float(part) for part in map_bounds.split(","))
            except ValueError:
                fail(
                    ValueError(
                        f"--map-bounds {map_bounds!r} is invalid; give four numbers: "
                        "west,south,east,north"
                    )
                )
        layers = [
            part.strip() for part in (map_layers or "").split(",") if part.strip()
        ]
        view = MapViewSpec(kpi_id=kpi, layers=layers, bounds=bounds)  # type: ignore[arg-type]
    with cli_store() as store:
        author = by or default_author()
        editor = author_editor(store, author, "add a reflection")
        row = editor.add_reflection(
            area,
            kind,
            text,
            author,
            kpi_id=kpi,
            cycle=cycle,
            measure=measure,
            effective=effective,
            feasible=feasible,
            evidence=evidence,
            map_view=view,
        )
    console.print(
        f"Added reflection ({kind}) to cycle {row.cycle.number} (v{row.cycle.version})."
    )


@cycle_app.command("gap")
def gap(
    area: str = typer.Argument(..., help=AREA_HELP),
    subject: str = typer.Argument(..., help="KPI id or layer role, e.g. nnn."),
    kind: str = typer.Option(
        "layer", "--kind", help="'layer' (a layer role) or 'kpi'."
    ),
    missing: str = typer.Option(None, "--missing", help="What data is missing."),
    supplier: str = typer.Option(None, "--supplier", help="Who could supply it."),
    sourcing_cost: float = typer.Option(
        None, "--sourcing-cost", help="Estimated cost of sourcing, euro."
    ),
    handling_cost: float = typer.Option(
        None, "--handling-cost", help="Estimated cost of handling, euro."
    ),
    status: str = typer.Option(
        None, "--status", help=f"One of: {', '.join(GAP_STATUSES)}."
    ),
    note: str = typer.Option(None, "--note", help="Note on this update."),
    by: str = typer.Option(None, "--by", help=BY_EDITOR_HELP),
) -> None:
    """Add or update an entry of the data-gap register; earlier versions are kept."""
    with cli_store() as store:
        author = by or default_author()
        editor = author_editor(store, author, "record a data gap")
        entry = editor.set_gap(
            area,
            kind,
            subject,
            by=author,
            missing=missing,
            supplier=supplier,
            sourcing_cost_eur=sourcing_cost,
            handling_cost_eur=handling_cost,
            status=status,
            note=note,
        )
    console.print(
        f"Data gap {kind} {subject}: {entry.status} (version {entry.version})."
    )


@cycle_app.command("gaps")
def gaps(area: str = typer.Argument(..., help=AREA_HELP)) -> None:
    """List the data-gap register of an area."""
    with cli_store() as store:
        entries = list_gaps(store, area)
    view = Table(title=f"Data gaps of {area}")
    for column in ("kind", "subject", "missing", "supplier", "cost (euro)", "status"):
        view.add_column(column)
    for entry in entries:
        view.add_row(
            entry.subject_kind,
            entry.subject,
            escape(entry.missing),
            escape(entry.supplier or ""),
            _number(entry.total_cost_eur),
            entry.status,
        )
    console.print(view)


def export_config(
    area: str = typer.Argument(..., help=AREA_HELP),
    out: Annotated[
        Path | None,
        typer.Option("--out", help="File to write; default: standard output."),
    ] = None,
) -> None:
    """Write the area config with the KPIs, targets and gaps held in the store."""
    paths = ProjectPaths.from_env()
    with cli_store() as store:
        text = export_area_config(store, paths, area)
    if out is None:
        sys.stdout.write(text)
        return
    if out.is_dir():
        example = out / f"{area}.yaml"
        fail(
            ValueError(
                f"target {str(out)!r} is a folder; give a file name, e.g. {example}"
            )
        )
    out.write_text(text, encoding="utf-8")
    error_console.print(f"Wrote {out}")


def report(
    area: str = typer.Argument(..., help=AREA_HELP),
    cycle: str = typer.Option(
        ..., "--cycle", help="Cycle number (2) or version (1.0)."
    ),
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="HTML file to write; default: report-AREA-vVERSION.html here."
        ),
    ] = None,
    language: str = typer.Option(
        "nl", "--lang", help=f"Language: {', '.join(LANGUAGES)}."
    ),
) -> None:
    """Write a self-contained HTML report of a cycle."""
    # Imported here because the report imports matplotlib, which takes about
    # a second, and other commands do not need it.
    from geo_dashboard.report import default_report_name, write_report

    if language not in LANGUAGES:
        fail(
            ValueError(
                f"--lang {language!r} is invalid; use one of {', '.join(LANGUAGES)}"
            )
        )
    paths = ProjectPaths.from_env()
    with cli_store() as store:
        if out is None:
            with store.read() as session:
                version = find_cycle(session, area, cycle).version
            out = Path(default_report_name(area, version))
        written = write_report(store, paths, area, cycle, out, language)
    console.print(f"Wrote {written}")


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _target(value: float | None, year: int | None) -> str:
    if year is None:
        return ""
    return f"{_number(value)} ({year})"
