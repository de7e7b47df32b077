"""Self-contained HTML report of one cycle, for people who do not open the app.

The report contains the KPI table of the cycle, the changes made in it with
their rationale, a progress chart per KPI (inline SVG), a map of the parcels
(inline PNG), the reflections, the data-gap register and the layer versions.
It loads nothing from the network, and every text that comes from the store
or from data files is escaped with ``html.escape``.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
from matplotlib.figure import Figure

from geo_dashboard.cycles_view import (
    MEASURED,
    TARGET_PATH,
    changes_table,
    cycle_states,
    kpi_name,
    progress_data,
    show_value,
    text,
)
from geo_dashboard.i18n import (
    check_language,
    format_date,
    format_number,
    translate_value,
)
from geo_dashboard.kpis import KpiLibrary, load_kpi_library
from geo_dashboard.output import CURRENT
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.store import (
    CycleState,
    Store,
    StoreInputError,
    cycle_state,
    diff_cycles,
    find_cycle,
    list_gaps,
    list_reflections,
)

logger = logging.getLogger(__name__)

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:64em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;width:100%}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f2f2f2}.meta{color:#555}
.chart{display:inline-block;width:48%;margin:0 1% 1em 0;vertical-align:top}
.chart svg{width:100%;height:auto}img.map{max-width:100%;border:1px solid #ccc}
"""
REFLECTION_ORDER = ("lesson", "decision", "evaluation", "dilemma")
# Paul Tol's "muted" scheme, readable with colour-blindness.
_COLOURS = [
    "#CC6677",
    "#332288",
    "#DDCC77",
    "#117733",
    "#88CCEE",
    "#882255",
    "#44AA99",
    "#999933",
    "#AA4499",
    "#DDDDDD",
]


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


@dataclass(frozen=True)
class _Context:
    store: Store
    paths: ProjectPaths
    area_id: str
    language: str
    library: KpiLibrary

    def t(self, key: str, **params: object) -> str:
        return text(key, self.language, **params)


def render_report(
    store: Store,
    paths: ProjectPaths,
    area_id: str,
    cycle: str | int,
    language: str = "nl",
) -> str:
    """Return the HTML report of a cycle as one self-contained page.

    Parameters
    ----------
    store
        An open store.
    paths
        Project folders; the map is drawn from the cycle's build folder, or
        from the current build when that folder has been pruned.
    area_id
        Area id.
    cycle
        Cycle number or version label.
    language
        ``"nl"`` or ``"en"``.

    Raises
    ------
    CycleNotFoundError
        If the area has no such cycle.
    """
    check_language(language)
    context = _Context(store, paths, area_id, language, load_kpi_library())
    with store.read() as session:
        found = find_cycle(session, area_id, cycle)
        state = cycle_state(session, found)
    previous = None
    if found.number > 1:
        previous = diff_cycles(store, area_id, found.number - 1, found.number)

    sections = [
        _header(context, state),
        _kpi_section(context, state, previous),
        _changes_section(context, previous),
        _charts_section(context, state),
        _map_section(context, state),
        _reflections_section(context, found.number),
        _gaps_section(context),
        _layers_section(context, state),
    ]
    title = _e(context.t("cycles.report.title", area=area_id, cycle=found.version))
    return (
        f'<!DOCTYPE html>\n<html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )


def write_report(
    store: Store,
    paths: ProjectPaths,
    area_id: str,
    cycle: str | int,
    out: Path,
    language: str = "nl",
) -> Path:
    """Write the report of a cycle to ``out`` and return the path.

    The file is written beside ``out`` first and then renamed, so a failed
    run never leaves half a report. See :func:`render_report` for the rest.
    """
    page = render_report(store, paths, area_id, cycle, language)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.is_dir():
        raise StoreInputError(f"report target {str(out)!r} is a folder; give a file name.")
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        partial.write_text(page, encoding="utf-8")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("wrote the report of cycle %s of %s to %s", cycle, area_id, out)
    return out


def _header(context: _Context, state: CycleState) -> str:
    cycle = state.cycle
    t = context.t
    status = t(f"cycles.status.{cycle.status}")
    if cycle.is_sketch:
        status += f" · {t('cycles.sketch')}"
    title = t("cycles.report.title", area=context.area_id, cycle=cycle.version)
    lines = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">{_e(cycle.name)} · {_e(status)}<br>',
        _e(
            t(
                "cycles.report.started",
                date=_day(cycle.started_at, context.language),
                by=cycle.started_by,
            )
        ),
    ]
    if cycle.closed_at is not None:
        lines.append(
            "<br>"
            + _e(
                t(
                    "cycles.report.closed",
                    date=_day(cycle.closed_at, context.language),
                    by=cycle.closed_by or "",
                )
            )
        )
    basis = "cycles.report.frozen" if state.frozen else "cycles.report.live"
    lines.append(
        "<br>"
        + _e(t(basis, build=state.build.build_id))
        + "<br>"
        + _e(
            t("cycles.report.generated", date=_day(datetime.now(UTC), context.language))
        )
        + "</p>"
    )
    return "\n".join(lines)


