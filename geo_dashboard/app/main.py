"""Entry point of the Streamlit app: ``streamlit run geo_dashboard/app/main.py``.

Every run configures logging (once per process), shows the language, the
login form and the area choice in the sidebar and hands over to the chosen
page, which reads the area's current build itself, filtered for the viewer.
"""

from __future__ import annotations

import streamlit as st

from geo_dashboard.app import common
from geo_dashboard.paths import ProjectPaths

st.set_page_config(page_title="Gebiedsdashboard", layout="wide")
common.configure_logging()
st.sidebar.title(common.t("app.title"))
common.language_select()
viewer = common.login_box()


def _store_area() -> None:
    st.query_params["area"] = st.session_state["area_select"]


paths = ProjectPaths.from_env()
built = common.areas_with_build(paths)
area_id = common.requested_area(paths)
if area_id in built and len(built) > 1:
    st.session_state["area_select"] = area_id
    st.sidebar.selectbox(
        common.t("app.area"), built, key="area_select", on_change=_store_area
    )

# The page scripts live in views/, not pages/: a pages/ folder next to this
# file would put Streamlit 1.67 in its older pages-folder mode, in which a
# direct link such as /map runs the page script without this entry point.
navigation = st.navigation(
    [
        st.Page(
            "views/overview.py",
            title=common.t("nav.overview"),
            url_path="overview",
            default=True,
        ),
        st.Page("views/map.py", title=common.t("nav.map"), url_path="map"),
        st.Page(
            "views/scenarios.py", title=common.t("nav.scenarios"), url_path="scenarios"
        ),
        st.Page(
            "views/proposals.py", title=common.t("nav.proposals"), url_path="proposals"
        ),
        st.Page("views/cycles.py", title=common.t("nav.cycles"), url_path="cycles"),
        st.Page("views/compare.py", title=common.t("nav.compare"), url_path="compare"),
        st.Page(
            "views/allocation.py",
            title=common.t("nav.allocation"),
            url_path="allocation",
        ),
        st.Page("views/lessons.py", title=common.t("nav.lessons"), url_path="lessons"),
        st.Page("views/export.py", title=common.t("nav.export"), url_path="downloads"),
        st.Page(
            "views/farm.py",
            title=common.t("nav.my_farm" if viewer.role == "farmer" else "nav.farms"),
            url_path="farm",
        ),
    ]
)
navigation.run()
