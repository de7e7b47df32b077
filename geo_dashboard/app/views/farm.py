"""Farm page: "Mijn bedrijf" for farmers, consenting farms for the coordinator.

Everything on this page comes from the viewer's
:class:`~geo_dashboard.privacy.Disclosure`: a farmer sees their own farms
(and farms that consented to be shown to other farmers), a coordinator the
farms that consented to be shown to the coordinator, and everyone the area
totals of farms, with small or dominated totals suppressed. Texts come from
the ``farms`` catalogue domain.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo_dashboard.app import common
from geo_dashboard.app.common import t
from geo_dashboard.farm_import import FIELDS_BY_NAME
from geo_dashboard.i18n import format_number, format_value, translate_unit
from geo_dashboard.maps import build_map
from geo_dashboard.measures.engine import ScenarioEngine
from geo_dashboard.privacy import PURPOSES, Disclosure
from geo_dashboard.privacy.own_farm import FarmMeasures, farm_measures
from geo_dashboard.store import consent_history, consent_state, set_consent

FARM_MAP_ZOOM = 14

st.session_state.setdefault("farm_selected", None)
st.session_state.setdefault("farm_kpi", None)

# Contributions are computed only for the farm on screen, because each farm
# costs one KPI aggregation per farm KPI.
viewer = common.current_viewer()
selected = st.session_state["farm_selected"]
context = common.require_build(
    contributions_for=[selected] if selected else sorted(viewer.farms)
)
disclosure = context.disclosure
build = context.build
assert disclosure is not None and build is not None
language = context.language
library = common.kpi_library()
rules = disclosure.rules
share_percent = format_number(100 * rules.dominance_share, language, 0)


def metric_name(source: str, metric: str) -> str:
    """Return the display name of a KPI or an imported farm figure."""
    if source == "kpi":
        return library.get(metric).name.get(language)
    return t(f"farm_data.{metric}")


def show_aggregates(result: Disclosure) -> None:
    """Show the area totals of farms, with the reason for each suppressed one."""
    st.header(t("farm.aggregates_title"))
    table = result.aggregates
    if table.empty:
        st.info(t("farm.aggregates_none"))
        return
    st.caption(
        t("farm.aggregates_note", min_farms=rules.min_farms, share=share_percent)
    )
    values = []
    for row in table.itertuples(index=False):
        if row.suppressed:
            values.append(
                t(
                    f"farm.suppressed.{row.reason}",
                    min_farms=rules.min_farms,
                    share=share_percent,
                )
            )
        else:
            values.append(format_value(row.value, row.unit, language))
    st.dataframe(
        pd.DataFrame(
            {
                t("farm.col.metric"): [
                    metric_name(row.source, row.metric) for row in table.itertuples()
                ],
                t("farm.col.year"): table["year"]
                .astype("string")
                .fillna("")
                .to_numpy(),
                t("farm.col.total"): values,
                t("farm.col.farms"): table["farms"].to_numpy(),
            }
        ),
        hide_index=True,
        width="stretch",
    )


title_key = "farm.title_own" if viewer.role == "farmer" else "farm.title_farms"
st.title(t(title_key))
if disclosure.illustrative:
    st.info(t("farm.illustrative"))

if not disclosure.visible_farms:
    intro = {
        "public": "farm.public_intro",
        "planner": "farm.planner_intro",
        "coordinator": "farm.coordinator_none",
        "farmer": "farm.not_in_area",
    }[viewer.role]
    st.info(t(intro))
    show_aggregates(disclosure)
    st.stop()

# --- Choose the farm ------------------------------------------------------------
choices = sorted(disclosure.own_farms) + sorted(
    disclosure.visible_farms - disclosure.own_farms
)
if st.session_state["farm_selected"] not in choices:
    st.session_state["farm_selected"] = choices[0]
    # Rerun once, so the contributions of this farm are computed.
    st.rerun()
farm_id: str = st.session_state["farm_selected"]


def _farm_label(farm: str) -> str:
    key = "farm.own_label" if farm in disclosure.own_farms else "farm.shared_label"
    return t(key, farm=farm)


def _store_farm() -> None:
    st.session_state["farm_selected"] = st.session_state["farm_select"]


st.selectbox(
    t("farm.select"),
    choices,
    index=choices.index(farm_id),
    format_func=_farm_label,
    key="farm_select",
    on_change=_store_farm,
)
parcels = disclosure.farm_parcels(farm_id)
st.caption(
    t(
        "farm.summary",
        parcels=len(parcels),
        area_ha=format_number(parcels["area_ha"].sum(), language, 1),
    )
)

# --- Map of the farm's parcels ------------------------------------------------
st.header(t("farm.map_title"))
gap_ids = set(build.kpis.loc[build.kpis["status"] == "gap", "kpi_id"])
kpi_ids = [
    kpi_id
    for kpi_id in build.kpis["kpi_id"]
    if kpi_id in library.ids
    and kpi_id not in gap_ids
    and library.get(kpi_id).table == "parcels"
]
if kpi_ids:
    if st.session_state["farm_kpi"] not in kpi_ids:
        st.session_state["farm_kpi"] = kpi_ids[0]
    kpi_id = st.selectbox(
        t("farm.map_kpi"),
        kpi_ids,
        index=kpi_ids.index(st.session_state["farm_kpi"]),
        format_func=lambda k: library.get(k).name.get(language),
    )
    st.session_state["farm_kpi"] = kpi_id
    display = common.load_display_layers(
        str(context.paths.builds), build.area_id, str(build.folder)
    )
    farm_display = {
        **display,
        "parcels": display["parcels"].loc[
            display["parcels"].index.intersection(parcels.index)
        ],
    }
    minx, miny, maxx, maxy = farm_display["parcels"].total_bounds
    farm_map = build_map(
        dataclasses.replace(build, parcels=parcels),
        library.get(kpi_id),
        language,
        display=farm_display,
        center=((miny + maxy) / 2, (minx + maxx) / 2),
        zoom=FARM_MAP_ZOOM,
    )
    st_folium(
        common.serve_leaflet(farm_map.map),
        key=f"farm_map_{farm_id}",
        height=480,
        use_container_width=True,
        returned_objects=[],
    )

# --- Contribution to the area goals -------------------------------------------
st.header(t("farm.contribution_title"))
st.caption(t("farm.contribution_note"))
contributions = disclosure.contributions
if not contributions.empty:
    contributions = contributions[contributions["farm_id"] == farm_id]
area_values = build.kpis.set_index("kpi_id")
rows = []
for row in contributions.itertuples(index=False):
    unit = library.get(row.kpi_id).unit
    share = None if pd.isna(row.share_of_area) else 100 * row.share_of_area
    rows.append(
        {
            t("farm.col.kpi"): library.get(row.kpi_id).name.get(language),
            t("farm.col.value"): format_value(row.value, unit, language),
            t("farm.col.area"): format_value(
                area_values.at[row.kpi_id, "value"], unit, language
            ),
            t("farm.col.target"): format_value(
                area_values.at[row.kpi_id, "target_value"], unit, language
            ),
            t("farm.col.share"): ""
            if share is None
            else format_number(share, language, 1),
            t("farm.col.task"): (
                ""
                if pd.isna(row.farm_task)
                else format_value(row.farm_task, unit, language)
            ),
            t("farm.col.gap"): (
                ""
                if pd.isna(row.gap_to_target)
                else format_value(row.gap_to_target, unit, language)
            ),
        }
    )
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

# --- Imported farm data ---------------------------------------------------------
st.header(t("farm.data_title"))
figures = disclosure.farm_data[disclosure.farm_data["farm_id"] == farm_id]
if figures.empty:
    st.info(t("farm.data_none"))
else:
    columns = {t("farm.col.year"): figures["year"].to_numpy()}
    for field in FIELDS_BY_NAME:
        if field == "year" or field not in figures:
            continue
        unit = translate_unit(FIELDS_BY_NAME[field].unit, language)
        columns[f"{t(f'farm_data.{field}')} ({unit})"] = [
            format_number(value, language) for value in figures[field]
        ]
    st.dataframe(pd.DataFrame(columns), hide_index=True, width="stretch")


# --- Measures on the farm's parcels ----------------------------------------------
@st.cache_data(show_spinner=False, max_entries=32)
def _measures(
    folder: str,
    farm: str,
    visible: tuple[str, ...],
    _engine: ScenarioEngine,
    _disclosure: Disclosure,
) -> FarmMeasures:
    # The page checks visibility before every call (cached results included).
    return farm_measures(_engine, _disclosure, farm)


def _ranged(frame: pd.DataFrame, prefix: str) -> list[str]:
    texts = []
    for low, mid, high in zip(
        frame[f"{prefix}_low"],
        frame[f"{prefix}_mid"],
        frame[f"{prefix}_high"],
        strict=True,
    ):
        lowest, highest = sorted((low, high))
        texts.append(
            f"{format_number(mid, language, 0)} ({format_number(lowest, language, 0)}"
            f" – {format_number(highest, language, 0)})"
        )
    return texts


st.header(t("farm.measures_title"))
st.caption(t("farm.measures_note"))
disclosure.require_farm(farm_id)
engine = common.scenario_engine(context)
result = _measures(
    str(build.folder),
    farm_id,
    tuple(sorted(disclosure.visible_farms)),
    engine,
    disclosure,
)
if result.measures.empty:
    st.info(t("farm.measures_none"))
else:
    names = {m.id: m.name.get(language) for m in engine.library.measures}
    measures = result.measures
    st.dataframe(
        pd.DataFrame(
            {
                t("farm.col.measure"): measures["measure_id"].map(names).to_numpy(),
                t("farm.col.parcels"): measures["parcels"].to_numpy(),
                t("farm.col.treated_ha"): measures["treated_ha"].round(1).to_numpy(),
                t("farm.col.annual"): _ranged(measures, "annual"),
                t("farm.col.one_off"): _ranged(measures, "one_off"),
                t("farm.col.income"): _ranged(measures, "income_eur_yr"),
            }
        ),
        hide_index=True,
        width="stretch",
    )
    st.subheader(t("farm.effects_title"))
    effects = result.effects
    st.dataframe(
        pd.DataFrame(
            {
                t("farm.col.measure"): effects["measure_id"].map(names).to_numpy(),
                t("farm.col.kpi"): [
                    engine.kpi(k).definition.name.get(language)
                    for k in effects["kpi_id"]
                ],
                t("farm.col.change"): [
                    format_number(value, language) for value in effects["change_mid"]
                ],
                t("farm.col.unit"): [
                    translate_unit(unit, language) for unit in effects["unit"]
                ],
            }
        ),
        hide_index=True,
        width="stretch",
    )

# --- Consent ------------------------------------------------------------------------
st.header(t("farm.consent_title"))
store = common.current_store(context.paths)
if farm_id not in disclosure.own_farms:
    st.caption(t("farm.consent_shared"))
elif store is None:
    st.warning(t("auth.unavailable"))
else:
    st.caption(t("farm.consent_intro"))
    message = st.session_state.pop("farm_consent_message", None)
    if message:
        st.success(t(message))
    in_force = consent_state(store, build.area_id).get(farm_id, frozenset())
    with st.form(f"consent_form_{farm_id}"):
        requested = {
            purpose: st.checkbox(
                t(f"farm.consent.{purpose}"),
                value=purpose in in_force,
                key=f"consent_{farm_id}_{purpose}",
            )
            for purpose in PURPOSES
        }
        saved = st.form_submit_button(t("farm.consent_save"))
    if saved:
        changed = [p for p in PURPOSES if requested[p] != (p in in_force)]
        for purpose in changed:
            set_consent(
                store, build.area_id, farm_id, purpose, requested[purpose], viewer.name
            )
        # Rerun, so that every table on the page uses the new consent.
        message = "farm.consent_saved" if changed else "farm.consent_unchanged"
        st.session_state["farm_consent_message"] = message
        st.rerun()
    history = consent_history(store, build.area_id, farm_id)
    if history:
        st.subheader(t("farm.consent_history"))
        st.dataframe(
            pd.DataFrame(
                {
                    t("farm.col.when"): [
                        f"{c.changed_at:%Y-%m-%d %H:%M:%S}" for c in history
                    ],
                    t("farm.col.purpose"): [
                        t(f"farm.consent.{c.purpose}") for c in history
                    ],
                    t("farm.col.consent"): [
                        t(
                            "farm.consent_given"
                            if c.granted
                            else "farm.consent_withdrawn"
                        )
                        for c in history
                    ],
                    t("farm.col.by"): [c.changed_by for c in history],
                }
            ),
            hide_index=True,
            width="stretch",
        )

show_aggregates(disclosure)
