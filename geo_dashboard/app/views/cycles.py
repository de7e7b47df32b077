"""Cycles page: timeline, diff between two cycles, progress charts and forms.

The forms record reflections, data gaps, target changes, retired KPIs and
cycle starts and closes in the dashboard store. They are shown to a logged-in
coordinator only; every other viewer sees the page read-only. The forms write
through :class:`geo_dashboard.store.editor.CycleEditor`, which checks the
role again. Every text typed into a form is stored as written and shown
through escaped Markdown or data tables.
"""

from __future__ import annotations

import streamlit as st

from geo_dashboard.app import common
from geo_dashboard.app.common import escape_markdown
from geo_dashboard.cycles_view import (
    changes_table,
    cycle_states,
    diff_table,
    kpi_name,
    progress_chart,
    progress_data,
    text,
    timeline,
    timeline_headers,
)
from geo_dashboard.i18n import translate_value
from geo_dashboard.roles import KPI_INPUTS
from geo_dashboard.store import (
    GapEntry,
    MapViewSpec,
    Store,
    StoreError,
    diff_cycles,
    kpi_states,
    list_cycles,
    list_gaps,
    list_reflections,
    open_store,
    store_url,
)
from geo_dashboard.store.editor import ChangeNotAllowedError, CycleEditor, may_edit
from geo_dashboard.store.models import ASSESSMENTS, GAP_STATUSES, REFLECTION_KINDS
from geo_dashboard.store.versions import BASES

st.session_state.setdefault("cycles_message", None)

context = common.require_build()
build = context.build
assert build is not None and context.area_id is not None
language = context.language
area_id = context.area_id
library = common.kpi_library()
viewer = context.viewer
st.session_state.setdefault("cycles_author", viewer.name or "")


def t(key: str, **params: object) -> str:
    return text(key, language, **params)


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    return open_store(url)


try:
    store = _store(store_url(context.paths))
    cycles = list_cycles(store, area_id)
except StoreError as err:
    st.error(common.escape_markdown(str(err)))
    st.stop()

st.title(t("cycles.title"))
if st.session_state["cycles_message"]:
    st.success(st.session_state["cycles_message"])
    st.session_state["cycles_message"] = None
if not cycles:
    st.info(t("cycles.none"))
    st.code(common.build_command(area_id), language="bash")
    st.stop()


def _cycle_label(number: int) -> str:
    cycle = next(c for c in cycles if c.number == number)
    return f"v{cycle.version} · {cycle.name}"


# --- Timeline ----------------------------------------------------------------
st.subheader(t("cycles.timeline"))
st.dataframe(
    timeline(store, area_id, language).rename(columns=timeline_headers(language)),
    hide_index=True,
    width="stretch",
)

# --- Diff between two cycles ---------------------------------------------------
st.subheader(t("cycles.diff"))
numbers = [cycle.number for cycle in cycles]
left, right = st.columns(2)
first = left.selectbox(
    t("cycles.diff_from"),
    numbers,
    index=max(len(numbers) - 2, 0),
    format_func=_cycle_label,
)
second = right.selectbox(
    t("cycles.diff_to"), numbers, index=len(numbers) - 1, format_func=_cycle_label
)
try:
    diff = diff_cycles(store, area_id, first, second)
except StoreError as err:
    st.error(common.escape_markdown(str(err)))
    st.stop()

counts = st.columns(4)
for column, kind in zip(counts, ("moved", "added", "retired"), strict=False):
    column.metric(text(f"cycles.kind.{kind}", language), len(diff.of_kind(kind)))
counts[3].metric(t("cycles.target_changes"), len(diff.target_changes))
table = diff_table(diff, library, language)
if not table.empty:
    st.dataframe(
        table.rename(columns=lambda key: t(f"cycles.column.{key}")),
        hide_index=True,
        width="stretch",
    )
changes = changes_table(diff, library, language)
st.markdown(f"**{t('cycles.changes_with_rationale')}**")
if changes.empty:
    st.caption(t("cycles.no_changes"))
else:
    st.dataframe(
        changes.rename(columns=lambda key: t(f"cycles.column.{key}")),
        hide_index=True,
        width="stretch",
    )
for layer in diff.layers:
    st.caption(t("cycles.layer_changed", layer=escape_markdown(layer.layer_id)))

# --- Progress over time per KPI --------------------------------------------------
st.subheader(t("cycles.progress"))
st.caption(t("cycles.progress_note"))
states = kpi_states(store, area_id)
history = cycle_states(store, area_id)
charts = st.columns(2)
chart_count = 0
for state in states:
    data = progress_data(store, area_id, state.kpi_id, history)
    if data[data["series"] == "measured"].empty:
        continue
    unit = library.get(state.kpi_id).unit if state.kpi_id in library.ids else ""
    name = kpi_name(library, state.kpi_id, language)
    charts[chart_count % 2].altair_chart(
        progress_chart(data, name, unit, language), width="stretch"
    )
    chart_count += 1

