"""Parts shared by the Streamlit entry point and its pages.

The entry point (``main.py``) calls :func:`configure_logging`,
:func:`language_select` and :func:`login_box` on every run. Each page reads
the area's build with :func:`require_build`. It returns the build as the
logged-in viewer may see it (see :func:`geo_dashboard.privacy.disclose`).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import folium
import geopandas as gpd
import streamlit as st

from geo_dashboard.auth import Account, end_session, login, session_account
from geo_dashboard.catalog import load_catalog
from geo_dashboard.config import (
    AREA_ID_PATTERN,
    PrivacyRules,
    list_areas,
    load_area_config,
)
from geo_dashboard.errors import BuildNotFoundError, GeoDashboardError
from geo_dashboard.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    check_language,
    format_datetime,
    format_number,
    translate,
)
from geo_dashboard.kpis import KpiLibrary, load_kpi_library
from geo_dashboard.maps import (
    LEAFLET_DIR,
    LEAFLET_DRAW_DIR,
    display_layers,
    layer_path,
    read_grid_cells,
    use_leaflet_draw_from,
    use_leaflet_from,
)
from geo_dashboard.measures.engine import ScenarioEngine
from geo_dashboard.measures.loader import load_measure_library
from geo_dashboard.output import BuildOutput, current_build_folder, read_build
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.privacy import PUBLIC, Disclosure, Viewer, disclose
from geo_dashboard.store import Store, consent_state, farm_data, open_store, store_url

logger = logging.getLogger(__name__)

AREA_ENV = "GEO_DASHBOARD_AREA"
LOG_LEVEL_ENV = "GEO_DASHBOARD_LOG_LEVEL"
LANGUAGE_KEY = "language"
LANGUAGE_WIDGET_KEY = "language_select"
LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English"}
# Session key of the login token; the token itself is never logged.
TOKEN_KEY = "auth_token"
# Leaflet as served by Streamlit's static file serving (the app's static/
# folder at app/static/), relative to the map component's page at
# component/streamlit_folium.st_folium/index.html. A relative URL keeps
# working under a server.baseUrlPath.
LEAFLET_APP_URL = f"../../app/static/{LEAFLET_DIR.name}"
LEAFLET_DRAW_APP_URL = f"../../app/static/{LEAFLET_DRAW_DIR.name}"
STATIC_SERVING_OPTION = "server.enableStaticServing"
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")


@dataclass
class AppContext:
    """Page context: language, folders, area, viewer and what the viewer may see.

    ``build`` is ``disclosure.build``: the build filtered for ``viewer``.
    """

    language: str
    paths: ProjectPaths
    area_id: str | None
    build: BuildOutput | None
    problem: str | None = None
    viewer: Viewer = PUBLIC
    disclosure: Disclosure | None = None


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


def page_language_script(language_code: str) -> str:
    """Return a script that sets the ``lang`` attribute of the page's ``<html>``.

    Streamlit serves its page with ``<html lang="en">`` and has no option to
    change it, so screen readers and hyphenation would treat Dutch as English.
    """
    check_language(language_code)
    return (
        f"<script>document.documentElement.lang = {json.dumps(language_code)};</script>"
    )


def language_select() -> str:
    """Show the language choice in the sidebar and return the chosen language.

    The choice is kept under its own session key, because Streamlit drops the
    state of a widget in any run that does not draw it. Every run also sets
    the page's ``<html lang>`` to the chosen language.
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
    chosen = check_language(language())
    # The language code comes from LANGUAGES, never from the user's text.
    st.sidebar.html(page_language_script(chosen), unsafe_allow_javascript=True)
    return chosen


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


def serve_leaflet(folium_map: folium.Map) -> folium.Map:
    """Point the map at the Leaflet copy this server serves, so it draws offline.

    Call it right before ``st_folium``. When static file serving is off
    (``streamlit run`` without ``--server.enableStaticServing true``), the
    map keeps folium's CDN URLs and a warning is logged, because the local
    URLs would not load at all.
    """
    if not st.get_option(STATIC_SERVING_OPTION):
        _warn_static_serving_off()
        return folium_map
    use_leaflet_draw_from(folium_map, LEAFLET_DRAW_APP_URL)
    return use_leaflet_from(folium_map, LEAFLET_APP_URL)


