"""Download page: the parcel layer, KPI table, map and scenario comparison as files.

Every file is written from the viewer's
:class:`~geo_dashboard.privacy.Disclosure` of this run through
:func:`geo_dashboard.exports.export_disclosed`, so a file contains exactly
what the pages show this viewer. Files are made only when their button is
clicked: Streamlit calls the button's ``data`` function on a worker thread.
Texts come from the ``export`` catalogue domain.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from geo_dashboard.app import common
from geo_dashboard.app.common import escape_markdown, t
from geo_dashboard.errors import GeoDashboardError
from geo_dashboard.exports import export_disclosed
from geo_dashboard.i18n import format_datetime, format_number
from geo_dashboard.measures import tables
from geo_dashboard.measures.engine import ScenarioEngine
from geo_dashboard.measures.scenario import Scenario
from geo_dashboard.measures.store import (
    compare_scenarios,
    list_scenarios,
    load_scenario,
)

logger = logging.getLogger(__name__)

MIME_TYPES = {
    "gpkg": "application/geopackage+sqlite3",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "png": "image/png",
    "pdf": "application/pdf",
}
# Row id that compare_scenarios gives the annualised cost.
COST_ROW = "cost_eur_yr"


@st.cache_resource(show_spinner=False)
def _render_lock() -> threading.Lock:
    # The PNG and PDF writers draw with pyplot, whose current figure is global
    # to the process. The lock keeps two downloads from drawing into each other.
    return threading.Lock()


context = common.require_build()
build = context.build
disclosure = context.disclosure
assert build is not None and disclosure is not None
language = context.language
library = common.kpi_library()
area_id = build.area_id
# Taken here, because the download functions run outside the script run.
render_lock = _render_lock()


def _file_maker(
    fmt: str, file_name: str, kpi_id: str | None = None
) -> Callable[[], bytes]:
    """Return a function that writes one export of this run's disclosure as bytes."""

    def make() -> bytes:
        with tempfile.TemporaryDirectory(prefix="geo-dashboard-export-") as folder:
            target = Path(folder) / file_name
            try:
                with render_lock:
                    export_disclosed(disclosure, fmt, target, kpi_id, language)
            except (GeoDashboardError, OSError, ValueError) as err:
                # The browser only learns that the file failed. Streamlit logs
                # the traceback, and this line adds the area, format and role.
                logger.error(
                    "export %s of area %s for a %s viewer failed: %s",
                    fmt, area_id, disclosure.viewer.role, err,
                )  # fmt: skip
                raise
            logger.info(
                "exported %s of area %s for a %s viewer",
                fmt, area_id, disclosure.viewer.role,
            )  # fmt: skip
            return target.read_bytes()

    return make


def _download(label: str, fmt: str, file_name: str, kpi_id: str | None = None) -> None:
    st.download_button(
        label,
        data=_file_maker(fmt, file_name, kpi_id),
        file_name=file_name,
        mime=MIME_TYPES[fmt],
        key=f"export_{fmt}",
        on_click="ignore",
    )


