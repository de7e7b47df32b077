"""Scenario results as tables for people: names, localised headers and ranges.

The engine's frames use ids and one column per variant; these functions turn
them into what the scenario page shows, in Dutch or English.
"""

from __future__ import annotations

import pandas as pd

from geo_dashboard.i18n import format_number
from geo_dashboard.measures.engine import ScenarioEngine
from geo_dashboard.measures.texts import scenario_text as _text


def scenario_text(language: str, key: str) -> str:
    return _text(key, language)


def kpi_label(engine: ScenarioEngine, kpi_id: str, language: str) -> str:
    """Return the name of a KPI or indicator in ``language``."""
    return engine.kpi(kpi_id).definition.name.get(language)


def measure_label(engine: ScenarioEngine, measure_id: str | None, language: str) -> str:
    """Return the name of a measure in ``language``, or the text for no measure."""
    if measure_id is None:
        return _text("scenarios.no_measure_option", language)
    return engine.library.get(measure_id).name.get(language)


def ranged(
    frame: pd.DataFrame, prefix: str, language: str, decimals: int = 0
) -> list[str]:
    """Return "mid (low – high)" texts for columns ``<prefix>_low/mid/high``."""
    texts = []
    for low, mid, high in zip(
        frame[f"{prefix}_low"],
        frame[f"{prefix}_mid"],
        frame[f"{prefix}_high"],
        strict=True,
    ):
        lowest, highest = sorted((low, high))
        texts.append(
            f"{format_number(mid, language, decimals)} "
            f"({format_number(lowest, language, decimals)} – "
            f"{format_number(highest, language, decimals)})"
        )
    return texts


def cost_table(
    engine: ScenarioEngine, language: str, costs: pd.DataFrame
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            scenario_text(language, "scenarios.col.measure"): costs["measure_id"].map(
                lambda item: measure_label(engine, item, language)
            ),
            scenario_text(language, "scenarios.col.parcels"): costs["parcels"],
            scenario_text(language, "scenarios.col.treated_ha"): costs[
                "treated_ha"
            ].round(1),
            scenario_text(language, "scenarios.col.annual_eur"): ranged(
                costs, "annual", language
            ),
            scenario_text(language, "scenarios.col.one_off_eur"): ranged(
                costs, "one_off", language
            ),
        }
    )


def gain_table(
    engine: ScenarioEngine, language: str, per_gain: pd.DataFrame
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            scenario_text(language, "scenarios.col.kpi"): per_gain["kpi_id"].map(
                lambda item: kpi_label(engine, item, language)
            ),
            scenario_text(language, "scenarios.col.unit"): per_gain["unit"],
            scenario_text(language, "scenarios.col.gain"): per_gain["gain_mid"].round(
                4
            ),
            scenario_text(language, "scenarios.col.eur_per_unit"): per_gain[
                "eur_per_unit"
            ].round(0),
        }
    )


def farm_table(
    engine: ScenarioEngine, language: str, farms: pd.DataFrame
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            scenario_text(language, "scenarios.col.farm"): farms["farm_id"],
            scenario_text(language, "scenarios.col.parcels"): farms["parcels"],
            scenario_text(language, "scenarios.col.treated_ha"): farms[
                "treated_ha"
            ].round(1),
            scenario_text(language, "scenarios.col.income_eur_yr"): ranged(
                farms, "income_eur_yr", language
            ),
            scenario_text(language, "scenarios.col.workload_h_yr"): ranged(
                farms, "workload_h_yr", language
            ),
            scenario_text(language, "scenarios.col.yield_change_pct"): ranged(
                farms, "yield_change_pct", language
            ),
        }
    )


def target_table(
    engine: ScenarioEngine, language: str, frame: pd.DataFrame
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            scenario_text(language, "scenarios.col.kpi"): frame["kpi_id"].map(
                lambda item: kpi_label(engine, item, language)
            ),
            scenario_text(language, "scenarios.col.target"): frame["target"],
            scenario_text(language, "scenarios.col.current"): frame["current"].round(4),
            scenario_text(language, "scenarios.col.reached"): frame["reached"].round(4),
            scenario_text(language, "scenarios.col.met"): frame["met"],
            scenario_text(language, "scenarios.col.shortfall"): frame[
                "shortfall"
            ].round(4),
            scenario_text(language, "scenarios.col.best_alone"): pd.to_numeric(
                frame["best_alone"]
            ).round(4),
        }
    )


def kpi_table(
    engine: ScenarioEngine, language: str, result_kpis: pd.DataFrame
) -> pd.DataFrame:
    shown = result_kpis[result_kpis["status"] != "gap"].copy()
    shown.insert(
        0,
        scenario_text(language, "scenarios.col.kpi"),
        shown["kpi_id"].map(lambda item: kpi_label(engine, item, language)),
    )
    columns = {
        "unit": scenario_text(language, "scenarios.col.unit"),
        "current": scenario_text(language, "scenarios.col.current"),
        "low": scenario_text(language, "scenarios.col.low"),
        "mid": scenario_text(language, "scenarios.col.mid"),
        "high": scenario_text(language, "scenarios.col.high"),
        "change_mid": scenario_text(language, "scenarios.col.change"),
        "target_value": scenario_text(language, "scenarios.col.target"),
        "reaches_target_mid": scenario_text(language, "scenarios.col.reached"),
    }
    table = shown[[scenario_text(language, "scenarios.col.kpi"), *columns]].rename(
        columns=columns
    )
    return table.round(4)
