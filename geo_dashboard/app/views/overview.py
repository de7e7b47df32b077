"""Overview page: KPI cards per theme, data gaps and the data sources."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from geo_dashboard.app import common
from geo_dashboard.app.common import escape_markdown, t
from geo_dashboard.i18n import format_number, translate_value
from geo_dashboard.overview import (
    KpiCard,
    ValueSource,
    data_gaps,
    kpi_cards,
    layer_sources,
)

STATUS_COLORS = {
    "reached": "green",
    "on_track": "blue",
    "behind": "orange",
    "gap": "gray",
    "no_baseline": "gray",
}
CARDS_PER_ROW = 3
# A Material Symbols icon, which Streamlit ships as a font, so it shows
# without an emoji font on the viewer's system.
REGISTER_ICON = ":material/assignment:"

context = common.require_build()
build = context.build
assert build is not None
language = context.language


def _value_line(label_key: str, point: ValueSource) -> str:
    year = point.year if point.year is not None else "?"
    line = t(label_key, year=year, value=escape_markdown(point.text))
    if point.basis_label:
        badge_color = "orange" if point.provisional else "gray"
        line += f" :{badge_color}-badge[{escape_markdown(point.basis_label)}]"
    return line


def _show_card(card: KpiCard) -> None:
    with st.container(border=True):
        # Long KPI names would be cut off as a metric label, so the name is
        # shown in full above the value and the label is hidden.
        st.markdown(f"**{escape_markdown(card.name)}**", help=card.description or None)
        st.metric(card.name, card.value_text, label_visibility="collapsed")
        st.badge(card.status_label, color=STATUS_COLORS.get(card.status, "gray"))
        if card.is_gap:
            labels = [translate_value("role", r, language) for r in card.missing_roles]
            roles = ", ".join(labels) or "?"
            st.caption(t("overview.gap_roles", roles=escape_markdown(roles)))
            # A short label, because a card is a third of the page wide.
            st.page_link(
                "views/cycles.py",
                label=t("overview.gap_card_link"),
                icon=REGISTER_ICON,
            )
        elif card.progress_bar is not None and card.progress is not None:
            percent = format_number(100 * card.progress, language, 0)
            st.progress(card.progress_bar, text=t("overview.progress", percent=percent))
            if card.expected_progress is not None:
                expected = format_number(100 * card.expected_progress, language, 0)
                st.caption(t("overview.expected", percent=expected))
        st.markdown(_value_line("overview.baseline", card.baseline))
        st.markdown(_value_line("overview.target", card.target))
        with st.expander(t("overview.sources")):
            baseline = escape_markdown(card.baseline.source)
            st.caption(t("overview.baseline_source", source=baseline))
            st.caption(
                t("overview.target_source", source=escape_markdown(card.target.source))
            )
            st.caption(t("overview.kpi_source", source=escape_markdown(card.source)))


area_name = (build.manifest.get("area_name") or {}).get(language, context.area_id)
st.title(t("overview.title", area=escape_markdown(str(area_name))))

for group in kpi_cards(build.kpis, language, common.kpi_library()):
    st.subheader(group.title)
    for start in range(0, len(group.cards), CARDS_PER_ROW):
        columns = st.columns(CARDS_PER_ROW)
        row = group.cards[start : start + CARDS_PER_ROW]
        for column, card in zip(columns, row, strict=False):
            with column:
                _show_card(card)

st.header(t("overview.gaps_title"))
gaps = data_gaps(build.kpis, build.manifest, language)
if gaps:
    st.dataframe(
        pd.DataFrame(
            {
                t("overview.column.kpi"): [gap.kpi_name for gap in gaps],
                t("overview.column.missing"): [gap.role_label for gap in gaps],
                t("overview.column.holder"): [
                    gap.holder or t("overview.holder_unknown") for gap in gaps
                ],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    st.page_link(
        "views/cycles.py", label=t("overview.gap_register_link"), icon=REGISTER_ICON
    )
else:
    st.success(t("overview.no_gaps"))

st.header(t("overview.sources_title"))
sources = layer_sources(build.manifest)
st.dataframe(
    pd.DataFrame(
        {
            t("overview.column.layer"): [source.layer_id for source in sources],
            t("overview.column.publisher"): [source.publisher for source in sources],
            t("overview.column.year"): [source.year for source in sources],
            t("overview.column.licence"): [source.licence for source in sources],
            t("overview.column.file"): [source.file for source in sources],
        }
    ),
    hide_index=True,
    width="stretch",
)
