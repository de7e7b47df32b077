"""Proposals page: propose a measure, list the area's proposals, decide as coordinator.

Proposals need a login, because a proposal names who made it, so the public
gets a message to log in. Every logged-in viewer can propose. Only a
coordinator gets the accept and reject controls, and the store checks the
role again (:mod:`geo_dashboard.store.proposals`). Texts written by users
are shown with ``st.text`` or escaped Markdown. Texts come from
the ``proposals`` catalogue domain.
"""

from __future__ import annotations

import streamlit as st

from geo_dashboard.app import common
from geo_dashboard.errors import GeoDashboardError
from geo_dashboard.i18n import format_number, translate_unit, translate_value
from geo_dashboard.measures.loader import load_measure_library
from geo_dashboard.measures.proposals import (
    FARMLAND,
    PROPOSAL_KPIS,
    Estimate,
    check_decision,
    crop_groups,
    describe_applicability,
    error_text,
    kpi_names,
    suggest_measure_id,
)
from geo_dashboard.store.models import MeasureProposal
from geo_dashboard.store.proposals import (
    accept_proposal,
    list_proposals,
    proposal_content,
    reject_proposal,
    submit_proposal,
)

t = common.t
context = common.require_build()
build = context.build
assert build is not None and context.area_id is not None
language = context.language
viewer = context.viewer

FLASH_KEY = "proposals_decided"
st.title(t("proposals.title"))
st.caption(t("proposals.intro"))
if FLASH_KEY in st.session_state:
    st.success(st.session_state.pop(FLASH_KEY))
store = common.current_store(context.paths)
if store is None:
    st.error(t("proposals.store_unavailable"))
    st.stop()
if viewer.is_public:
    st.info(t("proposals.login_needed"))
    st.stop()

try:
    library = load_measure_library(context.area_id, context.paths.configs)
except GeoDashboardError as err:
    st.error(common.escape_markdown(str(err)))
    st.stop()
names = kpi_names(common.kpi_library(), library, language)
RANGE = ("low", "mid", "high")


def escaped(text: str) -> str:
    return common.escape_markdown(text)


def range_inputs(
    prefix: str, minimum: float | None, number_format: str, step: float
) -> dict[str, float | str]:
    """Show low/mid/high inputs and a source field; return their values.

    Streamlit shows the number as ``number_format`` (printf style) gives it,
    so ``%.3f`` would show 10 euros as "10.000", which Dutch readers take for
    ten thousand. Euros therefore get ``%.0f`` and effects two decimals.
    """
    columns = st.columns(4)
    values: dict[str, float | str] = {}
    for column, name in zip(columns, RANGE, strict=False):
        values[name] = column.number_input(
            t(f"proposals.form.{name}"),
            min_value=minimum,
            value=0.0,
            step=step,
            format=number_format,
            key=f"{prefix}_{name}",
        )
    values["source"] = columns[3].text_input(
        t("proposals.form.source"), key=f"{prefix}_source"
    )
    return values


def show_range(label: str, estimate: Estimate, unit: str = "") -> None:
    """Show a low/mid/high estimate with its source as plain text."""
    source = (
        t("proposals.estimate")
        if estimate.is_estimate
        else t("proposals.source", source=estimate.source)
    )
    numbers = {
        name: format_number(getattr(estimate, name), language, None) for name in RANGE
    }
    unit = translate_unit(unit, language) if unit else unit
    if unit:
        st.text(
            t("proposals.detail.effect", kpi=label, unit=unit, source=source, **numbers)
        )
    else:
        st.text(t("proposals.detail.cost", label=label, source=source, **numbers))


# --- Propose a measure -------------------------------------------------------
with st.form("proposal_form", clear_on_submit=False, enter_to_submit=False):
    st.subheader(t("proposals.form.title"))
    display_name = st.text_input(
        t("proposals.form.display_name"),
        value=viewer.name or "",
        max_chars=120,
        key="proposal_display_name",
    )
    title = st.text_input(
        t("proposals.form.title_field"), max_chars=120, key="proposal_title"
    )
    description = st.text_area(
        t("proposals.form.description"), key="proposal_description"
    )
    st.markdown(f"**{t('proposals.form.where')}**")
    land_uses = st.multiselect(
        t("proposals.form.land_uses"),
        [*FARMLAND, "nature"],
        format_func=lambda value: translate_value("land_use", value, language),
        key="proposal_land_uses",
        placeholder=t("proposals.form.choose"),
    )
    groups = st.multiselect(
        t("proposals.form.crop_groups"),
        crop_groups(),
        format_func=lambda value: translate_value("crop_group", value, language),
        key="proposal_crop_groups",
        placeholder=t("proposals.form.choose"),
    )
    soil = st.selectbox(
        t("proposals.form.soil"),
        ["any", "peat", "mineral"],
        format_func=lambda value: t(f"proposals.soil.{value}"),
        key="proposal_soil",
    )
    distance = st.number_input(
        t("proposals.form.max_distance"),
        min_value=0.0,
        value=0.0,
        step=100.0,
        key="proposal_max_distance",
    )
    along_water = st.checkbox(
        t("proposals.form.along_water"), key="proposal_along_water"
    )
    st.markdown(f"**{t('proposals.form.effects')}**")
    effects = {}
    for kpi_id, kpi in PROPOSAL_KPIS.items():
        include = st.checkbox(
            t(
                "proposals.form.effect_include",
                kpi=names[kpi_id],
                unit=translate_unit(kpi.unit, language),
            ),
            key=f"effect_{kpi_id}_include",
        )
        values = range_inputs(f"effect_{kpi_id}", None, "%.2f", 0.1)
        if include:
            effects[kpi_id] = values
    st.markdown(f"**{t('proposals.form.annual_cost')}**")
    annual_cost = range_inputs("annual_cost", 0.0, "%.0f", 1.0)
    st.markdown(f"**{t('proposals.form.one_off_cost')}**")
    one_off_cost = range_inputs("one_off_cost", 0.0, "%.0f", 1.0)
    farm_operations = st.text_area(
        t("proposals.form.farm_operations"), key="proposal_farm_operations"
    )
    include_income = st.checkbox(
        t("proposals.form.income_include"),
        help=t("proposals.form.income_note"),
        key="income_include",
    )
    income = range_inputs("income", None, "%.0f", 1.0)
    if st.form_submit_button(t("proposals.form.submit")):
        content = {
            "title": title,
            "description": description,
            "applies": {
                "land_uses": land_uses,
                "crop_groups": groups,
                "soil": soil,
                "max_natura2000_distance_m": distance or None,
                "along_water": along_water,
            },
            "effects": effects,
            "annual_cost": annual_cost,
            "one_off_cost": one_off_cost,
            "farm_operations": farm_operations,
            "income_change": income if include_income else None,
        }
        try:
            proposal = submit_proposal(
                store, context.area_id, viewer, content, display_name
            )
        except GeoDashboardError as err:
            st.error(error_text(err, language, "submit"))
        else:
            st.success(t("proposals.submitted", id=proposal.id))