@functools.cache
def _warn_static_serving_off() -> None:
    # Cached, so the warning is logged once per server process, not per map.
    logger.warning(
        "%s is off, so maps load Leaflet from the CDN and stay blank without "
        "internet; start the app with `geo-dashboard serve`",
        STATIC_SERVING_OPTION,
    )


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


@st.cache_resource(show_spinner=False)
def dashboard_store(url: str) -> Store:
    """Return the open dashboard store at ``url``, one per server process."""
    return open_store(url)


def current_store(paths: ProjectPaths) -> Store | None:
    """Return the dashboard store, or None (logged) when it cannot be opened."""
    try:
        return dashboard_store(store_url(paths))
    except GeoDashboardError as err:
        logger.warning("dashboard store not available: %s", err)
        return None


def current_account(store: Store | None) -> Account | None:
    """Return the logged-in account, ending the session state if it expired."""
    token = st.session_state.get(TOKEN_KEY)
    if not token or store is None:
        return None
    account = session_account(store, token)
    if account is None:
        st.session_state.pop(TOKEN_KEY, None)
        st.session_state["auth_expired"] = True
    return account


def current_viewer(store: Store | None = None) -> Viewer:
    """Return the viewer of this run: the logged-in account, else public."""
    store = store or current_store(ProjectPaths.from_env())
    account = current_account(store)
    return PUBLIC if account is None else account.viewer()


def _log_out(store: Store) -> None:
    end_session(store, st.session_state.pop(TOKEN_KEY, None))


def login_box() -> Viewer:
    """Show the login form, or who is logged in with a logout button, in the sidebar.

    Returns the viewer of this run. A failed login shows one message for a
    wrong username and a wrong password alike.
    """
    store = current_store(ProjectPaths.from_env())
    if store is None:
        st.sidebar.caption(t("auth.unavailable"))
        return PUBLIC
    account = current_account(store)
    if account is not None:
        st.sidebar.caption(
            t(
                "auth.logged_in",
                name=escape_markdown(account.username),
                role=t(f"auth.role.{account.role}"),
            )
        )
        st.sidebar.button(t("auth.logout"), on_click=_log_out, args=(store,))
        return account.viewer()

    if st.session_state.pop("auth_expired", False):
        st.sidebar.info(t("auth.expired"))
    with st.sidebar.form("login_form", clear_on_submit=True):
        st.markdown(t("auth.title"))
        username = st.text_input(t("auth.username"), key="login_username")
        password = st.text_input(
            t("auth.password"), type="password", key="login_password"
        )
        submitted = st.form_submit_button(t("auth.login"))
    if submitted:
        result = login(store, username, password)
        if result is None:
            st.sidebar.error(t("auth.failed"))
        else:
            st.session_state[TOKEN_KEY] = result[1]
            st.rerun()
    return PUBLIC


@st.cache_data(show_spinner=False, max_entries=16)
def privacy_rules(layers: str, configs: str, area_id: str, stamp: int) -> PrivacyRules:
    """Return the area's disclosure rules; ``stamp`` (config mtime) is the cache key."""
    catalog = load_catalog(Path(layers))
    config = load_area_config(Path(configs), area_id, catalog, kpi_library())
    return config.privacy


def _area_rules(paths: ProjectPaths, area_id: str) -> PrivacyRules:
    path = Path(paths.configs) / f"{area_id}.yaml"
    stamp = path.stat().st_mtime_ns if path.is_file() else 0
    return privacy_rules(str(paths.layers), str(paths.configs), area_id, stamp)