def _day(moment: datetime | None, language: str) -> str:
    return format_date(moment, language)


def _kpi_section(context: _Context, state: CycleState, previous) -> str:
    t, language = context.t, context.language
    deltas = {d.kpi_id: d for d in previous.kpis} if previous is not None else {}
    head = "".join(
        f"<th>{_e(t(f'cycles.report.column.{key}'))}</th>"
        for key in (
            "kpi",
            "value",
            "since_previous",
            "baseline",
            "target",
            "progress",
            "status",
        )
    )
    rows = []
    for kpi in state.kpis:
        delta = deltas.get(kpi.kpi_id)
        change = ""
        if delta is not None and delta.delta is not None:
            change = format_number(delta.delta, language)
        progress = (
            ""
            if kpi.progress is None
            else f"{format_number(100 * kpi.progress, language, 0)}%"
        )
        cells = [
            kpi_name(context.library, kpi.kpi_id, language),
            show_value(kpi.value, kpi.unit, language),
            change,
            _dated(kpi.baseline_value, kpi.baseline_year, kpi.unit, language),
            _dated(kpi.target_value, kpi.target_year, kpi.unit, language),
            progress,
            translate_value("status", kpi.status, language)
            if kpi.status != "not_built"
            else t("cycles.status.not_built"),
        ]
        rows.append(
            "<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in cells) + "</tr>"
        )
    return (
        f"<h2>{_e(t('cycles.report.kpis'))}</h2>\n<table><tr>{head}</tr>\n"
        + "\n".join(rows)
        + "</table>"
    )


def _dated(value: float | None, year: int, unit: str, language: str) -> str:
    return f"{show_value(value, unit, language)} ({year})"


def _changes_section(context: _Context, previous) -> str:
    t = context.t
    title = f"<h2>{_e(t('cycles.report.changes'))}</h2>"
    if previous is None:
        return f"{title}\n<p>{_e(t('cycles.report.sketch_seeded'))}</p>"
    table = changes_table(previous, context.library, context.language)
    if table.empty:
        return f"{title}\n<p>{_e(t('cycles.report.no_changes'))}</p>"
    keys = ["kpi", "change", "old_new", "by", "at", "rationale"]
    head = "".join(f"<th>{_e(t(f'cycles.column.{key}'))}</th>" for key in keys)
    rows = [
        "<tr>" + "".join(f"<td>{_e(row[key])}</td>" for key in keys) + "</tr>"
        for row in table.to_dict("records")
    ]
    return f"{title}\n<table><tr>{head}</tr>\n" + "\n".join(rows) + "</table>"


def _charts_section(context: _Context, state: CycleState) -> str:
    charts = []
    states = cycle_states(context.store, context.area_id)
    for kpi in state.kpis:
        data = progress_data(context.store, context.area_id, kpi.kpi_id, states)
        if data[data["series"] == MEASURED].empty:
            continue
        name = kpi_name(context.library, kpi.kpi_id, context.language)
        svg = _chart_svg(data, kpi.unit, context)
        charts.append(
            f'<figure class="chart"><figcaption>{_e(name)}</figcaption>{svg}</figure>'
        )
    title = f"<h2>{_e(context.t('cycles.report.progress'))}</h2>"
    if not charts:
        return f"{title}\n<p>{_e(context.t('cycles.report.no_values'))}</p>"
    return (
        f"{title}\n<p>{_e(context.t('cycles.report.progress_note'))}</p>\n"
        + "\n".join(charts)
    )


