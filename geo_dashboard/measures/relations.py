"""Relations between goals, KPIs and measures, and trade-offs in a scenario.

:func:`measure_effects` applies each measure on its own to every parcel where
it applies and records the KPI change per 100 ha of treated land. From that,
:func:`relations_dot` draws goal -> KPI -> measure as a Graphviz DOT graph
(for ``st.graphviz_chart``) with signed, weighted edges and the sources of
the effects, and :func:`tradeoff_matrix` shows for a scenario which KPIs its
measures move together (synergy) and which against each other (trade-off).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from geo_dashboard.measures.engine import ScenarioEngine
from geo_dashboard.measures.library import CROP_ATTRIBUTES, Measure
from geo_dashboard.measures.results import measure_masks

logger = logging.getLogger(__name__)

GOAL_LABELS = {
    "nature": ("Natuur", "Nature"),
    "climate": ("Klimaat", "Climate"),
    "water": ("Water", "Water"),
    "biodiversity": ("Biodiversiteit", "Biodiversity"),
    "agriculture": ("Landbouw", "Agriculture"),
    "other": ("Overig", "Other"),
}
HELPS_COLOR = "#117733"
HINDERS_COLOR = "#CC3311"
UNKNOWN_COLOR = "#999999"


def _gain_scale(engine: ScenarioEngine, kpi_id: str) -> float:
    """Return the size of one unit of progress: the gap from now to the target."""
    item = engine.kpi(kpi_id)
    current = engine.current_values.get(kpi_id)
    if item.target_value is not None and current is not None:
        gap = abs(item.target_value - current)
        if gap > 1e-12:
            return gap
    if current is not None and abs(current) > 1e-12:
        return abs(current)
    return 1.0


def measure_effects(engine: ScenarioEngine) -> pd.DataFrame:
    """Return each measure's effect on each KPI when applied wherever it applies.

    Columns are ``measure_id``, ``kpi_id``, ``status``, ``change_per_100ha``
    (mid variant, in the KPI's unit), ``gain`` (the same, signed so that
    positive means progress) and ``weight`` (absolute gain per 100 ha as a
    share of the gap to the target). ``status`` is ``computed``, or
    ``no_data`` when the measure cannot be used in this area but changes a
    column that the KPI uses.
    """
    rows = []
    for measure in engine.library.measures:
        changed = measure.columns_changed
        related = [
            item
            for item in engine.kpis
            if item.definition.table == "parcels" and item.definition.columns & changed
        ]
        if (
            engine.unavailable_reason(measure) is not None
            or not engine.applicable(measure.id).any()
        ):
            rows += [
                _row(measure.id, item.definition.id, "no_data") for item in related
            ]
            continue
        assignment = engine.empty_assignment()
        assignment[engine.applicable(measure.id)] = measure.id
        treated = float(
            engine.treated_area(measure.id)[engine.applicable(measure.id)].sum()
        )
        table = engine.apply(assignment, ("mid",))["mid"]
        values = engine.kpi_values(table)
        for item in engine.computed_kpis:
            kpi_id = item.definition.id
            before, after = engine.current_values.get(kpi_id), values.get(kpi_id)
            if before is None or after is None or treated <= 0:
                continue
            change = (after - before) * 100.0 / treated
            if abs(change) < 1e-12:
                continue
            sign = 1.0 if item.definition.direction == "higher" else -1.0
            row = _row(measure.id, kpi_id, "computed")
            row["change_per_100ha"] = change
            row["gain"] = change * sign
            row["weight"] = abs(change) / _gain_scale(engine, kpi_id)
            rows.append(row)
    columns = ["measure_id", "kpi_id", "status", "change_per_100ha", "gain", "weight"]
    return pd.DataFrame(rows, columns=columns)


def _row(measure_id: str, kpi_id: str, status: str) -> dict[str, object]:
    return {
        "measure_id": measure_id,
        "kpi_id": kpi_id,
        "status": status,
        "change_per_100ha": np.nan,
        "gain": np.nan,
        "weight": np.nan,
    }


def effect_sources(measure: Measure, columns: set[str]) -> list[str]:
    """Return the sources of the measure's effects on ``columns``."""
    sources = []
    if measure.set_crop is not None and columns & set(CROP_ATTRIBUTES):
        sources.append(
            f"attributes of BRP crop code {measure.set_crop} in the crop table"
        )
    for column, effect in measure.effects.items():
        if column not in columns and not (
            column == "peat_emission_rate" and "peat_emission_t" in columns
        ):
            continue
        value_range = effect.value_range
        if value_range is not None:
            sources.append(f"{column} ({value_range.basis}): {value_range.source}")
        else:
            sources.append(f"{column}: set by the measure")
    return sources


