"""Scenario results as tables for people: names, translated headers and ranges.

The engine's frames use ids and one column per variant. These functions turn
them into the tables that the scenario page shows, in Dutch or English.
"""

from __future__ import annotations

import pandas as pd

from geo_dashboard.i18n import format_number
from geo_dashboard.measures.engine import ScenarioEngine
from geo_dashboard.measures.optimiser import Plan
from geo_dashboard.measures.results import NO_MEASURE
from geo_dashboard.measures.texts import scenario_text


def _header(name: str, language: str) -> str:
    return scenario_text(f"scenarios.col.{name}", language)


def kpi_label(engine: ScenarioEngine, kpi_id: str, language: str) -> str:
    """Return the name of a KPI or indicator in ``language``."""
    return engine.kpi(kpi_id).definition.name.get(language)


def measure_label(engine: ScenarioEngine, measure_id: str | None, language: str) -> str:
    """Return the name of a measure in ``language``, or the text for no measure."""
    if measure_id is None:
        return scenario_text("scenarios.no_measure_option", language)
    return engine.library.get(measure_id).name.get(language)


def ranged(
    frame: pd.DataFrame, prefix: str, language: str, decimals: int = 0
) -> list[str]:
    """Return "mid (low – high)" texts for the columns ``<prefix>_low/mid/high``."""
    texts = []
    columns = (frame[f"{prefix}_low"], frame[f"{prefix}_mid"], frame[f"{prefix}_high"])
    for low, mid, high in zip(*columns, strict=True):
        lowest, highest = sorted((low, high))
        texts.append(
            f"{format_number(mid, language, decimals)} "
            f"({format_number(lowest, language, decimals)} – "
            f"{format_number(highest, language, decimals)})"
        )
    return texts


def kpi_table(
    engine: ScenarioEngine, language: str, kpis: pd.DataFrame
) -> pd.DataFrame:
    """Return the KPI changes without data gaps: value now and per variant."""
    shown = kpis[kpis["status"] != "gap"]
    table = pd.DataFrame(
        {
            _header("kpi", language): [
                kpi_label(engine, k, language) for k in shown["kpi_id"]
            ]
        }
    )
    for column, name in (
        ("unit", "unit"),
        ("current", "current"),
        ("low", "low"),
        ("mid", "mid"),
        ("high", "high"),
        ("change_mid", "change"),
        ("target_value", "target"),
        ("reaches_target_mid", "reached"),
    ):
        values = shown[column].to_numpy()
        table[_header(name, language)] = values
    return table.round(4)


def cost_table(
    engine: ScenarioEngine, language: str, costs: pd.DataFrame
) -> pd.DataFrame:
    """Return parcels, treated area and cost ranges per measure."""
    names = [measure_label(engine, m, language) for m in costs["measure_id"]]
    return pd.DataFrame(
        {
            _header("measure", language): names,
            _header("parcels", language): costs["parcels"].to_numpy(),
            _header("treated_ha", language): costs["treated_ha"].round(1).to_numpy(),
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
            _header("unit", language): per_gain["unit"].to_numpy(),
            _header("gain", language): per_gain["gain_mid"].round(4).to_numpy(),
            _header("eur_per_unit", language): per_gain["eur_per_unit"]
            .round(0)
            .to_numpy(),
        }
    )


def farm_table(
    engine: ScenarioEngine, language: str, farms: pd.DataFrame
) -> pd.DataFrame:
    """Return income, workload and yield ranges per farm."""
    return pd.DataFrame(
        {
            _header("farm", language): farms["farm_id"].to_numpy(),
            _header("parcels", language): farms["parcels"].to_numpy(),
            _header("treated_ha", language): farms["treated_ha"].round(1).to_numpy(),
            _header("income_eur_yr", language): ranged(
                farms, "income_eur_yr", language
            ),
            _header("workload_h_yr", language): ranged(
                farms, "workload_h_yr", language
            ),
            _header("yield_change_pct", language): ranged(
                farms, "yield_change_pct", language
            ),
        }
    )


def target_table(
    engine: ScenarioEngine, language: str, reports: pd.DataFrame
) -> pd.DataFrame:
    """Return per target what a plan reaches, the shortfall and the best alone."""
    names = [kpi_label(engine, k, language) for k in reports["kpi_id"]]
    return pd.DataFrame(
        {
            _header("kpi", language): names,
            _header("target", language): reports["target"].to_numpy(),
            _header("current", language): reports["current"].round(4).to_numpy(),
            _header("reached", language): reports["reached"].round(4).to_numpy(),
            _header("met", language): reports["met"].to_numpy(),
            _header("shortfall", language): reports["shortfall"].round(4).to_numpy(),
            _header("best_alone", language): pd.to_numeric(reports["best_alone"])
            .round(4)
            .to_numpy(),
        }
    )


def plan_table(language: str, plans: list[Plan]) -> pd.DataFrame:
    """Return method, outcome, cost, parcels and run time of each plan."""
    rows = []
    for plan in plans:
        rows.append(
            {
                _header("method", language): scenario_text(
                    f"scenarios.method.{plan.method}", language
                ),
                _header("status", language): scenario_text(
                    f"scenarios.plan_status.{plan.status}", language
                ),
                _header("cost_eur_yr", language): round(plan.annualised_cost),
                _header("parcels", language): int(
                    (plan.assignment != NO_MEASURE).sum()
                ),
                _header("seconds", language): round(plan.solve_seconds, 2),
            }
        )
    return pd.DataFrame(rows)