def _chart_svg(data, unit: str, context: _Context) -> str:
    figure = Figure(figsize=(5.0, 2.8))
    axes = figure.subplots()

    # Earlier target paths dashed, the newest solid.
    paths = data[data["series"] == TARGET_PATH]
    labels = list(dict.fromkeys(paths["path"]))
    for index, label in enumerate(labels):
        path = paths[paths["path"] == label]
        axes.plot(
            path["year"],
            path["value"],
            linestyle="-" if index == len(labels) - 1 else "--",
            color=_COLOURS[index % len(_COLOURS)],
            label=context.t("cycles.chart.target_path", cycle=label),
        )

    measured = data[data["series"] == MEASURED]
    axes.scatter(
        measured["year"],
        measured["value"],
        color="black",
        zorder=3,
        label=context.t("cycles.chart.measured"),
    )

    axes.set_xlabel(context.t("cycles.chart.year"))
    axes.set_ylabel(unit or context.t("cycles.chart.value"))
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.legend(fontsize="small")
    figure.tight_layout()

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    # Keep only the <svg> element; the XML prolog is not allowed inside HTML.
    return svg[svg.index("<svg") :]


def _build_folder(context: _Context, state: CycleState) -> Path | None:
    area_dir = Path(context.paths.builds) / context.area_id
    folder = area_dir / state.build.build_id
    if (folder / "parcels.parquet").is_file():
        return folder
    current = area_dir / CURRENT
    if (current / "parcels.parquet").is_file():
        return current.resolve()
    return None


def _map_section(context: _Context, state: CycleState) -> str:
    t = context.t
    title = f"<h2>{_e(t('cycles.report.map'))}</h2>"
    folder = _build_folder(context, state)
    if folder is None:
        return f"{title}\n<p>{_e(t('cycles.report.no_map'))}</p>"
    note = ""
    if folder.name != state.build.build_id:
        note = f"<p>{_e(t('cycles.report.map_other_build', build=folder.name))}</p>"
    png = _map_png(folder, context.language)
    encoded = base64.b64encode(png).decode("ascii")
    alt_text = _e(t("cycles.report.map_alt"))
    return (
        f'{title}\n{note}<img class="map" alt="{alt_text}" '
        f'src="data:image/png;base64,{encoded}">'
    )


