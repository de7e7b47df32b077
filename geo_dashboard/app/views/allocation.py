"""Allocation page: provincial or programme ambitions split into area tasks.

Each ambition config in ``area_configs/ambitions/`` is read and checked.
Per ambition the page shows the rule, each area's task next to its own
target and current value, and whether the own targets together reach the
ambition. Areas without a build or without the base data show why.
"""

from __future__ import annotations

import streamlit as st

from geo_dashboard.allocation_view import (
    ambition_line,
    config_header,
    rule_text,
    summary_texts,
    task_table,
)
from geo_dashboard.ambition import (
    AMBITIONS_DIR,
    ambition_summary,
    area_tasks,
    list_ambition_configs,
    load_ambition_config,
    read_area_names,
)
from geo_dashboard.app import common
from geo_dashboard.app.area_builds import viewer_builds
from geo_dashboard.app.common import escape_markdown, t
from geo_dashboard.compare import area_name
from geo_dashboard.config import list_areas
from geo_dashboard.errors import GeoDashboardError
from geo_dashboard.i18n import is_missing, translate_value
from geo_dashboard.paths import ProjectPaths

paths = ProjectPaths.from_env()
language = common.language()
library = common.kpi_library()

st.title(t("allocation.title"))
st.caption(t("allocation.intro"))

config_ids = list_ambition_configs(paths.configs)
if not config_ids:
    folder = escape_markdown(str(paths.configs / AMBITIONS_DIR))
    st.info(t("allocation.none", folder=folder))
    st.stop()

config_id = st.selectbox(t("allocation.select"), config_ids, key="allocation_config")
try:
    config = load_ambition_config(
        paths.configs, config_id, library, list_areas(paths.configs)
    )
except GeoDashboardError as err:
    st.error(
        t(
            "allocation.config_failed",
            config=escape_markdown(config_id),
            error=escape_markdown(str(err)),
        )
    )
    st.stop()

available = viewer_builds(paths, common.current_viewer(common.current_store(paths)))
builds = {a: b for a, b in available.builds.items() if a in config.areas}
names = read_area_names(paths.configs, config.areas, language)
names.update({a: area_name(b, language) for a, b in builds.items()})
for area_id, error in available.failed.items():
    if area_id in config.areas:
        st.error(t("compare.area_failed", area=area_id, error=escape_markdown(error)))

st.header(escape_markdown(config.name.get(language)))
st.markdown(escape_markdown(config_header(config, names, language)))
unbuilt = [area for area in config.areas if area not in builds]
for area_id in unbuilt:
    if area_id not in available.failed:
        st.warning(t("compare.unbuilt", area=escape_markdown(area_id)))
        st.code(common.build_command(area_id), language="bash")

tasks = area_tasks(config, builds, library)
summary = ambition_summary(config, tasks).set_index("ambition_id")
for ambition in config.ambitions:
    with st.container(border=True):
        st.subheader(escape_markdown(ambition.name.get(language)))
        st.markdown(escape_markdown(ambition_line(ambition, library, language)))
        basis = translate_value("basis", ambition.basis, language)
        color = "orange" if ambition.basis == "provisional" else "gray"
        st.badge(basis, color=color)
        st.caption(t("allocation.source", source=escape_markdown(ambition.source)))
        st.markdown(escape_markdown(rule_text(ambition, library, names, language)))
        st.dataframe(
            task_table(tasks, ambition, library, names, language),
            hide_index=True,
            width="stretch",
        )
        row = summary.loc[ambition.id].to_dict() | {"ambition_id": ambition.id}
        headline, *details = summary_texts(row, language, names)
        if is_missing(row["shortfall"]):
            # A reduction whose shortfall cannot be computed yet is not met.
            short = row["kind"] == "reduction" or row["areas_short"] > 0
        else:
            short = row["areas_short"] > 0 or row["shortfall"] > 0
        if short:
            st.warning(escape_markdown(headline))
        else:
            st.success(escape_markdown(headline))
        for text in details:
            st.caption(escape_markdown(text))