def disclose_for(
    context: AppContext, raw: BuildOutput, contributions_for: Iterable[str] = ()
) -> Disclosure:
    """Filter ``raw`` for the context's viewer with consents read now.

    Consents and farm data are read from the store on every call, so a
    withdrawn consent is in force from the next render on.
    """
    assert context.area_id is not None
    store = current_store(context.paths)
    consents = consent_state(store, context.area_id) if store is not None else {}
    figures = farm_data(store, context.area_id) if store is not None else None
    return disclose(
        context.viewer,
        raw,
        consents,
        rules=_area_rules(context.paths, context.area_id),
        farm_data=figures,
        library=kpi_library(),
        contributions_for=contributions_for,
    )


def load_context(contributions_for: Iterable[str] = ()) -> AppContext:
    """Resolve the area and viewer, read the current build and filter it.

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
        # The message quotes the area itself: escaping once here is all the
        # text gets, because a repr would double the escape backslashes.
        context.problem = t("app.invalid_area", area=escape_markdown(area_id))
    else:
        try:
            folder = current_build_folder(paths.builds, area_id)
        except BuildNotFoundError:
            builds = escape_markdown(str(paths.builds))
            area = escape_markdown(area_id)
            context.problem = t("app.no_build", area=area, builds=builds)
        else:
            raw = load_build(str(paths.builds), area_id, str(folder))
            context.viewer = current_viewer(current_store(paths))
            try:
                context.disclosure = disclose_for(context, raw, contributions_for)
            except GeoDashboardError as err:
                # Without the area's rules no farm data may be shown at all.
                # The page gets a translated text, the log the library's error.
                logger.error("privacy rules of area %s not read: %s", area_id, err)
                config = escape_markdown(f"{area_id}.yaml")
                context.problem = t("app.rules_unreadable", config=config)
            else:
                context.build = context.disclosure.build
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
        built_at = format_datetime(datetime.fromisoformat(built_at), context.language)
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


def require_build(contributions_for: Iterable[str] = ()) -> AppContext:
    """Return the area and the viewer's build, or explain what is missing and stop.

    Each page calls this itself instead of relying on the entry point, so a
    page shows the build that is current when it runs, filtered for the
    viewer with the consents in force. ``contributions_for`` names visible
    farms whose contributions to the area goals the page needs.
    """
    context = load_context(contributions_for)
    if context.build is None:
        st.error(context.problem)
        if context.area_id and re.fullmatch(AREA_ID_PATTERN, context.area_id):
            st.markdown(t("app.build_hint"))
            st.code(build_command(context.area_id), language="bash")
        st.stop()
    show_build_info(context)
    return context


@st.cache_resource(show_spinner=False, max_entries=8)
def _engine(
    layers: str,
    configs: str,
    area_id: str,
    folder: str,
    visible: tuple[str, ...],
    _parcels: gpd.GeoDataFrame,
    _nature: gpd.GeoDataFrame,
) -> ScenarioEngine:
    # The parcels depend only on the build folder and the visible farms,
    # which form the cache key; Streamlit does not hash "_" arguments.
    library = kpi_library()
    catalog = load_catalog(Path(layers))
    config = load_area_config(Path(configs), area_id, catalog, library)
    measures = load_measure_library(area_id, Path(configs))
    return ScenarioEngine(_parcels, measures, config, library, _nature)


def scenario_engine(context: AppContext) -> ScenarioEngine:
    """Return the scenario engine of the viewer's build.

    The engine has the farm ids of visible farms only. All other parcels
    share the id :data:`geo_dashboard.privacy.OTHER_FARMS`.

    NOTE: the optimiser's maximum farm share therefore treats those pooled
    parcels as one farm, for the public the whole area.
    """
    disclosure = context.disclosure
    assert disclosure is not None and context.area_id is not None
    return _engine(
        str(context.paths.layers),
        str(context.paths.configs),
        context.area_id,
        str(disclosure.build.folder),
        tuple(sorted(disclosure.visible_farms)),
        disclosure.pooled_parcels(),
        disclosure.build.nature,
    )
