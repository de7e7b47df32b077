"""Comparison page: KPIs of several areas, normalised, with maps and progress.

Only areas with a build can be chosen; areas without one are listed with
the command that builds them. Each build is filtered for the viewer.
"""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from geo_dashboard.app import common
from geo_dashboard.app.area_builds import viewer_builds
from geo_dashboard.app.common import escape_markdown, t
from geo_dashboard.compare import (
    MEASURES,
    area_name,
    area_sizes,
    comparison_matrix,
    comparison_table,
    no_change_kpis,
    theme_chart,
    theme_chart_data,
)
from geo_dashboard.compare_maps import comparison_maps
from geo_dashboard.i18n import translate, translate_value
from geo_dashboard.paths import ProjectPaths

MAP_HEIGHT = 420
# At most two maps side by side, so each stays wide enough to read.
MAPS_PER_ROW = 2

paths = ProjectPaths.from_env()
language = common.language()
library = common.kpi_library()

st.title(t("compare.title"))
st.caption(t("compare.intro"))

available = viewer_builds(paths, common.current_viewer(common.current_store(paths)))
for area_id, error in available.failed.items():
    st.error(t("compare.area_failed", area=area_id, error=escape_markdown(error)))
if available.unbuilt:
    with st.expander(t("compare.unbuilt_title"), expanded=not available.builds):
        for area_id in available.unbuilt:
            st.markdown(t("compare.unbuilt", area=escape_markdown(area_id)))
            st.code(common.build_command(area_id), language="bash")
if not available.builds:
    st.info(t("compare.none_built"))
    st.stop()

names = {
    area_id: area_name(output, language) for area_id, output in available.builds.items()
}
selected = st.multiselect(
    t("compare.select_areas"),
    list(names),
    default=list(names),
    format_func=names.get,
    key="compare_areas",
    placeholder=t("compare.select_placeholder"),
)
if len(selected) < 2:
    st.info(t("compare.pick_two"))
    st.stop()
builds = {area_id: available.builds[area_id] for area_id in selected}
shown = {area_id: names[area_id] for area_id in selected}

# --- Sizes and the KPI table --------------------------------------------------
st.subheader(t("compare.sizes"))
sizes = area_sizes(builds, language)
sizes.columns = [t(f"compare.column.{key}") for key in sizes.columns]
st.dataframe(sizes, hide_index=True, width="stretch")

st.subheader(t("compare.table"))
measure = st.radio(
    t("compare.measure"),
    MEASURES,
    format_func=lambda key: translate(f"compare.measure.{key}", language),
    horizontal=True,
    key="compare_measure",
)
if measure in ("per_ha", "per_farmland_ha"):
    st.caption(t("compare.measure_note.per_ha"))
elif measure == "target_reached":
    st.caption(t("compare.measure_note.target_reached"))
table = comparison_table(builds, library)
st.dataframe(
    comparison_matrix(table, measure, shown, library, language),
    hide_index=True,
    width="stretch",
)

# --- Maps side by side --------------------------------------------------------
st.subheader(t("compare.maps"))
kpi_ids = [kpi_id for kpi_id in library.ids if kpi_id in set(table["kpi_id"])]
known = set(table.loc[table["value_reason"] == "", "kpi_id"])
kpi_id = st.selectbox(
    t("compare.map_kpi"),
    kpi_ids,
    index=next((i for i, k in enumerate(kpi_ids) if k in known), 0),
    format_func=lambda key: library.get(key).name.get(language),
    key="compare_map_kpi",
)
displays = {
    area_id: common.load_display_layers(str(paths.builds), area_id, str(output.folder))
    for area_id, output in builds.items()
}
maps = comparison_maps(builds, library.get(kpi_id), language, displays=displays)
# One legend for all maps, because they share their classes; legend_html
# escapes every text in it.
st.html(maps.legend)
items = list(maps.maps.items())
for start in range(0, len(items), MAPS_PER_ROW):
    row = items[start : start + MAPS_PER_ROW]
    for column, (area_id, folium_map) in zip(
        st.columns(MAPS_PER_ROW), row, strict=False
    ):
        with column:
            st.markdown(f"**{escape_markdown(shown[area_id])}**")
            note = maps.notes[area_id]
            if note:
                st.caption(escape_markdown(note))
            st_folium(
                common.serve_leaflet(folium_map),
                key=f"compare_map_{area_id}_{kpi_id}",
                height=MAP_HEIGHT,
                use_container_width=True,
                returned_objects=[],
            )

# --- Progress per theme -------------------------------------------------------
st.subheader(t("compare.progress"))
st.caption(t("compare.progress_note"))
for theme, data in theme_chart_data(table, shown, language).items():
    title = translate_value("theme", theme, language)
    st.altair_chart(theme_chart(data, title, language), width="stretch")
    left_out = no_change_kpis(table, theme, library)
    if left_out:
        kpi_names = ", ".join(
            library.get(k).name.get(language) if k in library.ids else k
            for k in left_out
        )
        st.caption(t("compare.chart.no_change", kpis=escape_markdown(kpi_names)))