# --- Reflections -----------------------------------------------------------------
st.subheader(t("cycles.reflections"))
reflections = list_reflections(store, area_id)
if reflections:
    st.dataframe(
        [
            {
                t("cycles.reflections.cycle"): row.cycle.version,
                t("cycles.reflections.kind"): t(f"cycles.reflection.{row.kind}"),
                t("cycles.reflections.text"): row.text,
                t("cycles.reflections.kpi"): (
                    kpi_name(library, row.kpi_id, language) if row.kpi_id else ""
                ),
                t("cycles.column.by"): row.created_by,
                t("cycles.reflections.when"): row.created_at.strftime("%Y-%m-%d %H:%M"),
            }
            for row in reversed(reflections)
        ],
        hide_index=True,
        width="stretch",
    )
else:
    st.caption(t("cycles.reflections.none"))

# --- Data-gap register -----------------------------------------------------------
st.subheader(t("cycles.gaps"), anchor="data-gaps")
gaps: list[GapEntry] = list_gaps(store, area_id)
if gaps:
    st.dataframe(
        [
            {
                t("cycles.gap.subject"): (
                    kpi_name(library, gap.subject, language)
                    if gap.subject_kind == "kpi"
                    else translate_value("role", gap.subject, language)
                ),
                t("cycles.gap.missing"): gap.missing,
                t("cycles.gap.supplier"): gap.supplier or "",
                t("cycles.gap.cost"): gap.total_cost_eur,
                t("cycles.gap.status"): t(f"cycles.gap_status.{gap.status}"),
            }
            for gap in gaps
        ],
        hide_index=True,
        width="stretch",
    )
else:
    st.caption(t("cycles.no_gaps"))

# --- Forms for the coordinator ---------------------------------------------------
if not may_edit(viewer):
    st.info(t("cycle_access.read_only"))
    st.stop()

editor = CycleEditor(store, viewer)
st.subheader(t("cycles.record"))
author = st.text_input(t("cycles.form.by"), key="cycles_author")
active_ids = [state.kpi_id for state in states]


def _done(message_key: str, **params: object) -> None:
    st.session_state["cycles_message"] = t(message_key, **params)
    st.rerun()


def _show_error(err: StoreError) -> None:
    if isinstance(err, ChangeNotAllowedError):
        st.error(t("cycle_access.denied"))
    else:
        st.error(common.escape_markdown(str(err)))


reflect_tab, target_tab, retire_tab, gap_tab, cycle_tab = st.tabs(
    [
        t("cycles.tab.reflection"),
        t("cycles.tab.target"),
        t("cycle_access.tab.retire"),
        t("cycles.tab.gap"),
        t("cycles.tab.cycle"),
    ]
)

with (
    reflect_tab,
    st.form("cycles_reflection", clear_on_submit=True, enter_to_submit=False),
):
    kind = st.selectbox(
        t("cycles.form.kind"),
        REFLECTION_KINDS,
        key="cycles_reflection_kind",
        format_func=lambda value: t(f"cycles.reflection.{value}"),
    )
    body = st.text_area(t("cycles.form.text"), key="cycles_reflection_text")
    kpi = st.selectbox(
        t("cycles.form.kpi"),
        [None, *active_ids],
        format_func=lambda value: (
            "-" if value is None else kpi_name(library, value, language)
        ),
    )
    measure = st.text_input(t("cycles.form.measure"))
    effective = st.selectbox(
        t("cycles.form.effective"),
        [None, *ASSESSMENTS],
        format_func=lambda value: (
            "-" if value is None else t(f"cycles.assessment.{value}")
        ),
    )
    feasible = st.selectbox(
        t("cycles.form.feasible"),
        [None, *ASSESSMENTS],
        format_func=lambda value: (
            "-" if value is None else t(f"cycles.assessment.{value}")
        ),
    )
    evidence = st.text_area(t("cycles.form.evidence"))
    save_view = st.checkbox(t("cycles.form.save_view"))
    layers = st.multiselect(
        t("cycles.form.layers"),
        ["parcels", "natura2000", "boundary", "nh3"],
        format_func=lambda layer: t(f"map.layer.{layer}"),
        placeholder=t("cycles.form.layers_placeholder"),
    )
    west, south, east, north = build.boundary.to_crs("EPSG:4326").total_bounds
    bounds_columns = st.columns(4)
    bounds = tuple(
        column.number_input(t(f"cycles.form.{name}"), value=float(value), format="%.5f")
        for column, name, value in zip(
            bounds_columns,
            ("west", "south", "east", "north"),
            (west, south, east, north),
            strict=True,
        )
    )
    if st.form_submit_button(t("cycles.form.save"), key="cycles_save_reflection"):
        view = None
        if save_view:
            view = MapViewSpec(
                kpi_id=kpi or st.session_state.get("map_kpi"),
                layers=layers,
                bounds=bounds,  # type: ignore[arg-type]
            )
        try:
            editor.add_reflection(
                area_id,
                kind,
                body,
                author,
                kpi_id=kpi,
                measure=measure or None,
                effective=effective,
                feasible=feasible,
                evidence=evidence or None,
                map_view=view,
            )
        except StoreError as err:
            _show_error(err)
        else:
            _done("cycles.saved.reflection")

