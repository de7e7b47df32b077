"""Comparison of areas on normalised KPI values.

Areas differ a lot in size (the Laag Holland outline is ten times the pilot
block), so summed KPIs such as hectares or tonnes are compared per hectare
of area and per hectare of farmland. Shares, means and indices are already
independent of size and are compared as they are. Every value that cannot
be computed keeps an empty value and a reason code, never 0.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import altair as alt
import pandas as pd

from geo_dashboard.i18n import format_value, is_missing, translate, translate_value
from geo_dashboard.kpis import KpiLibrary
from geo_dashboard.output import BuildOutput
from geo_dashboard.overview import split_roles, theme_rank

logger = logging.getLogger(__name__)

COMPARISON_COLUMNS = [
    "area_id", "kpi_id", "theme", "unit", "status",
    "value", "value_reason", "missing_layers",
    "area_ha", "farmland_ha",
    "normalised_unit",
    "per_ha", "per_ha_reason",
    "per_farmland_ha", "per_farmland_ha_reason",
    "target_reached", "target_reached_reason",
]  # fmt: skip

# Views of a comparison cell: the value, the two normalisations, the progress.
MEASURES = ("value", "per_ha", "per_farmland_ha", "target_reached")

# Reason codes of a comparison cell without a number. The page shows them
# through the message keys ``compare.reason.<code>``.
DATA_GAP = "data_gap"  # the KPI lacks input layers (see missing_layers)
SIZE_FREE = "size_free"  # a share, mean or index, which does not grow with size
NO_FARMLAND = "no_farmland"  # the area has no parcel layer, so no farmland hectares
NO_TARGET = "no_target"  # the area sets no baseline or target for the KPI
# The target equals the baseline: no change is asked, so there is no share of
# the way to the target. Such KPIs count as reached in the KPI table, and
# would lift a theme's mean progress without anything having changed.
NO_CHANGE = "no_change"
NOT_USED = "not_used"  # the KPI is not in the area's KPI set

# Unit of a summed KPI once divided by hectares, and the factor that brings
# the quotient into that unit. Hectares per hectare read best as a share.
_NORMALISED_UNITS: dict[str, tuple[str, float]] = {
    "ha": ("%", 100.0),
    "km": ("m/ha", 1000.0),
}


def normalised_unit(unit: str) -> tuple[str, float]:
    """Return the unit of ``unit`` per hectare and the factor to multiply by.

    ``"t CO2-eq/jr"`` becomes ``"t CO2-eq/ha/jr"`` (factor 1) and ``"ha"``
    becomes ``"%"`` (factor 100).
    """
    if unit in _NORMALISED_UNITS:
        return _NORMALISED_UNITS[unit]
    if unit.endswith("/jr"):
        return f"{unit.removesuffix('/jr')}/ha/jr", 1.0
    return f"{unit}/ha", 1.0


def area_hectares(output: BuildOutput) -> float:
    """Return the area of the build's boundary in hectares (EPSG:28992 metres)."""
    return float(output.boundary.geometry.to_crs(28992).area.sum()) / 10_000


def farmland_hectares(output: BuildOutput) -> float | None:
    """Return the hectares of farmland parcels, or None if the parcels are a gap.

    An area whose parcel layer is missing has no farmland figure at all, so
    its empty parcel table does not mean 0 ha of farmland.
    """
    if "parcels" in (output.manifest.get("data_gaps") or {}):
        return None
    return float(output.parcels["area_ha"].sum()) if len(output.parcels) else 0.0


