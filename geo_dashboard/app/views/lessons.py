"""Lessons page: reflections and measure evaluations of every area's cycles.

The page does not depend on the area in the URL, so it shows the same
reflections from every area. All texts typed by users are shown in data
tables, which display them literally.
"""

from __future__ import annotations

import streamlit as st

from geo_dashboard.app import common
from geo_dashboard.app.common import t
from geo_dashboard.i18n import translate
from geo_dashboard.lessons import (
    area_names,
    evaluation_table,
    filter_options,
    lesson_table,
    list_lessons,
    measure_label,
    measure_names,
    theme_label,
)
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.store import StoreError

paths = ProjectPaths.from_env()
language = common.language()
library = common.kpi_library()

st.title(t("lessons.title"))
st.caption(t("lessons.intro"))

store = common.current_store(paths)
if store is None:
    st.info(t("lessons.no_store"))
    st.stop()
try:
    everything = list_lessons(store, library)
    names = area_names(store, language)
except StoreError as err:
    st.error(common.escape_markdown(str(err)))
    st.stop()
if not everything:
    st.info(t("lessons.none"))
    st.stop()

options = filter_options(everything)
measures = measure_names(options["area"], paths.configs, language, store)
st.caption(t("lessons.filter_note"))
columns = st.columns(4)
chosen_areas = columns[0].multiselect(
    t("lessons.filter.area"),
    options["area"],
    format_func=lambda area: names.get(area, area),
    key="lessons_areas",
    placeholder=t("lessons.filter.all"),
)
chosen_themes = columns[1].multiselect(
    t("lessons.filter.theme"),
    options["theme"],
    format_func=lambda theme: theme_label(theme, language),
    key="lessons_themes",
    placeholder=t("lessons.filter.all"),
)
chosen_measures = columns[2].multiselect(
    t("lessons.filter.measure"),
    options["measure"],
    format_func=lambda measure: measure_label(measures, measure, None),
    key="lessons_measures",
    placeholder=t("lessons.filter.all"),
)
chosen_kinds = columns[3].multiselect(
    t("lessons.filter.kind"),
    options["kind"],
    format_func=lambda kind: translate(f"cycles.reflection.{kind}", language),
    key="lessons_kinds",
    placeholder=t("lessons.filter.all"),
)

lessons = list_lessons(
    store,
    library,
    areas=chosen_areas or None,
    themes=chosen_themes or None,
    measures=chosen_measures or None,
    kinds=chosen_kinds or None,
)
if not lessons:
    st.info(t("lessons.none_match"))
    st.stop()

st.caption(t("lessons.count", count=len(lessons)))
st.dataframe(
    lesson_table(lessons, library, names, language, measures),
    hide_index=True,
    width="stretch",
)

evaluations = evaluation_table(lessons, names, language, measures)
if not evaluations.empty:
    st.subheader(t("lessons.evaluations"))
    st.caption(t("lessons.evaluations_note"))
    st.dataframe(evaluations, hide_index=True, width="stretch")
