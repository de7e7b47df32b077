"""Content of the Cycles page and the cycle report, free of Streamlit.

The functions turn store records into tables and chart data with texts in
the chosen language. They give a timeline of cycles, the diff between two
cycles, and per KPI the values over the cycles with the straight target
path from baseline to target.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import altair as alt
import pandas as pd

from geo_dashboard.i18n import (
    check_language,
    format_date,
    format_number,
    format_value,
    has_message,
    is_missing,
    load_messages,
    translate,
)
from geo_dashboard.kpis import KpiLibrary
from geo_dashboard.store import (
    CycleDiff,
    CycleState,
    Store,
    VersionChange,
    cycle_state,
    kpi_history,
    list_cycles,
    list_reflections,
)

logger = logging.getLogger(__name__)

CYCLES_DOMAIN = "cycles"
MEASURED = "measured"
TARGET_PATH = "target_path"


@lru_cache(maxsize=1)
def _cycles_catalogue() -> dict[str, dict[str, str]]:
    return load_messages(CYCLES_DOMAIN)


def text(key: str, language: str, **params: Any) -> str:
    """Return the text of a Cycles message key in ``language``.

    Keys are looked up in the ``cycles`` catalogue domain first, and in the
    whole message catalogue otherwise.
    """
    check_language(language)
    texts = _cycles_catalogue().get(key)
    if texts is None:
        return translate(key, language, **params)
    message = texts[language]
    return message.format(**params) if params else message


def _label(prefix: str, value: object, language: str) -> str:
    key = f"{prefix}.{value}"
    if key in _cycles_catalogue() or has_message(key):
        return text(key, language)
    return str(value)


def kpi_name(library: KpiLibrary, kpi_id: str, language: str) -> str:
    """Return the KPI's name in ``language``, or its id if it is not defined."""
    if kpi_id in library.ids:
        return library.get(kpi_id).name.get(language)
    return kpi_id


def show_value(value: float | None, unit: str, language: str) -> str:
    """Format a KPI value with its unit; a missing value gives the no-data text."""
    if is_missing(value):
        return text("cycles.no_value", language)
    return format_value(value, unit, language)


def _date(moment: Any, language: str) -> str:
    return format_date(moment, language)


def timeline(store: Store, area_id: str, language: str) -> pd.DataFrame:
    """Return one row per cycle: version, name, status, dates, people, counts.

    The counts are the KPI and target changes and the reflections recorded
    in each cycle.
    """
    cycles = list_cycles(store, area_id)
    reflections = list_reflections(store, area_id)
    changes = [v for v in kpi_history(store, area_id) if v.change != "seed"]
    rows = []
    for cycle in cycles:
        rows.append(
            {
                "number": cycle.number,
                "version": f"v{cycle.version}",
                "name": cycle.name,
                "status": _label("cycles.status", cycle.status, language)
                + (f" · {text('cycles.sketch', language)}" if cycle.is_sketch else ""),
                "started": _date(cycle.started_at, language),
                "started_by": cycle.started_by,
                "closed": _date(cycle.closed_at, language),
                "closed_by": cycle.closed_by or "",
                "changes": sum(1 for v in changes if v.cycle_id == cycle.id),
                "reflections": sum(1 for r in reflections if r.cycle_id == cycle.id),
            }
        )
    columns = [
        "number",
        "version",
        "name",
        "status",
        "started",
        "started_by",
        "closed",
        "closed_by",
        "changes",
        "reflections",
    ]
    return pd.DataFrame(rows, columns=columns)


def timeline_headers(language: str) -> dict[str, str]:
    """Return the translated column titles of :func:`timeline`."""
    keys = [
        "number",
        "version",
        "name",
        "status",
        "started",
        "started_by",
        "closed",
        "closed_by",
        "changes",
        "reflections",
    ]
    return {key: text(f"cycles.column.{key}", language) for key in keys}


def diff_table(diff: CycleDiff, library: KpiLibrary, language: str) -> pd.DataFrame:
    """Return one row per KPI: what changed, values and targets in both cycles."""
    rows = []
    for delta in diff.kpis:
        unit = delta.unit or (
            library.get(delta.kpi_id).unit if delta.kpi_id in library.ids else ""
        )
        rows.append(
            {
                "kpi": kpi_name(library, delta.kpi_id, language),
                "change": _label("cycles.kind", delta.kind, language),
                "value_a": show_value(delta.value_a, unit, language),
                "value_b": show_value(delta.value_b, unit, language),
                "difference": (
                    "" if delta.delta is None else format_number(delta.delta, language)
                ),
                "target_a": _target(
                    delta.target_a, delta.target_year_a, unit, language
                ),
                "target_b": _target(
                    delta.target_b, delta.target_year_b, unit, language
                ),
                "target_changed": delta.target_changed,
            }
        )
    return pd.DataFrame(rows)


def _target(value: float | None, year: int | None, unit: str, language: str) -> str:
    if year is None:
        return ""
    return f"{show_value(value, unit, language)} ({year})"


def describe_change(change: VersionChange, library: KpiLibrary, language: str) -> str:
    """Return a one-line description of a KPI or target change, old to new."""
    unit = library.get(change.kpi_id).unit if change.kpi_id in library.ids else ""
    old, new = change.old, change.new
    if change.change in {"set_target", "retire_target"}:
        before = (
            _target(old.target_value, old.target_year, unit, language) if old else "-"
        )
        after = _target(new.target_value, new.target_year, unit, language)
        return f"{before} → {after}"
    if change.change == "set_baseline":
        before = (
            _target(old.baseline_value, old.baseline_year, unit, language)
            if old
            else "-"
        )
        after = _target(new.baseline_value, new.baseline_year, unit, language)
        return f"{before} → {after}"
    return _label("cycles.change", change.change, language)


