"""Map page: parcels coloured by a chosen KPI, with nature context.

The folium map always starts fitted to the area. The view that the user
panned or zoomed to is kept in the session and passed to ``st_folium`` as
``center`` and ``zoom``, which move the map without rendering it again, so
panning does not redraw the parcels. Choosing another KPI or language draws
a new map component, which gets the stored view too.
"""

from __future__ import annotations

import logging

import streamlit as st
from streamlit_folium import st_folium

from geo_dashboard.app import common
from geo_dashboard.app.common import t
from geo_dashboard.errors import GeoDashboardError
from geo_dashboard.maps import build_map

logger = logging.getLogger(__name__)

for key in ("map_kpi", "map_area", "map_center", "map_zoom", "map_clicked"):
    st.session_state.setdefault(key, None)
st.session_state.setdefault("map_version", 0)

context = common.require_build()
build = context.build
assert build is not None
language = context.language
library = common.kpi_library()
folder = str(build.folder)

# A view or a clicked parcel of another area means nothing here.
if st.session_state["map_area"] != build.area_id:
    st.session_state["map_area"] = build.area_id
    st.session_state["map_center"] = None
    st.session_state["map_zoom"] = None
    st.session_state["map_clicked"] = None

st.title(t("map.title"))

kpi_ids = [kpi_id for kpi_id in build.kpis["kpi_id"] if kpi_id in library.ids]
if not kpi_ids:
    st.warning(t("map.no_kpis"))
    st.stop()
gap_ids = set(build.kpis.loc[build.kpis["status"] == "gap", "kpi_id"])
if st.session_state["map_kpi"] not in kpi_ids:
    usable = [kpi_id for kpi_id in kpi_ids if kpi_id not in gap_ids]
    st.session_state["map_kpi"] = (usable or kpi_ids)[0]


def _kpi_label(kpi_id: str) -> str:
    name = library.get(kpi_id).name.get(language)
    return t("map.kpi_gap_label", name=name) if kpi_id in gap_ids else name


# The widget key names the language: with one key for both languages the
# browser kept showing the option labels of the language it was drawn in.
kpi_widget_key = f"map_kpi_select_{language}"


def _store_kpi() -> None:
    st.session_state["map_kpi"] = st.session_state[kpi_widget_key]
    st.session_state["map_clicked"] = None


# The choice is kept under its own key, because Streamlit drops the state of a
# widget in any run that does not draw it (a run of the other page, or of the
# other language).
st.selectbox(
    t("map.select_kpi"),
    kpi_ids,
    index=kpi_ids.index(st.session_state["map_kpi"]),
    format_func=_kpi_label,
    key=kpi_widget_key,
    on_change=_store_kpi,
)
kpi_id = st.session_state["map_kpi"]

if st.button(t("map.reset_view")):
    st.session_state["map_center"] = None
    st.session_state["map_zoom"] = None
    st.session_state["map_version"] += 1

display = common.load_display_layers(str(context.paths.builds), build.area_id, folder)
nh3_cells = common.load_nh3_cells(
    str(context.paths.layers),
    str(context.paths.configs),
    build.area_id,
    tuple(float(bound) for bound in build.boundary.total_bounds),
)
try:
    kpi_map = build_map(
        build, library.get(kpi_id), language, display=display, nh3_cells=nh3_cells
    )
except GeoDashboardError as err:
    # The page gets a translated text, the log the library's English error.
    logger.error("map of KPI %s in area %s not drawn: %s", kpi_id, build.area_id, err)
    st.error(t("map.error.draw", name=common.escape_markdown(_kpi_label(kpi_id))))
    st.stop()
if kpi_map.mode == "gap":
    st.warning(kpi_map.note)
elif kpi_map.note:
    st.info(kpi_map.note)

center = st.session_state["map_center"]
# One component per KPI and language: a map that streamlit-folium updates in
# place could still show the previous KPI when the choice changed while the
# old map was reporting its view. The stored view is passed on, so a new
# component opens where the user was looking.
map_key = f"parcel_map_{kpi_id}_{language}_{st.session_state['map_version']}"
result = st_folium(
    common.serve_leaflet(kpi_map.map),
    key=map_key,
    height=680,
    use_container_width=True,
    returned_objects=["last_object_clicked_popup", "center", "zoom"],
    center=tuple(center) if center else None,
    zoom=st.session_state["map_zoom"],
)

if result:
    # Before the browser reports a view, st_folium returns folium's initial
    # zoom (1 for a map that fits bounds) and no centre: keep neither then.
    returned_center = result.get("center")
    if returned_center and "lat" in returned_center and result.get("zoom"):
        center = (returned_center["lat"], returned_center["lng"])
        st.session_state["map_center"] = center
        st.session_state["map_zoom"] = int(result["zoom"])
    if result.get("last_object_clicked_popup"):
        st.session_state["map_clicked"] = result["last_object_clicked_popup"]

if st.session_state["map_clicked"]:
    st.subheader(t("map.selected_parcel"))
    st.text(st.session_state["map_clicked"])
st.caption(t("map.caption"))
