"""Scenario results as tables for people: names, translated headers and ranges.

The engine's frames use ids and one column per variant. These functions turn
them into the tables that the scenario page shows, in Dutch or English. Every
number is a text formatted by :func:`geo_dashboard.i18n.format_number`
(decimal comma and a full stop between thousands in Dutch), and a missing
value shows the translated "no data" text, never ``None`` or ``nan``.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from geo_dashboard.i18n import format_number, translate, translate_unit
from geo_dashboard.measures.engine import ScenarioEngine
from geo_dashboard.measures.optimiser import Plan
from geo_dashboard.measures.results import NO_MEASURE
from geo_dashboard.measures.texts import scenario_text

# Row id of the annualised cost that compare_scenarios appends to its KPI rows.
COST_ROW = "cost_eur_yr"


def _header(name: str, language: str) -> str:
    return scenario_text(f"scenarios.col.{name}", language)


def _missing(value: object) -> bool:
    # pd.isna also covers pd.NA and NaT, which i18n.is_missing does not.
    return value is None or (not isinstance(value, tuple) and bool(pd.isna(value)))


def number_text(value: object, language: str, decimals: int | None = None) -> str:
    """Format one table cell: a number in ``language``, or the "no data" text."""
    if _missing(value):
        return translate("value.missing", language)
    return format_number(float(value), language, decimals)  # type: ignore[arg-type]


def number_texts(
    values: Iterable[object], language: str, decimals: int | None = None
) -> list[str]:
    """Format a column of numbers with :func:`number_text`."""
    return [number_text(value, language, decimals) for value in values]


def yes_no_texts(values: Iterable[object], language: str) -> list[str]:
    """Return "ja"/"nee" (or "yes"/"no") per value, "no data" where it is missing."""
    texts = []
    for value in values:
        if _missing(value):
            texts.append(translate("value.missing", language))
        else:
            key = "scenarios.yes" if bool(value) else "scenarios.no"
            texts.append(scenario_text(key, language))
    return texts


def unit_texts(values: Iterable[object], language: str) -> list[str]:
    """Return each unit as written in ``language``; a missing unit is empty."""
    return [
        "" if _missing(unit) else translate_unit(str(unit), language) for unit in values
    ]


def kpi_label(engine: ScenarioEngine, kpi_id: str, language: str) -> str:
    """Return the name of a KPI or indicator in ``language``."""
    return engine.kpi(kpi_id).definition.name.get(language)


def measure_label(engine: ScenarioEngine, measure_id: str | None, language: str) -> str:
    """Return the name of a measure in ``language``, or the text for no measure."""
    if measure_id is None:
        return scenario_text("scenarios.no_measure_option", language)
    return engine.library.get(measure_id).name.get(language)


def _range_text(
    mid: object, low: object, high: object, language: str, decimals: int | None
) -> str:
    if _missing(mid):
        return translate("value.missing", language)
    if _missing(low) or _missing(high):
        return number_text(mid, language, decimals)
    lowest, highest = sorted((float(low), float(high)))  # type: ignore[arg-type]
    return (
        f"{number_text(mid, language, decimals)} "
        f"({number_text(lowest, language, decimals)} – "
        f"{number_text(highest, language, decimals)})"
    )


def ranged(
    frame: pd.DataFrame, prefix: str, language: str, decimals: int = 0
) -> list[str]:
    """Return "mid (low – high)" texts for the columns ``<prefix>_low/mid/high``."""
    columns = (frame[f"{prefix}_low"], frame[f"{prefix}_mid"], frame[f"{prefix}_high"])
    return [
        _range_text(mid, low, high, language, decimals)
        for low, mid, high in zip(*columns, strict=True)
    ]


def kpi_table(
    engine: ScenarioEngine, language: str, kpis: pd.DataFrame
) -> pd.DataFrame:
    """Return the KPI changes without data gaps: value now and per variant.

    The KPIs have different units, so the unit is a column of its own.
    """
    shown = kpis[kpis["status"] != "gap"]
    table = pd.DataFrame(
        {
            _header("kpi", language): [
                kpi_label(engine, k, language) for k in shown["kpi_id"]
            ],
            _header("unit", language): unit_texts(shown["unit"], language),
        }
    )
    for column, name in (
        ("current", "current"),
        ("low", "low"),
        ("mid", "mid"),
        ("high", "high"),
        ("change_mid", "change"),
        ("target_value", "target"),
    ):
        table[_header(name, language)] = number_texts(shown[column], language)
    reached = yes_no_texts(shown["reaches_target_mid"], language)
    table[_header("reached", language)] = reached
    return table


def cost_table(
    engine: ScenarioEngine, language: str, costs: pd.DataFrame
) -> pd.DataFrame:
    """Return parcels, treated area and cost ranges per measure."""
    names = [measure_label(engine, m, language) for m in costs["measure_id"]]
    return pd.DataFrame(
        {
            _header("measure", language): names,
            _header("parcels", language): number_texts(costs["parcels"], language, 0),
            _header("treated_ha", language): number_texts(
                costs["treated_ha"], language, 1
            ),
            _header("annual_eur", language): ranged(costs, "annual", language),
            _header("one_off_eur", language): ranged(costs, "one_off", language),
        }
    )


def gain_table(
    engine: ScenarioEngine, language: str, per_gain: pd.DataFrame
) -> pd.DataFrame:
    """Return the annualised cost per unit of KPI improvement."""
    names = [kpi_label(engine, k, language) for k in per_gain["kpi_id"]]
    return pd.DataFrame(
        {
            _header("kpi", language): names,
            _header("unit", language): unit_texts(per_gain["unit"], language),
            _header("gain", language): number_texts(per_gain["gain_mid"], language),
            _header("eur_per_unit", language): number_texts(
                per_gain["eur_per_unit"], language, 0
            ),
        }
    )


def farm_table(
    engine: ScenarioEngine, language: str, farms: pd.DataFrame
) -> pd.DataFrame:
    """Return income, workload and yield ranges per farm."""
    return pd.DataFrame(
        {
            _header("farm", language): farms["farm_id"].to_numpy(),
            _header("parcels", language): number_texts(farms["parcels"], language, 0),
            _header("treated_ha", language): number_texts(
                farms["treated_ha"], language, 1
            ),
            _header("income_eur_yr", language): ranged(
                farms, "income_eur_yr", language
            ),
            _header("workload_h_yr", language): ranged(
                farms, "workload_h_yr", language
            ),
            _header("yield_change_pct", language): ranged(
                farms, "yield_change_pct", language, 1
            ),
        }
    )


def target_table(
    engine: ScenarioEngine, language: str, reports: pd.DataFrame
) -> pd.DataFrame:
    """Return per target what a plan reaches, the shortfall and the best alone."""
    names = [kpi_label(engine, k, language) for k in reports["kpi_id"]]
    units = [engine.kpi(k).definition.unit for k in reports["kpi_id"]]
    best_alone = pd.to_numeric(reports["best_alone"], errors="coerce")
    return pd.DataFrame(
        {
            _header("kpi", language): names,
            _header("unit", language): unit_texts(units, language),
            _header("target", language): number_texts(reports["target"], language),
            _header("current", language): number_texts(reports["current"], language),
            _header("reached", language): number_texts(reports["reached"], language),
            _header("met", language): yes_no_texts(reports["met"], language),
            _header("shortfall", language): number_texts(
                reports["shortfall"], language
            ),
            _header("best_alone", language): number_texts(best_alone, language),
        }
    )


def plan_table(language: str, plans: list[Plan]) -> pd.DataFrame:
    """Return method, outcome, cost, parcels and run time of each plan."""
    rows = []
    for plan in plans:
        parcels = int((plan.assignment != NO_MEASURE).sum())
        rows.append(
            {
                _header("method", language): scenario_text(
                    f"scenarios.method.{plan.method}", language
                ),
                _header("status", language): scenario_text(
                    f"scenarios.plan_status.{plan.status}", language
                ),
                _header("cost_eur_yr", language): number_text(
                    plan.annualised_cost, language, 0
                ),
                _header("parcels", language): number_text(parcels, language, 0),
                _header("seconds", language): number_text(
                    plan.solve_seconds, language, 2
                ),
            }
        )
    return pd.DataFrame(rows)


def comparison_table(
    engine: ScenarioEngine, language: str, comparison: pd.DataFrame
) -> pd.DataFrame:
    """Return the output of ``compare_scenarios`` with names and formatted numbers.

    ``comparison`` has ``kpi_id``, ``unit`` and ``current``, then per
    scenario a column of mid values and a ``<name> (range)`` column of
    (low, high) pairs or None, and a last row with the annualised cost.
    """
    names = [
        scenario_text("scenarios.cost_row", language)
        if kpi_id == COST_ROW
        else kpi_label(engine, kpi_id, language)
        for kpi_id in comparison["kpi_id"]
    ]
    units = [
        "€/jr" if kpi_id == COST_ROW else unit
        for kpi_id, unit in zip(comparison["kpi_id"], comparison["unit"], strict=True)
    ]
    table = pd.DataFrame(
        {
            _header("kpi", language): names,
            _header("unit", language): unit_texts(units, language),
            _header("current", language): number_texts(comparison["current"], language),
        }
    )
    for column in comparison.columns[3:]:
        if str(column).endswith(" (range)"):
            scenario = str(column).removesuffix(" (range)")
            header = scenario_text("scenarios.range_of", language, name=scenario)
            table[header] = [_pair_text(pair, language) for pair in comparison[column]]
        else:
            table[str(column)] = number_texts(comparison[column], language)
    return table


def _pair_text(pair: object, language: str) -> str:
    if not isinstance(pair, tuple) or any(_missing(value) for value in pair):
        return translate("value.missing", language)
    low, high = pair
    return f"{number_text(low, language)} – {number_text(high, language)}"


def matrix_table(matrix: pd.DataFrame, language: str) -> pd.DataFrame:
    """Return a numeric matrix (such as the trade-off matrix) with formatted cells."""
    return matrix.apply(
        lambda column: pd.Series(number_texts(column, language, 2), index=column.index)
    )