def _map_png(folder: Path, language: str) -> bytes:
    parcels = gpd.read_parquet(folder / "parcels.parquet")
    boundary = gpd.read_parquet(folder / "boundary.parquet")
    figure = Figure(figsize=(7.0, 7.0), dpi=110)
    axes = figure.subplots()

    if "land_use" in parcels and not parcels.empty:
        for index, (land_use, group) in enumerate(
            parcels.groupby("land_use", sort=True)
        ):
            group.plot(
                ax=axes,
                color=_COLOURS[index % len(_COLOURS)],
                linewidth=0,
                label=translate_value("land_use", land_use, language),
            )
        axes.legend(loc="lower left", fontsize="small", framealpha=0.9)

    # Natura 2000 sites dashed, so they do not read as grassland parcels.
    nature_path = folder / "nature.parquet"
    if nature_path.is_file():
        nature = gpd.read_parquet(nature_path)
        if not nature.empty:
            nature.boundary.plot(
                ax=axes, color="#004D40", linewidth=1.2, linestyle="--"
            )
    boundary.boundary.plot(ax=axes, color="black", linewidth=1.0)

    minx, miny, maxx, maxy = boundary.total_bounds
    margin = 0.03 * max(maxx - minx, maxy - miny)
    axes.set_xlim(minx - margin, maxx + margin)
    axes.set_ylim(miny - margin, maxy + margin)
    axes.set_aspect("equal")
    axes.set_axis_off()
    figure.tight_layout()

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _reflections_section(context: _Context, cycle_number: int) -> str:
    t, language = context.t, context.language
    reflections = list_reflections(context.store, context.area_id, cycle_number)
    parts = [f"<h2>{_e(t('cycles.report.reflections'))}</h2>"]
    if not reflections:
        parts.append(f"<p>{_e(t('cycles.report.no_reflections'))}</p>")
    for kind in REFLECTION_ORDER:
        items = [r for r in reflections if r.kind == kind]
        if not items:
            continue
        parts.append(f"<h3>{_e(t(f'cycles.reflection.{kind}'))}</h3><ul>")
        for item in items:
            details = [
                t(
                    "cycles.report.by",
                    by=item.created_by,
                    date=_day(item.created_at, language),
                )
            ]
            if item.kpi_id:
                details.append(kpi_name(context.library, item.kpi_id, language))
            if item.measure:
                details.append(t("cycles.report.measure", measure=item.measure))
            for key, value in (
                ("effective", item.effective),
                ("feasible", item.feasible),
            ):
                if value:
                    details.append(
                        f"{t(f'cycles.form.{key}')}: {t(f'cycles.assessment.{value}')}"
                    )
            if item.evidence:
                details.append(t("cycles.report.evidence", evidence=item.evidence))
            if item.map_view is not None:
                details.append(_describe_view(context, item.map_view))
            parts.append(
                f'<li><p>{_e(item.text)}</p><p class="meta">'
                + " · ".join(_e(detail) for detail in details)
                + "</p></li>"
            )
        parts.append("</ul>")
    return "\n".join(parts)


def _describe_view(context: _Context, view) -> str:
    layers = ", ".join(view.layers) or "-"
    kpi = (
        kpi_name(context.library, view.kpi_id, context.language) if view.kpi_id else "-"
    )
    bounds = "-"
    if view.west is not None:
        bounds = ", ".join(
            f"{value:.4f}" for value in (view.west, view.south, view.east, view.north)
        )
    return context.t("cycles.report.map_view", kpi=kpi, layers=layers, bounds=bounds)


def _gaps_section(context: _Context) -> str:
    t, language = context.t, context.language
    entries = list_gaps(context.store, context.area_id)
    title = f"<h2>{_e(t('cycles.report.gaps'))}</h2>"
    if not entries:
        return f"{title}\n<p>{_e(t('cycles.report.no_gaps'))}</p>"
    keys = ["subject", "missing", "supplier", "cost", "status"]
    head = "".join(f"<th>{_e(t(f'cycles.gap.{key}'))}</th>" for key in keys)
    rows = []
    for entry in entries:
        subject = (
            kpi_name(context.library, entry.subject, language)
            if entry.subject_kind == "kpi"
            else translate_value("role", entry.subject, language)
        )
        cost = entry.total_cost_eur
        cells = [
            subject,
            entry.missing,
            entry.supplier or "",
            "" if cost is None else f"€ {format_number(cost, language, 0)}",
            t(f"cycles.gap_status.{entry.status}"),
        ]
        rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    return f"{title}\n<table><tr>{head}</tr>\n" + "\n".join(rows) + "</table>"


def _layers_section(context: _Context, state: CycleState) -> str:
    t = context.t
    head = "".join(
        f"<th>{_e(t(f'cycles.report.layer.{key}'))}</th>"
        for key in ("id", "year", "sha256")
    )
    rows = [
        f"<tr><td>{_e(layer.layer_id)}</td><td>{_e(layer.year)}</td>"
        f"<td><code>{_e(layer.sha256[:16])}</code></td></tr>"
        for layer in state.build.layers
    ]
    return (
        f"<h2>{_e(t('cycles.report.layers'))}</h2>\n<table><tr>{head}</tr>\n"
        + "\n".join(rows)
        + "</table>"
    )


def default_report_name(area_id: str, version: str) -> str:
    """Return the default file name of a cycle report, e.g. ``report-x-v1.0.html``."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", version)
    return f"report-{area_id}-v{safe}.html"