with target_tab:
    # Outside the form, so that the fields below show this KPI's target.
    kpi_id = st.selectbox(
        t("cycles.form.kpi"),
        active_ids,
        key="cycles_target_kpi",
        format_func=lambda value: kpi_name(library, value, language),
    )
with target_tab, st.form("cycles_target", enter_to_submit=False):
    current = next((s for s in states if s.kpi_id == kpi_id), None)
    value = st.number_input(
        t("cycles.form.target_value"),
        key=f"cycles_target_value_{kpi_id}",
        value=float(current.target_value)
        if current and current.target_value is not None
        else 0.0,
        format="%.4g",
    )
    year = st.number_input(
        t("cycles.form.target_year"),
        key=f"cycles_target_year_{kpi_id}",
        min_value=1990,
        max_value=2100,
        step=1,
        value=int(current.target_year) if current else 2030,
    )
    basis = st.selectbox(
        t("cycles.form.basis"),
        BASES,
        index=BASES.index(current.target_basis) if current else 0,
        format_func=lambda value: translate_value("basis", value, language),
    )
    rationale = st.text_area(t("cycles.form.rationale"), key="cycles_target_rationale")
    if st.form_submit_button(t("cycles.form.save"), key="cycles_save_target"):
        try:
            editor.set_target(
                area_id,
                kpi_id,
                value=value,
                year=int(year),
                rationale=rationale,
                by=author,
                basis=basis,
            )
        except StoreError as err:
            _show_error(err)
        else:
            _done("cycles.saved.target")

with retire_tab, st.form("cycles_retire", clear_on_submit=True, enter_to_submit=False):
    retire_id = st.selectbox(
        t("cycles.form.kpi"),
        active_ids,
        key="cycles_retire_kpi",
        format_func=lambda value: kpi_name(library, value, language),
    )
    retire_rationale = st.text_area(
        t("cycles.form.rationale"), key="cycles_retire_rationale"
    )
    if st.form_submit_button(t("cycle_access.form.retire"), key="cycles_retire"):
        try:
            editor.retire_kpi(area_id, retire_id, rationale=retire_rationale, by=author)
        except StoreError as err:
            _show_error(err)
        else:
            _done("cycle_access.saved.retired")

with gap_tab:
    # Outside the form, so that the subject list follows the chosen kind.
    subject_kind = st.radio(
        t("cycles.form.subject_kind"),
        ["layer", "kpi"],
        horizontal=True,
        format_func=lambda value: t(f"cycles.subject.{value}"),
    )
with gap_tab, st.form("cycles_gap", clear_on_submit=True, enter_to_submit=False):
    subjects = sorted(KPI_INPUTS) if subject_kind == "layer" else library.ids
    subject = st.selectbox(
        t("cycles.gap.subject"),
        subjects,
        format_func=lambda value: (
            translate_value("role", value, language)
            if subject_kind == "layer"
            else kpi_name(library, value, language)
        ),
    )
    missing = st.text_area(t("cycles.gap.missing"))
    supplier = st.text_input(t("cycles.gap.supplier"))
    sourcing = st.number_input(
        t("cycles.form.sourcing_cost"), min_value=0.0, value=None
    )
    handling = st.number_input(
        t("cycles.form.handling_cost"), min_value=0.0, value=None
    )
    status = st.selectbox(
        t("cycles.gap.status"),
        GAP_STATUSES,
        format_func=lambda value: t(f"cycles.gap_status.{value}"),
    )
    if st.form_submit_button(t("cycles.form.save"), key="cycles_save_gap"):
        try:
            editor.set_gap(
                area_id,
                subject_kind,
                subject,
                by=author,
                missing=missing or None,
                supplier=supplier or None,
                sourcing_cost_eur=sourcing,
                handling_cost_eur=handling,
                status=status,
            )
        except StoreError as err:
            _show_error(err)
        else:
            _done("cycles.saved.gap")

with cycle_tab:
    with st.form("cycles_start", clear_on_submit=True, enter_to_submit=False):
        name = st.text_input(t("cycles.form.cycle_name"), key="cycles_new_name")
        if st.form_submit_button(t("cycles.form.start"), key="cycles_start"):
            try:
                started = editor.start_cycle(area_id, name, author)
            except StoreError as err:
                _show_error(err)
            else:
                _done("cycles.saved.started", cycle=started.cycle.version)
    if any(cycle.status == "open" for cycle in cycles):
        if st.button(t("cycles.form.close"), key="cycles_close"):
            try:
                closed = editor.close_cycle(area_id, author)
            except StoreError as err:
                _show_error(err)
            else:
                _done("cycles.saved.closed", cycle=closed.version)
