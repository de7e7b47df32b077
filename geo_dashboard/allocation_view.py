"""Texts of the allocation page: rules, task tables and the shortfall summary.

The functions turn the tables of :mod:`geo_dashboard.ambition` into
translated, formatted text, so the page only lays them out. An empty number
is shown with its reason, never as 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from geo_dashboard.ambition import Ambition, AmbitionConfig
from geo_dashboard.i18n import format_value, is_missing, translate, translate_value
from geo_dashboard.kpis import KpiLibrary
from geo_dashboard.overview import split_roles

TASK_TEXT_COLUMNS = (
    "area", "base", "task", "task_value", "current", "target", "own", "shortfall",
)  # fmt: skip


def kpi_label(library: KpiLibrary, kpi_id: str, language: str) -> str:
    """Return the KPI's name in ``language``, or its id if it is not defined."""
    return library.get(kpi_id).name.get(language) if kpi_id in library.ids else kpi_id


def config_header(
    config: AmbitionConfig, area_names: Mapping[str, str], language: str
) -> str:
    """Return the line with the config's level and the areas it covers."""
    level = translate(f"allocation.level.{config.level}", language)
    areas = ", ".join(area_names.get(area, area) for area in config.areas)
    return translate("allocation.header", language, level=level, areas=areas)


def ambition_line(ambition: Ambition, library: KpiLibrary, language: str) -> str:
    """Return the ambition as one plain-text line: KPI, total, year and kind."""
    unit = library.get(ambition.kpi).unit
    return translate(
        "allocation.ambition_line",
        language,
        kpi=kpi_label(library, ambition.kpi, language),
        total=format_value(ambition.total, unit, language, ambition.decimals),
        year=ambition.year,
        kind=translate(f"allocation.kind.{ambition.kind}", language),
    )


def rule_text(
    ambition: Ambition,
    library: KpiLibrary,
    area_names: Mapping[str, str],
    language: str,
) -> str:
    """Return the allocation rule of ``ambition`` in words."""
    allocation = ambition.allocate
    if ambition.kind == "level" or allocation is None:
        return translate("allocation.rule.level", language)
    if allocation.by_kpi is not None:
        kpi = kpi_label(library, allocation.by_kpi, language)
        return translate("allocation.rule.by_kpi", language, kpi=kpi)
    weights = ", ".join(
        f"{area_names.get(area, area)} {format_value(weight, '', language)}"
        for area, weight in (allocation.weights or {}).items()
    )
    return translate("allocation.rule.weights", language, weights=weights)


def reason_text(reason: str, missing_layers: str, language: str) -> str:
    """Return the text of an empty cell, naming the missing layers of a data gap."""
    if reason in ("data_gap", "base_gap"):
        labels = [
            translate_value("role", r, language) for r in split_roles(missing_layers)
        ]
        return translate(
            f"allocation.reason.{reason}", language, roles=", ".join(labels) or "?"
        )
    return translate(f"allocation.reason.{reason}", language)


def task_table(
    tasks: pd.DataFrame,
    ambition: Ambition,
    library: KpiLibrary,
    area_names: Mapping[str, str],
    language: str,
) -> pd.DataFrame:
    """Return one text row per area of ``ambition``, columns titled in ``language``.

    ``tasks`` is the output of :func:`geo_dashboard.ambition.area_tasks`.
    """
    part = tasks[tasks["ambition_id"] == ambition.id]
    base_unit = ""
    if ambition.allocate is not None and ambition.allocate.by_kpi is not None:
        base_unit = library.get(ambition.allocate.by_kpi).unit
    rows = []
    for row in part.to_dict("records"):
        rows.append(_task_row(row, ambition, base_unit, area_names, language))
    titles = [
        translate(f"allocation.column.{key}", language) for key in TASK_TEXT_COLUMNS
    ]
    table = pd.DataFrame(rows, columns=list(TASK_TEXT_COLUMNS))
    table.columns = titles
    if ambition.kind == "level":
        base_title = translate("allocation.column.base", language)
        table = table.drop(columns=[base_title])
    return table