# --- Proposals of the area -----------------------------------------------------
def show_details(proposal: MeasureProposal) -> None:
    """Show the content of a proposal, with user texts as plain text."""
    st.text(proposal.description)
    try:
        content = proposal_content(proposal)
    except GeoDashboardError as err:
        # A row stored under older rules is still listed, with the reason.
        st.warning(error_text(err, language, "show"))
        return
    st.text(
        t(
            "proposals.detail.applies",
            where=describe_applicability(content.applies, language),
        )
    )
    for kpi_id, estimate in content.effects.items():
        show_range(names[kpi_id], estimate, PROPOSAL_KPIS[kpi_id].unit)
    show_range(t("proposals.form.annual_cost"), content.annual_cost)
    show_range(t("proposals.form.one_off_cost"), content.one_off_cost)
    if content.income_change is not None:
        show_range(t("proposals.detail.income"), content.income_change)
    st.text(t("proposals.detail.farm_operations"))
    st.text(content.farm_operations)


def decide_form(proposal: MeasureProposal, taken_ids: list[str]) -> None:
    """Show the coordinator's accept and reject controls for an open proposal."""
    with st.form(f"decide_{proposal.id}", enter_to_submit=False):
        measure_id = st.text_input(
            t("proposals.decide.measure_id"),
            value=suggest_measure_id(proposal.title, taken_ids),
            help=t("proposals.decide.measure_id_help"),
            key=f"measure_id_{proposal.id}",
        )
        rationale = st.text_area(
            t("proposals.decide.rationale"), key=f"rationale_{proposal.id}"
        )
        left, right = st.columns(2)
        accept = left.form_submit_button(t("proposals.decide.accept"))
        reject = right.form_submit_button(t("proposals.decide.reject"))
    if not (accept or reject):
        return
    problems = check_decision(measure_id if accept else None, rationale, taken_ids)
    if problems:
        for problem in problems:
            st.error(escaped(problem.text(language)))
        return
    try:
        if accept:
            decided = accept_proposal(
                store, proposal.id, viewer, measure_id, rationale, context.paths.configs
            )
            message = t(
                "proposals.accepted", id=decided.id, measure_id=decided.measure_id
            )
        else:
            decided = reject_proposal(store, proposal.id, viewer, rationale)
            message = t("proposals.rejected", id=decided.id)
    except GeoDashboardError as err:
        st.error(error_text(err, language, "accept" if accept else "reject"))
        return
    # The list above was drawn before the decision, so the page runs again
    # and shows the message there.
    st.session_state[FLASH_KEY] = message
    st.rerun()


st.subheader(t("proposals.list"))
proposals = list_proposals(store, context.area_id)
if not proposals:
    st.info(t("proposals.none"))
taken_ids = library.ids + [p.measure_id for p in proposals if p.measure_id]
for proposal in proposals:
    status = t(f"proposals.status.{proposal.status}")
    with st.expander(f"{proposal.id}. {escaped(proposal.title)} ({status})"):
        st.caption(
            t(
                "proposals.meta",
                status=status,
                name=escaped(proposal.proposed_by),
                date=proposal.created_at.strftime("%Y-%m-%d"),
            )
        )
        show_details(proposal)
        if proposal.status != "proposed":
            st.text(
                t(
                    "proposals.decision",
                    name=proposal.decided_by,
                    date=proposal.decided_at.strftime("%Y-%m-%d"),
                )
            )
            st.text(proposal.rationale or "")
            if proposal.measure_id:
                st.text(t("proposals.accepted_as", measure_id=proposal.measure_id))
        elif viewer.role == "coordinator":
            decide_form(proposal, taken_ids)