def comparison_table(
    builds: Mapping[str, BuildOutput], library: KpiLibrary
) -> pd.DataFrame:
    """Put the KPIs of several areas side by side, normalised for their size.

    Parameters
    ----------
    builds
        Area id to its build, filtered for the viewer.
    library
        KPI definitions; a KPI's ``aggregation`` decides whether it is
        normalised (only ``sum`` is).

    Returns
    -------
    pandas.DataFrame
        One row per area and KPI of that area, columns
        :data:`COMPARISON_COLUMNS`. ``per_ha`` and ``per_farmland_ha`` are in
        ``normalised_unit``. ``target_reached`` is the progress fraction from
        baseline to target (1 = reached, 0 = still at the baseline); it is
        empty with reason :data:`NO_CHANGE` when the target equals the
        baseline. Each ``*_reason`` column is empty when the number is known
        and holds a reason code otherwise.
    """
    rows = []
    for area_id, output in builds.items():
        area_ha = area_hectares(output)
        farmland_ha = farmland_hectares(output)
        for record in output.kpis.to_dict("records"):
            rows.append(_comparison_row(area_id, record, library, area_ha, farmland_ha))
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def _comparison_row(
    area_id: str,
    record: Mapping[str, Any],
    library: KpiLibrary,
    area_ha: float,
    farmland_ha: float | None,
) -> dict[str, Any]:
    kpi_id = str(record["kpi_id"])
    unit = _text(record.get("unit"))
    value = _number(record.get("value"))
    status = _text(record.get("status"))
    if status == "gap":
        value = None
    summed = kpi_id in library.ids and library.get(kpi_id).aggregation == "sum"
    norm_unit, factor = normalised_unit(unit) if summed else ("", 1.0)

    def per(hectares: float | None, missing_reason: str) -> tuple[float | None, str]:
        if value is None:
            return None, DATA_GAP
        if not summed:
            return None, SIZE_FREE
        if hectares is None or hectares <= 0:
            return None, missing_reason
        return factor * value / hectares, ""

    per_ha, per_ha_reason = per(area_ha, DATA_GAP)
    per_farmland, per_farmland_reason = per(farmland_ha, NO_FARMLAND)
    reached = None if value is None else _number(record.get("progress"))
    baseline = _number(record.get("baseline_value"))
    target = _number(record.get("target_value"))
    if value is None:
        target_reason = DATA_GAP
    elif baseline is not None and baseline == target:
        reached, target_reason = None, NO_CHANGE
    else:
        target_reason = "" if reached is not None else NO_TARGET
    return {
        "area_id": area_id,
        "kpi_id": kpi_id,
        "theme": _text(record.get("theme")) or "other",
        "unit": unit,
        "status": status,
        "value": value,
        "value_reason": "" if value is not None else DATA_GAP,
        "missing_layers": _text(record.get("missing_layers")),
        "area_ha": area_ha,
        "farmland_ha": farmland_ha,
        "normalised_unit": norm_unit,
        "per_ha": per_ha,
        "per_ha_reason": per_ha_reason,
        "per_farmland_ha": per_farmland,
        "per_farmland_ha_reason": per_farmland_reason,
        "target_reached": reached,
        "target_reached_reason": target_reason,
    }


def area_sizes(builds: Mapping[str, BuildOutput], language: str) -> pd.DataFrame:
    """Return per area its name, total hectares and farmland hectares as text.

    Farmland of an area without a parcel layer shows the "no data" text.
    """
    rows = []
    for output in builds.values():
        rows.append(
            {
                "area": area_name(output, language),
                "area_ha": format_value(area_hectares(output), "ha", language, 0),
                "farmland_ha": format_value(
                    farmland_hectares(output), "ha", language, 0
                ),
            }
        )
    return pd.DataFrame(rows, columns=["area", "area_ha", "farmland_ha"])


def area_name(output: BuildOutput, language: str) -> str:
    """Return the area's name in ``language`` from the build, else its id."""
    names = output.manifest.get("area_name") or {}
    return str(names.get(language) or output.area_id)


def reason_text(reason: str, missing_layers: str, language: str) -> str:
    """Return the text of a cell without a number, e.g. "no data (missing: ...)"."""
    if reason == DATA_GAP:
        roles = [
            translate_value("role", role, language)
            for role in split_roles(missing_layers)
        ]
        return translate(
            "compare.reason.data_gap", language, roles=", ".join(roles) or "?"
        )
    return translate(f"compare.reason.{reason}", language)


def cell_text(row: Mapping[str, Any], measure: str, language: str) -> str:
    """Format one comparison cell: the number with its unit, or why there is none."""
    if measure not in MEASURES:
        raise ValueError(
            f"measure {measure!r} is invalid; use one of {', '.join(MEASURES)}"
        )
    number = row[measure]
    reason = row["value_reason" if measure == "value" else f"{measure}_reason"]
    if is_missing(number):
        return reason_text(reason or DATA_GAP, row["missing_layers"], language)
    if measure == "value":
        return format_value(number, row["unit"], language)
    if measure == "target_reached":
        return format_value(100 * number, "%", language, 0)
    return format_value(number, row["normalised_unit"], language)


def comparison_matrix(
    table: pd.DataFrame,
    measure: str,
    area_names: Mapping[str, str],
    library: KpiLibrary,
    language: str,
) -> pd.DataFrame:
    """Return one row per KPI and one text column per area for ``measure``.

    KPIs are in the order of the KPI definitions. An area that does not use
    a KPI gets the "not in this area's KPI set" text, never an empty cell.
    """
    kpi_ids = [kpi_id for kpi_id in library.ids if kpi_id in set(table["kpi_id"])]
    kpi_ids += sorted(set(table["kpi_id"]) - set(kpi_ids))
    cells = {(row["area_id"], row["kpi_id"]): row for row in table.to_dict("records")}
    not_used = translate(f"compare.reason.{NOT_USED}", language)
    data: dict[str, list[str]] = {
        translate("compare.column.theme", language): [],
        translate("compare.column.kpi", language): [],
    }
    for area_id in area_names:
        data[area_names[area_id]] = []
    theme_column, kpi_column = list(data)[:2]
    for kpi_id in kpi_ids:
        theme = library.get(kpi_id).theme if kpi_id in library.ids else "other"
        data[theme_column].append(translate_value("theme", theme, language))
        name = (
            library.get(kpi_id).name.get(language) if kpi_id in library.ids else kpi_id
        )
        data[kpi_column].append(name)
        for area_id, name in area_names.items():
            row = cells.get((area_id, kpi_id))
            data[name].append(
                not_used if row is None else cell_text(row, measure, language)
            )
    return pd.DataFrame(data)


