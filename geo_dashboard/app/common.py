"""Parts shared by the Streamlit entry point and its pages.

The entry point (``main.py``) calls :func:`configure_logging` and
:func:`language_select` on every run; each page reads the area's build with
:func:`require_build`.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import streamlit as st

from geo_dashboard.config import AREA_ID_PATTERN, list_areas
from geo_dashboard.errors import BuildNotFoundError, GeoDashboardError
from geo_dashboard.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    check_language,
    format_number,
    translate,
)
from geo_dashboard.kpis import KpiLibrary, load_kpi_library
from geo_dashboard.maps import display_layers, layer_path, read_grid_cells
from geo_dashboard.output import BuildOutput, current_build_folder, read_build
from geo_dashboard.paths import ProjectPaths

logger = logging.getLogger(__name__)

AREA_ENV = "GEO_DASHBOARD_AREA"
LOG_LEVEL_ENV = "GEO_DASHBOARD_LOG_LEVEL"
LANGUAGE_KEY = "language"
LANGUAGE_WIDGET_KEY = "language_select"
LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English"}
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")


@dataclass
class AppContext:
    """Page context: the language, the folders, the area and its current build."""

    language: str
    paths: ProjectPaths
    area_id: str | None
    build: BuildOutput | None
    problem: str | None = None


def configure_logging() -> None:
    """Send the package's log records to stderr, once per server process.

    The level comes from ``GEO_DASHBOARD_LOG_LEVEL`` (default ``INFO``).
    """
    package_logger = logging.getLogger("geo_dashboard")
    if getattr(package_logger, "_configured_by_app", False):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    package_logger.addHandler(handler)
    level = os.environ.get(LOG_LEVEL_ENV, "INFO").upper()
    package_logger.setLevel(getattr(logging, level, logging.INFO))
    package_logger._configured_by_app = True  # type: ignore[attr-defined]
    logger.info("logging configured at level %s", level)


def language() -> str:
    """Return the language chosen in the sidebar (Dutch until one is chosen)."""
    chosen = st.session_state.get(LANGUAGE_KEY, DEFAULT_LANGUAGE)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, **params: object) -> str:
    """Translate ``key`` into the chosen language."""
    return translate(key, language(), **params)


def escape_markdown(text: str) -> str:
    """Escape text from data files so Streamlit shows it literally."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def _store_language() -> None:
    st.session_state[LANGUAGE_KEY] = st.session_state[LANGUAGE_WIDGET_KEY]


def language_select() -> str:
    """Show the language choice in the sidebar and return the chosen language.

    The choice is kept under its own session key, because Streamlit drops the
    state of a widget in any run that does not draw it.
    """
    st.session_state.setdefault(LANGUAGE_KEY, DEFAULT_LANGUAGE)
    st.sidebar.selectbox(
        "Taal / Language",
        options=list(LANGUAGES),
        index=list(LANGUAGES).index(language()),
        format_func=LANGUAGE_NAMES.get,
        key=LANGUAGE_WIDGET_KEY,
        on_change=_store_language,
    )
    return check_language(language())


def areas_with_build(paths: ProjectPaths) -> list[str]:
    """Return the ids of areas that have a current build, sorted."""
    candidates = set(list_areas(paths.configs))
    if paths.builds.is_dir():
        candidates |= {folder.name for folder in paths.builds.iterdir()}
    return sorted(
        area
        for area in candidates
        if re.fullmatch(AREA_ID_PATTERN, area)
        and (paths.builds / area / "current").exists()
    )


def requested_area(paths: ProjectPaths) -> str | None:
    """Return the area from the URL, else ``GEO_DASHBOARD_AREA``, else the first built.

    Returns None when no area is requested and no area has a build.
    """
    requested = st.query_params.get("area") or os.environ.get(AREA_ENV)
    if requested:
        return requested
    built = areas_with_build(paths)
    return built[0] if built else None


def build_command(area_id: str) -> str:
    """Return the shell command that builds ``area_id``."""
    return f"geo-dashboard build {area_id}"