def changes_table(diff: CycleDiff, library: KpiLibrary, language: str) -> pd.DataFrame:
    """Return the KPI and target changes between both cycles with their rationale."""
    rows = []
    for change in diff.changes:
        rows.append(
            {
                "cycle": f"v{change.cycle_version}",
                "kpi": kpi_name(library, change.kpi_id, language),
                "change": _label("cycles.change", change.change, language),
                "old_new": describe_change(change, library, language),
                "by": change.changed_by,
                "at": change.changed_at.strftime("%Y-%m-%d %H:%M"),
                "rationale": change.rationale,
            }
        )
    return pd.DataFrame(
        rows, columns=["cycle", "kpi", "change", "old_new", "by", "at", "rationale"]
    )


def cycle_states(store: Store, area_id: str) -> list[CycleState]:
    """Return the KPI state of every cycle of an area, oldest first."""
    cycles = list_cycles(store, area_id)
    with store.read() as session:
        return [cycle_state(session, cycle) for cycle in cycles]


def progress_data(
    store: Store, area_id: str, kpi_id: str, states: list[CycleState] | None = None
) -> pd.DataFrame:
    """Return the values of a KPI per cycle and the target path of each cycle.

    Parameters
    ----------
    store
        An open store.
    area_id, kpi_id
        The area and the KPI.
    states
        The result of :func:`cycle_states`, to reuse it across KPIs; read
        from the store when None.

    Returns
    -------
    pandas.DataFrame
        Long format with columns ``series`` (``measured`` or ``target_path``),
        ``cycle`` (version label), ``path`` (the version from which a target
        path is in force), ``year`` and ``value``. A measured value is placed
        at the year of its data. A target path is the straight line from the
        baseline to the target. A cycle whose path equals the previous
        cycle's path adds no new line, and a KPI without a value adds no
        point.
    """
    rows: list[dict[str, Any]] = []
    last_path: tuple | None = None
    path_label = ""
    if states is None:
        states = cycle_states(store, area_id)
    for state in states:
        version = f"v{state.cycle.version}"
        kpi = next((row for row in state.kpis if row.kpi_id == kpi_id), None)
        if kpi is None:
            continue
        if kpi.value is not None and kpi.data_year is not None:
            rows.append(
                {
                    "series": MEASURED,
                    "cycle": version,
                    "path": "",
                    "year": kpi.data_year,
                    "value": kpi.value,
                }
            )
        path = (
            kpi.baseline_value,
            kpi.baseline_year,
            kpi.target_value,
            kpi.target_year,
        )
        if None in path or path == last_path:
            continue
        last_path, path_label = path, version
        for year, value in ((path[1], path[0]), (path[3], path[2])):
            rows.append(
                {
                    "series": TARGET_PATH,
                    "cycle": version,
                    "path": path_label,
                    "year": year,
                    "value": value,
                }
            )
    return pd.DataFrame(rows, columns=["series", "cycle", "path", "year", "value"])


# d3-format specifiers of the value axis per KPI unit. The ``~`` drops
# trailing zeros, so a chart whose values are all 0 reads "0" and not
# "0.000000" (Vega's default for an empty range).
AXIS_FORMATS = {"%": ".1~f", "index": ".2~f", "0-1": ".2~f", "ha": ",.0~f"}
DEFAULT_AXIS_FORMAT = ",.2~f"


def axis_format(unit: str) -> str:
    """Return the d3-format specifier of a value axis in ``unit``."""
    return AXIS_FORMATS.get(unit, DEFAULT_AXIS_FORMAT)


def progress_chart(
    data: pd.DataFrame, title: str, unit: str, language: str
) -> alt.LayerChart:
    """Return an Altair chart of a KPI's values with its target paths.

    The newest target path is drawn solid and earlier paths dashed, so a
    changed target shows as a second line.
    """
    measured = data[data["series"] == MEASURED]
    paths = data[data["series"] == TARGET_PATH].copy()
    newest = paths["path"].iloc[-1] if not paths.empty else ""
    paths["current"] = paths["path"] == newest
    paths["label"] = paths["path"].map(
        lambda path: text("cycles.chart.target_path", language, cycle=path)
    )
    x_title = text("cycles.chart.year", language)
    y_title = unit or text("cycles.chart.value", language)
    x = alt.X("year:Q", title=x_title, axis=alt.Axis(format="d"))
    y = alt.Y(
        "value:Q",
        title=y_title,
        axis=alt.Axis(format=axis_format(unit), tickMinStep=_min_step(unit)),
    )
    lines = (
        alt.Chart(paths)
        .mark_line()
        .encode(
            x=x,
            y=y,
            color=alt.Color("label:N", title=text("cycles.chart.legend", language)),
            strokeDash=alt.condition(
                "datum.current", alt.value([1, 0]), alt.value([6, 4])
            ),
            detail="path:N",
        )
    )
    points = (
        alt.Chart(measured)
        .mark_point(filled=True, size=80, color="black")
        .encode(
            x=x,
            y=y,
            tooltip=[
                alt.Tooltip("cycle:N", title=text("cycles.column.version", language)),
                alt.Tooltip("year:Q", title=x_title, format="d"),
                alt.Tooltip("value:Q", title=y_title, format=".3~f"),
            ],
        )
    )
    return alt.layer(lines, points).properties(title=title, height=260)


def _min_step(unit: str) -> float:
    """Return the smallest tick step that the axis format can show apart."""
    decimals = axis_format(unit).rstrip("f").rsplit(".", 1)[-1].strip("~")
    return 10.0 ** -int(decimals)