def _task_row(
    row: Mapping[str, Any],
    ambition: Ambition,
    base_unit: str,
    area_names: Mapping[str, str],
    language: str,
) -> dict[str, str]:
    unit = str(row["unit"])

    def shown(
        value: object, reason: str, missing: str, places: int | None = None
    ) -> str:
        if is_missing(value):
            return reason_text(reason or "no_task", missing, language)
        return format_value(value, unit, language, places)  # type: ignore[arg-type]

    # The base and task cells give the full reason for a missing task, so the
    # cells computed from the task show the short "no task" text.
    task_reason, base_missing = row["task_reason"], row["base_missing"]
    own_reason, missing = row["own_reason"], row["missing_layers"]
    if is_missing(row["base"]):
        base = reason_text(task_reason, base_missing, language) if task_reason else "–"
    else:
        base = format_value(row["base"], base_unit, language)
    target = shown(row["target_value"], own_reason, missing)
    if not is_missing(row["target_value"]) and not is_missing(row["target_year"]):
        target = f"{target} ({int(row['target_year'])})"
    if is_missing(row["task"]):
        task_value = shortfall = reason_text("no_task", "", language)
    else:
        task_value = shown(row["task_value"], own_reason, missing)
        shortfall = shown(row["shortfall"], own_reason, missing)
    return {
        "area": area_names.get(row["area_id"], row["area_id"]),
        "base": base,
        "task": shown(row["task"], task_reason, base_missing, ambition.decimals),
        "task_value": task_value,
        "current": shown(row["current_value"], row["value_reason"], missing),
        "target": target,
        "own": shown(row["own_commitment"], own_reason, missing),
        "shortfall": shortfall,
    }


def summary_texts(
    summary: Mapping[str, Any],
    language: str,
    area_names: Mapping[str, str] | None = None,
) -> list[str]:
    """Return the sentences that set the areas together against one ambition.

    ``summary`` is one row of :func:`geo_dashboard.ambition.ambition_summary`.
    The first sentence is the outcome: met, a shortfall, or a shortfall that
    cannot be computed while areas have no own commitment (named from
    ``area_names``). The others are details: how much was allocated and
    which areas are unknown.
    """
    area_names = area_names or {}
    unit = str(summary["unit"])
    total = format_value(summary["total"], unit, language)
    unknown_ids = list(summary.get("unknown_areas") or ())
    missing = ", ".join(area_names.get(area, area) for area in unknown_ids)
    known = int(summary["areas"]) - int(summary["areas_unknown"])
    if summary["kind"] == "reduction":
        committed = format_value(summary["committed"], unit, language)
        params = {"committed": committed, "total": total}
        if is_missing(summary["shortfall"]):
            # Own commitments are unknown and the known ones fall short, so a
            # sum or shortfall would understate what the areas may do.
            texts = [
                translate(
                    "allocation.summary.shortfall_unknown", language, areas=missing
                )
            ]
            if known:
                texts.append(
                    translate(
                        "allocation.summary.known_part",
                        language,
                        known=known,
                        areas=summary["areas"],
                        **params,
                    )
                )
        elif summary["shortfall"] > 0:
            shortfall = format_value(summary["shortfall"], unit, language)
            key = "allocation.summary.reduction_short"
            texts = [translate(key, language, shortfall=shortfall, **params)]
        else:
            texts = [translate("allocation.summary.reduction_met", language, **params)]
        allocated = format_value(summary["allocated"], unit, language)
        texts.append(
            translate(
                "allocation.summary.allocated",
                language,
                allocated=allocated,
                total=total,
            )
        )
        if not is_missing(summary["shortfall"]) and summary["areas_unknown"]:
            texts.append(_unknown_text(summary, missing, language))
        return texts
    texts = [
        translate(
            "allocation.summary.level",
            language,
            short=summary["areas_short"],
            areas=summary["areas"],
        )
    ]
    if summary["areas_unknown"]:
        texts.append(_unknown_text(summary, missing, language))
    return texts


def _unknown_text(summary: Mapping[str, Any], missing: str, language: str) -> str:
    return translate(
        "allocation.summary.unknown",
        language,
        count=summary["areas_unknown"],
        areas=summary["areas"],
        missing=missing,
    )