def theme_progress(table: pd.DataFrame) -> pd.DataFrame:
    """Return the mean target fraction per area and theme, for a progress chart.

    Fractions are clipped to -1..1 first, so one KPI far past its target
    does not hide the others. KPIs without a target or value, and those
    whose target equals the baseline (:data:`NO_CHANGE`), are left out. A
    theme with no KPI left in an area is missing from the result.
    """
    known = table.dropna(subset=["target_reached"])
    clipped = known.assign(target_reached=known["target_reached"].clip(-1.0, 1.0))
    return clipped.groupby(["area_id", "theme"], as_index=False)["target_reached"].agg(
        mean_target_reached="mean", kpis="count"
    )


def theme_chart_data(
    table: pd.DataFrame, area_names: Mapping[str, str], language: str
) -> dict[str, pd.DataFrame]:
    """Return per theme one row per area: mean progress in percent, or a gap.

    An area without any KPI with a known target fraction in the theme has
    ``percent`` None and a ``label`` saying so, so the chart can mark it
    instead of drawing an empty bar.
    """
    progress = theme_progress(table).set_index(["area_id", "theme"])
    themes = sorted(set(table["theme"]), key=lambda theme: (theme_rank(theme), theme))
    result = {}
    for theme in themes:
        rows = []
        for area_id, name in area_names.items():
            known = (area_id, theme) in progress.index
            percent = (
                100 * progress.loc[(area_id, theme), "mean_target_reached"]
                if known
                else None
            )
            count = int(progress.loc[(area_id, theme), "kpis"]) if known else 0
            rows.append(
                {
                    "area": name,
                    "percent": percent,
                    "kpis": count,
                    "label": (
                        format_value(percent, "%", language, 0)
                        if percent is not None
                        else translate("compare.chart.no_data", language)
                    ),
                }
            )
        result[theme] = pd.DataFrame(rows, columns=["area", "percent", "kpis", "label"])
    return result


def no_change_kpis(table: pd.DataFrame, theme: str, library: KpiLibrary) -> list[str]:
    """Return the ids of the theme's KPIs left out of its progress as :data:`NO_CHANGE`.

    A KPI is listed when its target equals its baseline in at least one of
    the areas in ``table``. The ids are in the order of the KPI definitions.
    """
    rows = table[
        (table["theme"] == theme) & (table["target_reached_reason"] == NO_CHANGE)
    ]
    found = set(rows["kpi_id"])
    ordered = [kpi_id for kpi_id in library.ids if kpi_id in found]
    return ordered + sorted(found - set(ordered))


def theme_chart(data: pd.DataFrame, title: str, language: str) -> alt.LayerChart:
    """Return an Altair chart with one horizontal bar per area and text for gaps.

    The bar is the mean share of target reached over the theme's KPIs, in
    percent. An area without data gets the "no data" text and no bar.
    """
    known = data.dropna(subset=["percent"])
    gaps = data[data["percent"].isna()].assign(percent=0.0)
    lowest = min(0.0, float(known["percent"].min())) if not known.empty else 0.0
    reached = translate("compare.chart.reached", language)
    area = translate("compare.chart.area", language)
    y = alt.Y("area:N", title=area, sort=None, axis=alt.Axis(labelLimit=360))
    x = alt.X(
        "percent:Q",
        title=reached,
        scale=alt.Scale(domain=[math.floor(lowest), 100]),
    )
    tooltip = [
        alt.Tooltip("area:N", title=area),
        alt.Tooltip("label:N", title=reached),
        alt.Tooltip("kpis:Q", title=translate("compare.chart.kpis", language)),
    ]
    bars = alt.Chart(known).mark_bar().encode(x=x, y=y, tooltip=tooltip)
    values = (
        alt.Chart(known).mark_text(align="left", dx=4).encode(x=x, y=y, text="label:N")
    )
    missing = (
        alt.Chart(gaps)
        .mark_text(align="left", dx=4, color="gray", fontStyle="italic")
        .encode(x=x, y=y, text="label:N", tooltip=tooltip)
    )
    return alt.layer(bars, values, missing).properties(title=title, height=alt.Step(32))


def _number(value: object) -> float | None:
    if is_missing(value):
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isinf(number) else number


def _text(value: object) -> str:
    return "" if is_missing(value) else str(value)