def _quote(text: str) -> str:
    """Quote text as a DOT string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def relations_dot(
    engine: ScenarioEngine, language: str = "nl", effects: pd.DataFrame | None = None
) -> str:
    """Return the goal -> KPI -> measure graph as Graphviz DOT text.

    Goals are the themes of the area's KPIs. A measure edge is green when
    the measure moves the KPI towards its target and red when it moves it
    away. Its width grows with the weight from :func:`measure_effects`,
    relative to the other measures on the same KPI. Its label gives the
    change per 100 ha and its tooltip the sources. Dashed grey
    edges mark measures that would change the KPI but cannot be used in
    this area for lack of data.
    """
    effects = measure_effects(engine) if effects is None else effects
    english = language == "en"
    lines = [
        "digraph relations {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", '
        "fontsize=10];",
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    kpis = [item for item in engine.kpis if item.status != "gap" or item.kind == "kpi"]
    for theme in sorted({item.definition.theme for item in kpis}):
        label = GOAL_LABELS.get(theme, (theme, theme))[1 if english else 0]
        lines.append(
            f'  {_quote("goal:" + theme)} [label={_quote(label)}, fillcolor="#DDCC77"];'
        )
    for item in kpis:
        definition = item.definition
        label = definition.name.get(language)
        if item.target_value is not None:
            label += f"\n→ {item.target_value:g} {definition.unit} ({item.target_year})"
        color = "#eeeeee" if item.status == "gap" else "#88CCEE"
        node = _quote("kpi:" + definition.id)
        lines.append(f'  {node} [label={_quote(label)}, fillcolor="{color}"];')
        lines.append(f"  {_quote('goal:' + definition.theme)} -> {node};")
    shown = {item.definition.id for item in kpis}
    drawn = effects[effects["kpi_id"].isin(shown)] if len(effects) else effects
    used = sorted(set(drawn["measure_id"])) if len(drawn) else []
    for measure_id in used:
        name = engine.library.get(measure_id).name.get(language)
        lines.append(
            f"  {_quote('measure:' + measure_id)} [label={_quote(name)}, "
            'fillcolor="#CCEEBB"];'
        )
    # Edge widths compare the measures that act on the same KPI.
    max_weight = (
        effects.groupby("kpi_id")["weight"].max().to_dict() if len(effects) else {}
    )
    for row in effects.itertuples(index=False):
        if row.kpi_id not in shown:
            continue
        measure = engine.library.get(row.measure_id)
        columns = engine.kpi(row.kpi_id).definition.columns
        tooltip = "; ".join(effect_sources(measure, columns)) or measure.name.get(
            language
        )
        head, tail = _quote("kpi:" + row.kpi_id), _quote("measure:" + row.measure_id)
        if row.status != "computed":
            label = "no data" if english else "geen data"
            lines.append(
                f'  {head} -> {tail} [dir=back, style=dashed, color="{UNKNOWN_COLOR}", '
                f"label={_quote(label)}, tooltip={_quote(tooltip)}];"
            )
            continue
        color = HELPS_COLOR if row.gain > 0 else HINDERS_COLOR
        largest = max_weight.get(row.kpi_id) or 0.0
        width = 1.0 + 4.0 * min(1.0, row.weight / largest) if largest > 0 else 1.0
        sign = "+" if row.change_per_100ha > 0 else ""
        label = f"{sign}{row.change_per_100ha:.3g} / 100 ha"
        lines.append(
            f'  {head} -> {tail} [dir=back, color="{color}", penwidth={width:.2f}, '
            f"label={_quote(label)}, tooltip={_quote(tooltip)}];"
        )
    lines.append("}")
    return "\n".join(lines)


def tradeoff_matrix(engine: ScenarioEngine, assignment: np.ndarray) -> pd.DataFrame:
    """Return for each pair of KPIs whether the scenario moves them together.

    Each measure in ``assignment`` is evaluated on its own parcels (mid
    variant). Its gains form a vector over KPIs, each gain divided by the
    gap from the current value to the target. The matrix entry is the
    cosine similarity of two KPIs' gains over the measures: +1 means every
    measure that helps one helps the other (synergy), -1 that what helps
    one hinders the other (trade-off). KPIs that no measure changes are
    left out.
    """
    masks = measure_masks(assignment)
    measures = list(masks)
    kpi_ids = [item.definition.id for item in engine.computed_kpis]
    gains = np.zeros((len(measures), len(kpi_ids)))
    for row, measure_id in enumerate(measures):
        single = np.where(masks[measure_id], measure_id, "").astype(object)
        values = engine.kpi_values(engine.apply(single, ("mid",))["mid"])
        for column, kpi_id in enumerate(kpi_ids):
            before, after = engine.current_values.get(kpi_id), values.get(kpi_id)
            if before is None or after is None:
                continue
            sign = 1.0 if engine.kpi(kpi_id).definition.direction == "higher" else -1.0
            gains[row, column] = (after - before) * sign / _gain_scale(engine, kpi_id)
    moved = np.abs(gains).sum(axis=0) > 1e-12
    gains = gains[:, moved]
    names = [kpi_id for kpi_id, keep in zip(kpi_ids, moved, strict=True) if keep]
    norms = np.linalg.norm(gains, axis=0)
    similarity = (
        (gains.T @ gains) / np.outer(norms, norms) if names else np.zeros((0, 0))
    )
    return pd.DataFrame(np.clip(similarity, -1.0, 1.0), index=names, columns=names)