@st.cache_data(show_spinner=False, max_entries=8)
def load_build(builds_dir: str, area_id: str, folder: str) -> BuildOutput:
    """Read a build; ``folder`` (the resolved current build) is the cache key.

    A rebuild publishes a new folder, so the next run reads the new build.
    """
    logger.info("reading build %s of area %s", folder, area_id)
    return read_build(Path(builds_dir), area_id)


@st.cache_data(show_spinner=False, max_entries=8)
def load_display_layers(
    builds_dir: str, area_id: str, folder: str
) -> dict[str, gpd.GeoDataFrame]:
    """Return the build's geometries simplified for the map, per build folder."""
    return display_layers(load_build(builds_dir, area_id, folder))


@st.cache_data(show_spinner=False, max_entries=8)
def load_nh3_cells(
    layers: str, configs: str, area_id: str, bounds: tuple[float, float, float, float]
) -> gpd.GeoDataFrame | None:
    """Return the NH3 grid cells around ``bounds`` (EPSG:28992), or None.

    None means the area has no NH3 layer, or its config or raster cannot be
    read (logged as a warning).
    """
    paths = ProjectPaths(layers=Path(layers), configs=Path(configs), builds=Path())
    try:
        raster = layer_path(paths, area_id, "nh3_concentration")
        return None if raster is None else read_grid_cells(raster, bounds)
    except (GeoDashboardError, OSError) as err:
        # The map is still useful without the overlay, so the page goes on.
        logger.warning("NH3 grid of area %s not drawn: %s", area_id, err)
        return None


@st.cache_resource(show_spinner=False)
def kpi_library() -> KpiLibrary:
    """Return the packaged KPI definitions, read once per server process."""
    return load_kpi_library()


def load_context() -> AppContext:
    """Resolve the area and read its current build.

    When the area is invalid or has no build, ``build`` is None and
    ``problem`` gives the reason.
    """
    paths = ProjectPaths.from_env()
    area_id = requested_area(paths)
    context = AppContext(language(), paths, area_id, None)
    if area_id is None:
        configs = escape_markdown(str(paths.configs))
        context.problem = t("app.no_area", configs=configs)
    elif not re.fullmatch(AREA_ID_PATTERN, area_id):
        context.problem = t("app.invalid_area", area=escape_markdown(area_id))
    else:
        try:
            folder = current_build_folder(paths.builds, area_id)
        except BuildNotFoundError:
            builds = escape_markdown(str(paths.builds))
            context.problem = t("app.no_build", area=area_id, builds=builds)
        else:
            context.build = load_build(str(paths.builds), area_id, str(folder))
    if context.problem:
        logger.warning("no build to show: %s", context.problem)
    return context


def show_build_info(context: AppContext) -> None:
    """Show the area name and when its build was made in the sidebar."""
    if context.build is None:
        return
    manifest = context.build.manifest
    names = manifest.get("area_name") or {}
    st.sidebar.markdown(f"**{escape_markdown(str(names.get(context.language, '')))}**")
    built_at = str(manifest.get("built_at", ""))
    try:
        built_at = datetime.fromisoformat(built_at).strftime("%Y-%m-%d %H:%M %Z")
    except ValueError:
        logger.debug("build time %r is not an ISO date; shown as it is", built_at)
    st.sidebar.caption(
        t(
            "app.build_info",
            built_at=built_at,
            parcels=format_number(manifest.get("parcel_count"), context.language, 0),
            area_ha=format_number(manifest.get("parcel_area_ha"), context.language, 0),
        )
    )


def require_build() -> AppContext:
    """Return the area and build a page shows, or explain what is missing and stop.

    Each page calls this itself instead of relying on the entry point, so a
    page shows the build that is current when it runs.
    """
    context = load_context()
    if context.build is None:
        st.error(context.problem)
        if context.area_id and re.fullmatch(AREA_ID_PATTERN, context.area_id):
            st.markdown(t("app.build_hint"))
            st.code(build_command(context.area_id), language="bash")
        st.stop()
    show_build_info(context)
    return context
