"""Scenario page: measures on parcels, KPI changes, costs, relations and the optimiser.

The page keeps the scenario being edited as a list of steps in the session
(``scenario_steps``). The engine, built once per build folder, does the work.
Texts come from the ``scenarios`` catalogue domain.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
import streamlit as st
from pydantic import ValidationError
from streamlit_folium import st_folium

from geo_dashboard.app import common
from geo_dashboard.errors import GeoDashboardError
from geo_dashboard.i18n import format_number
from geo_dashboard.measures import tables
from geo_dashboard.measures.diffmap import difference_map
from geo_dashboard.measures.engine import NO_MEASURE
from geo_dashboard.measures.library import VARIANTS
from geo_dashboard.measures.optimiser import (
    OptimiserOptions,
    greedy_plan,
    optimise,
    target_options,
)
from geo_dashboard.measures.proposals import engine_with_accepted
from geo_dashboard.measures.relations import (
    measure_effects,
    relations_dot,
    tradeoff_matrix,
)
from geo_dashboard.measures.scenario import ParcelStep, RuleStep, Scenario
from geo_dashboard.measures.selection import parcels_in_drawings, selection_map
from geo_dashboard.measures.store import (
    compare_scenarios,
    list_scenarios,
    load_scenario,
    save_scenario,
)
from geo_dashboard.measures.texts import scenario_text, step_problem, unavailable_text
from geo_dashboard.privacy import OTHER_FARMS

logger = logging.getLogger(__name__)

st.session_state.setdefault("scenario_steps", [])
st.session_state.setdefault("scenario_result_version", 0)

context = common.require_build()
build = context.build
assert build is not None
language = context.language

# Steps of another area name parcels and measures that mean nothing here.
if st.session_state.get("scenario_area") != build.area_id:
    st.session_state["scenario_area"] = build.area_id
    st.session_state["scenario_steps"] = []
    st.session_state.pop("scenario_assignment", None)
    st.session_state.pop("optimiser_plan", None)


def s(key: str, **params: object) -> str:
    """Translate a scenario-page message key into the chosen language."""
    return scenario_text(key, language, **params)


# The engine works on the viewer's build: farm ids of farms the viewer may
# not see are pooled, so per-farm results never name them.
try:
    engine = engine_with_accepted(
        common.scenario_engine(context),
        common.current_store(context.paths),
        common.kpi_library(),
        build.nature,
    )
except GeoDashboardError as err:
    logger.error("scenario engine of area %s not started: %s", build.area_id, err)
    st.error(s("scenarios.error.engine"))
    st.stop()
disclosure = context.disclosure
assert disclosure is not None


def visible_farm_effects(farms: pd.DataFrame) -> pd.DataFrame:
    """Return the farm effects of visible farms, with other farms as one row."""
    shown = farms[
        farms["farm_id"].isin(disclosure.visible_farms)
        | (farms["farm_id"] == OTHER_FARMS)
    ].copy()
    label = common.t("farms.other_farms")
    shown["farm_id"] = shown["farm_id"].replace(OTHER_FARMS, label)
    return shown


def kpi_name(kpi_id: str) -> str:
    return tables.kpi_label(engine, kpi_id, language)


def measure_name(measure_id: str | None) -> str:
    return tables.measure_label(engine, measure_id, language)


def current_scenario(
    name: str = "", description: str = "", cycle: str | None = None
) -> Scenario:
    steps = [
        RuleStep(**step) if step["kind"] == "rule" else ParcelStep(**step)
        for step in st.session_state["scenario_steps"]
    ]
    return Scenario(
        name=name or s("scenarios.unnamed"),
        area_id=build.area_id,
        description=description,
        cycle=cycle,
        build=build.folder.name,
        steps=steps,
    )


def add_step(step: dict) -> None:
    """Add a step to the scenario unless it is rejected; show why it is."""
    problem = step_problem(engine, step, language)
    if problem is not None:
        st.error(common.escape_markdown(problem))
        return
    steps = [*st.session_state["scenario_steps"], step]
    try:
        candidate = Scenario(name="check", area_id=build.area_id, steps=steps)
        before = candidate.model_copy(update={"steps": steps[:-1]}).assignment(engine)
        after = candidate.assignment(engine)
    except (ValidationError, GeoDashboardError) as err:
        # step_problem covers what a user can get wrong; anything else is
        # logged in the library's English and shown as a translated text.
        logger.warning("step %s rejected in area %s: %s", step, build.area_id, err)
        st.error(s("scenarios.error.step"))
        return
    if step["measure"] is not None and not (after != before).any():
        st.warning(
            s("scenarios.step_no_parcels", measure=measure_name(step["measure"]))
        )
        return
    st.session_state["scenario_steps"] = steps


st.title(s("scenarios.title"))
st.caption(s("scenarios.intro"))
build_tab, compare_tab, relations_tab, optimise_tab = st.tabs(
    [
        s("scenarios.tab.build"),
        s("scenarios.tab.compare"),
        s("scenarios.tab.relations"),
        s("scenarios.tab.optimise"),
    ]
)

# --- Build a scenario ------------------------------------------------------
with build_tab:
    available = [m.id for m in engine.library.measures if engine.applicable(m.id).any()]
    unavailable = {
        m.id: unavailable_text(engine, m, language) or s("scenarios.no_parcels")
        for m in engine.library.measures
        if m.id not in available
    }
    with st.expander(s("scenarios.library"), expanded=False):
        for measure in engine.library.measures:
            count = int(engine.applicable(measure.id).sum())
            st.markdown(
                f"**{common.escape_markdown(measure.name.get(language))}** "
                f"({s('scenarios.applies_count', count=count)})"
            )
            st.caption(measure.description.get(language))
            if measure.id in unavailable:
                reason = common.escape_markdown(unavailable[measure.id])
                st.caption(s("scenarios.unavailable", reason=reason))
    left, right = st.columns(2)
    with left, st.form("rule_form"):
        st.subheader(s("scenarios.add_rule"))
        rule_measure = st.selectbox(
            s("scenarios.measure"), available, format_func=measure_name
        )
        rule_where = st.text_input(s("scenarios.where"), help=s("scenarios.where_help"))
        if st.form_submit_button(s("scenarios.add")) and rule_measure:
            add_step(
                {
                    "kind": "rule",
                    "measure": rule_measure,
                    "where": rule_where.strip() or None,
                }
            )
    with right, st.form("parcel_form"):
        st.subheader(s("scenarios.add_parcels"))
        parcel_measure = st.selectbox(
            s("scenarios.measure"),
            available,
            format_func=measure_name,
            key="parcel_measure",
        )
        parcel_text = st.text_area(
            s("scenarios.parcel_ids"), help=s("scenarios.parcel_ids_help")
        )
        if st.form_submit_button(s("scenarios.add")):
            ids = [item for item in re.split(r"[\s,;]+", parcel_text) if item]
            if ids:
                add_step(
                    {"kind": "parcels", "measure": parcel_measure, "parcel_ids": ids}
                )

    for index, step in enumerate(list(st.session_state["scenario_steps"])):
        text_column, button_column = st.columns([6, 1])
        if step["kind"] == "rule":
            label = s(
                "scenarios.step_rule",
                measure=measure_name(step["measure"]),
                where=step.get("where") or s("scenarios.everywhere"),
            )
        else:
            label = s(
                "scenarios.step_parcels",
                measure=measure_name(step["measure"]),
                count=len(step["parcel_ids"]),
            )
        text_column.text(f"{index + 1}. {label}")
        if button_column.button(s("scenarios.remove"), key=f"remove_step_{index}"):
            st.session_state["scenario_steps"].pop(index)
            st.rerun()

    try:
        scenario = current_scenario()
        assignment = scenario.assignment(engine)
        result = engine.evaluate(assignment, scenario.planning_years)
    except GeoDashboardError as err:
        logger.error("scenario of area %s not computed: %s", build.area_id, err)
        st.error(s("scenarios.error.evaluate"))
        st.stop()
    st.session_state["scenario_assignment"] = assignment

    st.subheader(s("scenarios.kpi_changes"))
    st.caption(s("scenarios.range_note"))
    st.dataframe(
        tables.kpi_table(engine, language, result.kpis),
        hide_index=True,
        width="stretch",
    )

    totals = result.total_cost()
    cost_columns = st.columns(3)
    for column, kind in zip(
        cost_columns, ("annual", "one_off", "annualised"), strict=True
    ):
        column.metric(
            s(f"scenarios.cost.{kind}"),
            f"€ {format_number(totals[f'{kind}_mid'], language, 0)}",
            help=s(
                "scenarios.cost.range",
                low=format_number(totals[f"{kind}_low"], language, 0),
                high=format_number(totals[f"{kind}_high"], language, 0),
            ),
        )
    if len(result.costs):
        st.dataframe(
            tables.cost_table(engine, language, result.costs),
            hide_index=True,
            width="stretch",
        )
        per_gain = result.cost_per_gain().dropna(subset=["eur_per_unit"])
        st.subheader(s("scenarios.cost_per_gain"))
        st.dataframe(
            tables.gain_table(engine, language, per_gain),
            hide_index=True,
            width="stretch",
        )
        st.subheader(s("scenarios.farm_effects"))
        st.dataframe(
            tables.farm_table(
                engine, language, visible_farm_effects(result.farm_effects)
            ),
            hide_index=True,
            width="stretch",
        )

        mapped = [
            kpi_id
            for kpi_id in result.parcel_diff.columns
            if kpi_id in {item.definition.id for item in engine.computed_kpis}
            and result.parcel_diff[kpi_id].abs().sum() > 0
        ]
        if mapped:
            st.subheader(s("scenarios.diff_map"))
            map_kpi = st.selectbox(s("scenarios.map_kpi"), mapped, format_func=kpi_name)
            display = common.load_display_layers(
                str(context.paths.builds), build.area_id, str(build.folder)
            )
            folium_map = difference_map(
                build, engine, result, map_kpi, language, display=display
            )
            st_folium(
                common.serve_leaflet(folium_map),
                key="scenario_diff_map",
                height=520,
                use_container_width=True,
                returned_objects=[],
            )

    with st.expander(s("scenarios.select_on_map")):
        st.caption(s("scenarios.select_on_map_help"))
        display = common.load_display_layers(
            str(context.paths.builds), build.area_id, str(build.folder)
        )
        drawn = st_folium(
            common.serve_leaflet(
                selection_map(build, engine, assignment, language, display=display)
            ),
            key="scenario_selection_map",
            height=520,
            use_container_width=True,
            returned_objects=["all_drawings"],
        )
        drawn_ids = parcels_in_drawings(
            build.parcels, (drawn or {}).get("all_drawings")
        )
        if drawn_ids:
            drawn_measure = st.selectbox(
                s("scenarios.measure"),
                [None, *available],
                format_func=measure_name,
                key="drawn_measure",
            )
            if drawn_measure is None:
                usable = drawn_ids
            else:
                positions = engine.parcel_ids.get_indexer(drawn_ids)
                fits = engine.applicable(drawn_measure)[positions]
                usable = [pid for pid, ok in zip(drawn_ids, fits, strict=True) if ok]
            st.caption(
                s("scenarios.drawn_count", selected=len(drawn_ids), usable=len(usable))
            )
            if usable and st.button(s("scenarios.assign_drawn"), key="assign_drawn"):
                add_step(
                    {"kind": "parcels", "measure": drawn_measure, "parcel_ids": usable}
                )
                st.rerun()

    with st.form("save_form"):
        st.subheader(s("scenarios.save"))
        name = st.text_input(s("scenarios.name"), max_chars=120)
        description = st.text_area(s("scenarios.description"))
        cycle = st.text_input(s("scenarios.cycle"), help=s("scenarios.cycle_help"))
        if st.form_submit_button(s("scenarios.save_button")) and name.strip():
            scenario = current_scenario(
                name.strip(), description, cycle.strip() or None
            )
            path = save_scenario(context.paths.builds, scenario)
            st.success(s("scenarios.saved", file=path.name))

# --- Compare saved scenarios -------------------------------------------------
with compare_tab:
    saved = list_scenarios(context.paths.builds, build.area_id)
    if not saved:
        st.info(s("scenarios.none_saved"))
    else:
        chosen = st.multiselect(s("scenarios.choose_saved"), saved, default=saved[:2])
        try:
            loaded = [
                load_scenario(context.paths.builds, build.area_id, slug)
                for slug in chosen
            ]
            if loaded:
                st.dataframe(
                    tables.comparison_table(
                        engine, language, compare_scenarios(engine, loaded)
                    ),
                    hide_index=True,
                    width="stretch",
                )
            for item in loaded:
                st.markdown(
                    f"**{common.escape_markdown(item.name)}**: "
                    f"{common.escape_markdown(item.description)}"
                )
            if st.button(s("scenarios.load_first")) and loaded:
                st.session_state["scenario_steps"] = [
                    step.model_dump() for step in loaded[0].steps
                ]
                st.rerun()
        except GeoDashboardError as err:
            logger.warning(
                "saved scenarios %s of area %s not shown: %s",
                chosen,
                build.area_id,
                err,
            )
            st.error(s("scenarios.error.load"))

# --- Goals, KPIs and measures -------------------------------------------------
with relations_tab:
    st.caption(s("scenarios.relations_note"))
    effects = measure_effects(engine)
    st.graphviz_chart(relations_dot(engine, language, effects), width="stretch")
    st.subheader(s("scenarios.tradeoffs"))
    assignment = st.session_state.get("scenario_assignment")
    if assignment is None or not (np.asarray(assignment) != NO_MEASURE).any():
        st.info(s("scenarios.tradeoffs_empty"))
    else:
        matrix = tradeoff_matrix(engine, assignment)
        matrix.index = [kpi_name(kpi_id) for kpi_id in matrix.index]
        matrix.columns = list(matrix.index)
        st.caption(s("scenarios.tradeoffs_note"))
        st.dataframe(tables.matrix_table(matrix, language), width="stretch")

# --- Optimiser ---------------------------------------------------------------
with optimise_tab:
    targets, reasons = target_options(engine)
    st.caption(s("scenarios.optimiser_note"))
    for kpi_id, reason in reasons.items():
        detail = s(f"scenarios.exclusion.{reason.code}", detail=reason.detail)
        st.caption(s("scenarios.not_targetable", name=kpi_name(kpi_id), reason=detail))
    with st.form("optimise_form"):
        chosen_targets = st.multiselect(
            s("scenarios.targets"),
            [t.kpi_id for t in targets],
            default=[t.kpi_id for t in targets],
            format_func=kpi_name,
        )
        allowed = st.multiselect(
            s("scenarios.allowed_measures"),
            available,
            default=available,
            format_func=measure_name,
        )
        budget = st.number_input(
            s("scenarios.budget"), min_value=0.0, value=0.0, step=10000.0
        )
        farm_share = st.slider(s("scenarios.farm_share"), 0, 100, 100)
        excluded_text = st.text_area(s("scenarios.excluded"))
        variant = st.selectbox(s("scenarios.variant"), VARIANTS, index=1)
        run = st.form_submit_button(s("scenarios.run"))
    if run:
        options = OptimiserOptions(
            budget_eur_yr=budget or None,
            max_farm_share=None if farm_share == 100 else farm_share / 100,
            excluded_parcels=[
                item for item in re.split(r"[\s,;]+", excluded_text) if item
            ],
            measures=allowed,
            variant=variant,
        )
        selected = [t for t in targets if t.kpi_id in chosen_targets]
        with st.spinner(s("scenarios.running")):
            plan = optimise(engine, selected, options)
            greedy = greedy_plan(engine, selected, options)
        st.session_state["optimiser_plan"] = plan
        st.markdown(s(f"scenarios.status.{plan.status}"))
        compare = tables.plan_table(language, [plan, greedy])
        st.dataframe(compare, hide_index=True)
        st.dataframe(
            tables.target_table(engine, language, plan.target_frame()),
            hide_index=True,
            width="stretch",
        )
        for note in plan.notes:
            st.caption(note)
    plan = st.session_state.get("optimiser_plan")
    if plan is not None and st.button(s("scenarios.use_plan")):
        steps = []
        for measure_id in sorted(set(plan.assignment) - {NO_MEASURE}):
            ids = list(engine.parcel_ids[plan.assignment == measure_id])
            steps.append({"kind": "parcels", "measure": measure_id, "parcel_ids": ids})
        st.session_state["scenario_steps"] = steps
        st.rerun()