def _format_date(value: object) -> str:
    """Return an ISO date and time in this page's language, or the text as it is."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return format_datetime(moment, common.language())


def comparison_table(engine: ScenarioEngine, scenarios: list[Scenario]) -> pd.DataFrame:
    """Return the scenario comparison with KPI names and the range as two columns.

    Columns: ``kpi_id``, ``name``, ``unit``, ``current``, and per scenario
    its mid value as ``<name>`` and its range as ``<name> (min)`` and
    ``<name> (max)``. Numbers stay numbers, so the CSV reads back exactly.
    """
    compared = compare_scenarios(engine, scenarios)
    names = [
        t("export.scenarios.cost_row")
        if kpi_id == COST_ROW
        else tables.kpi_label(engine, kpi_id, language)
        for kpi_id in compared["kpi_id"]
    ]
    table = pd.DataFrame(
        {
            "kpi_id": compared["kpi_id"],
            "name": names,
            "unit": compared["unit"],
            "current": compared["current"],
        }
    )
    for scenario in scenarios:
        ranges = compared[f"{scenario.name} (range)"]
        table[scenario.name] = compared[scenario.name]
        # A range is a (low, high) tuple, or None where the KPI has no value.
        table[f"{scenario.name} (min)"] = [
            min(pair) if isinstance(pair, tuple) else None for pair in ranges
        ]
        table[f"{scenario.name} (max)"] = [
            max(pair) if isinstance(pair, tuple) else None for pair in ranges
        ]
    return table


def _comparison_maker(
    engine: ScenarioEngine, scenarios: list[Scenario]
) -> Callable[[], bytes]:
    def make() -> bytes:
        table = comparison_table(engine, scenarios)
        logger.info(
            "exported the comparison of %d scenarios of area %s",
            len(scenarios),
            area_id,
        )
        # UTF-8 with BOM, like the KPI table, so Excel reads the units right.
        return table.to_csv(index=False).encode("utf-8-sig")

    return make


def _store_kpi(widget_key: str) -> None:
    st.session_state["map_kpi"] = st.session_state[widget_key]


def _viewer_note() -> str:
    if context.viewer.is_public:
        return t("export.viewer.public")
    if not disclosure.visible_farms:
        return t("export.viewer.no_farms")
    count = format_number(len(disclosure.visible_farms), language, 0)
    return t("export.viewer.farms", count=count)


manifest = build.manifest
parcel_count = format_number(len(build.parcels), language, 0)

st.title(t("export.title"))
st.markdown(t("export.intro"))
st.info(_viewer_note())
built_at = escape_markdown(_format_date(manifest.get("built_at", "")))
st.caption(t("export.build", built_at=built_at))

with st.container(border=True):
    st.subheader(t("export.parcels.title"))
    st.caption(t("export.parcels.caption", parcels=parcel_count))
    _download(t("export.parcels.button"), "gpkg", f"{area_id}_percelen.gpkg")

with st.container(border=True):
    st.subheader(t("export.kpis.title"))
    kpi_count = format_number(len(build.kpis), language, 0)
    st.caption(t("export.kpis.caption", count=kpi_count))
    csv_column, excel_column = st.columns(2)
    with csv_column:
        _download(t("export.kpis.csv_button"), "csv", f"{area_id}_kpis_{language}.csv")
    with excel_column:
        _download(
            t("export.kpis.excel_button"), "xlsx", f"{area_id}_kpis_{language}.xlsx"
        )

# The map KPI is shared with the map page, so "the current map" is the same
# map on both pages.
kpi_ids = [kpi_id for kpi_id in build.kpis["kpi_id"] if kpi_id in library.ids]
with st.container(border=True):
    st.subheader(t("export.map.title"))
    if not kpi_ids:
        st.warning(t("map.no_kpis"))
    else:
        if st.session_state.get("map_kpi") not in kpi_ids:
            st.session_state["map_kpi"] = kpi_ids[0]
        # One widget key per language: Streamlit 1.67 keeps showing the old
        # option texts of a keyed selectbox whose format_func output changed.
        widget_key = f"export_kpi_select_{language}"
        st.selectbox(
            t("map.select_kpi"),
            kpi_ids,
            index=kpi_ids.index(st.session_state["map_kpi"]),
            format_func=lambda kpi_id: library.get(kpi_id).name.get(language),
            key=widget_key,
            on_change=_store_kpi,
            args=(widget_key,),
        )
        kpi_id = st.session_state["map_kpi"]
        st.caption(t("export.map.caption"))
        png_column, pdf_column = st.columns(2)
        with png_column:
            png_name = f"{area_id}_{kpi_id}_{language}.png"
            _download(t("export.map.png_button"), "png", png_name, kpi_id)
        with pdf_column:
            pdf_name = f"{area_id}_{kpi_id}_{language}.pdf"
            _download(t("export.map.pdf_button"), "pdf", pdf_name, kpi_id)
        st.caption(t("export.map.pdf_caption"))

with st.container(border=True):
    st.subheader(t("export.scenarios.title"))
    saved = list_scenarios(context.paths.builds, area_id)
    if not saved:
        st.info(t("export.scenarios.none"))
    else:
        try:
            scenarios = [
                load_scenario(context.paths.builds, area_id, slug) for slug in saved
            ]
            # The engine uses the viewer's build, as on the scenario page.
            engine = common.scenario_engine(context)
            # Resolving the steps here rejects a scenario whose parcels are
            # gone after a rebuild, with a message on the page. The costly
            # evaluation runs only when the button is clicked.
            for scenario in scenarios:
                scenario.assignment(engine)
        except GeoDashboardError as err:
            logger.warning("saved scenarios of area %s not exported: %s", area_id, err)
            st.error(t("export.scenarios.failed", error=escape_markdown(str(err))))
        else:
            count = format_number(len(scenarios), language, 0)
            st.caption(t("export.scenarios.caption", count=count))
            st.download_button(
                t("export.scenarios.button"),
                data=_comparison_maker(engine, scenarios),
                file_name=f"{area_id}_scenarios_{language}.csv",
                mime=MIME_TYPES["csv"],
                key="export_scenarios",
                on_click="ignore",
            )
