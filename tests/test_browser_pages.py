"""Every page of the app in headless Chromium: languages, map, downloads, layout.

One ``streamlit run`` server on 127.0.0.1 and one Chromium serve the whole
module. The browser only reaches that server (see
:class:`tests.browser_support.OfflineRoutes`). Screenshots at desktop
(1400 x 1000) and tablet (820 x 1180) width are kept in ``test-artifacts/``.

Colour-blind safety of the map is checked on the palette itself. Numeric
classes use viridis, whose lightness rises steadily from dark purple to
yellow, so the classes stay in order for every kind of colour vision and in
greyscale. Categories use Paul Tol's "muted" scheme.
"""

from __future__ import annotations

import re
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import geopandas as gpd
import matplotlib.image
import pandas as pd
import pytest

from geo_dashboard import maps
from geo_dashboard.i18n import translate
from geo_dashboard.kpis import load_kpi_library
from geo_dashboard.measures.scenario import RuleStep, Scenario
from geo_dashboard.measures.store import delete_scenario, save_scenario, scenario_slug
from geo_dashboard.measures.texts import scenario_text
from geo_dashboard.output import BuildOutput
from geo_dashboard.paths import ProjectPaths
from tests.browser_support import (
    ARTIFACTS,
    BROWSER_MARKS,
    PAGE_TIMEOUT_MS,
    OfflineRoutes,
    launch_chromium,
    running_app,
    wait_until_idle,
    wait_until_settled,
)

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed"
)
pypdf = pytest.importorskip("pypdf", reason="pypdf is not installed")
expect = sync_api.expect

DESKTOP = {"width": 1400, "height": 1000}
TABLET = {"width": 820, "height": 1180}
LANGUAGE_LABEL = "Taal / Language"
LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English"}
# Path part of the URL of the iframe that streamlit-folium draws a map in.
MAP_COMPONENT = "/component/streamlit_folium.st_folium/"
SCENARIO_NAME = "Meer grasland & bloemen"
TILE_URL_PART = "/brt/achtergrondkaart/"
LEGEND_TITLE = ".geo-dashboard-legend b"
NOTICE = ".geo-dashboard-basemap-notice"
MAX_SCREENSHOT_HEIGHT = 6000
# Height in CSS pixels of the page's content, including the part that the
# main area or the sidebar scrolls.
CONTENT_HEIGHT = """
() => Math.max(
    document.documentElement.scrollHeight,
    ...[...document.querySelectorAll(
        "[data-testid=stMain], [data-testid=stSidebarContent]"
    )].map(element => element.scrollHeight)
)
"""
LIBRARY = load_kpi_library()


@dataclass(frozen=True)
class AppPage:
    """A page of the app: its URL path, navigation key and title per language."""

    path: str
    nav_key: str
    titles: dict[str, str]
    default: bool = False


def _pages(build: BuildOutput) -> list[AppPage]:
    area_names = build.manifest["area_name"]

    def titles(text: Any) -> dict[str, str]:
        return {language: text(language) for language in LANGUAGE_NAMES}

    return [
        AppPage(
            "overview",
            "nav.overview",
            titles(
                lambda lang: translate("overview.title", lang, area=area_names[lang])
            ),
            default=True,
        ),
        AppPage("map", "nav.map", titles(lambda lang: translate("map.title", lang))),
        AppPage(
            "scenarios",
            "nav.scenarios",
            titles(lambda lang: scenario_text("scenarios.title", lang)),
        ),
        AppPage(
            "proposals",
            "nav.proposals",
            titles(lambda lang: translate("proposals.title", lang)),
        ),
        AppPage(
            "cycles", "nav.cycles", titles(lambda lang: translate("cycles.title", lang))
        ),
        AppPage(
            "compare",
            "nav.compare",
            titles(lambda lang: translate("compare.title", lang)),
        ),
        AppPage(
            "allocation",
            "nav.allocation",
            titles(lambda lang: translate("allocation.title", lang)),
        ),
        AppPage(
            "lessons",
            "nav.lessons",
            titles(lambda lang: translate("lessons.title", lang)),
        ),
        AppPage(
            "downloads",
            "nav.export",
            titles(lambda lang: translate("export.title", lang)),
        ),
        # Not logged in, the farm page lists the farms that consented.
        AppPage(
            "farm",
            "nav.farms",
            titles(lambda lang: translate("farm.title_farms", lang)),
        ),
    ]


@pytest.fixture(scope="module")
def saved_scenario(
    pilot_paths: ProjectPaths, pilot_build: BuildOutput
) -> Iterator[str]:
    """Save one scenario for the pilot area; remove it after the module."""
    scenario = Scenario(
        name=SCENARIO_NAME,
        area_id=pilot_build.area_id,
        steps=[RuleStep(measure="arable_to_grassland", where="area_ha > 10")],
    )
    save_scenario(pilot_paths.builds, scenario)
    yield SCENARIO_NAME
    delete_scenario(
        pilot_paths.builds, pilot_build.area_id, scenario_slug(SCENARIO_NAME)
    )


@pytest.fixture(scope="module")
def app_url(
    pilot_paths: ProjectPaths,
    pilot_build: BuildOutput,
    saved_scenario: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """One app server for the module, with the saved scenario in place."""
    log = tmp_path_factory.mktemp("browser_pages") / "streamlit.log"
    with running_app(pilot_paths, pilot_build.area_id, log) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium, shared by the tests of this module."""
    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


class Session:
    """One browser context on the app, with its routes and page."""

    def __init__(
        self,
        browser: Any,
        app_url: str,
        area_id: str,
        viewport: dict[str, int],
        tile: bytes | None = None,
    ) -> None:
        self.routes = OfflineRoutes(tile=tile)
        self.context = browser.new_context(viewport=viewport, accept_downloads=True)
        self.context.set_default_timeout(PAGE_TIMEOUT_MS)
        self.context.route("**/*", self.routes)
        self.page = self.context.new_page()
        # Enter through the entry point, as a visitor does.
        self.page.goto(f"{app_url}/?area={area_id}")
        self.wait_for_title()

    def close(self) -> None:
        self.context.close()

    def title(self) -> Any:
        """Return the page title (the h1 in the main area)."""
        return self.page.locator('[data-testid="stMain"] h1').first

    def wait_for_title(self, text: str | None = None) -> None:
        if text is None:
            self.title().wait_for()
        else:
            expect(self.title()).to_have_text(text, timeout=PAGE_TIMEOUT_MS)
        wait_until_idle(self.page)

    def open(self, app_page: AppPage, language: str) -> None:
        """Open ``app_page`` through the sidebar navigation.

        A map reports its view back to the server once it is drawn, which
        reruns the map page. A click on a link in that moment can be lost, so
        the link is clicked again if the app went idle on the old page.
        """
        link = self.page.get_by_role(
            "link", name=translate(app_page.nav_key, language), exact=True
        )
        expected = app_page.titles[language]
        for _ in range(3):
            wait_until_settled(self.page)
            link.click()
            try:
                expect(self.title()).to_have_text(expected, timeout=20_000)
                break
            except AssertionError:
                wait_until_idle(self.page)
                if self.title().inner_text() == expected:
                    break
        self.wait_for_title(expected)
        # The default page (the overview) keeps the bare URL "/".
        url_path = urlparse(self.page.url).path
        assert url_path in (f"/{app_page.path}", "/" if app_page.default else None)

    def choose(self, label: str, option: str) -> None:
        """Pick ``option`` in the selectbox labelled ``label``.

        A script run that ends while the list is open can close it or swallow
        the click, so the choice is retried until the box shows ``option``.
        """
        box = self.page.get_by_label(label, exact=True)
        for _ in range(3):
            wait_until_settled(self.page)
            box.click()
            self.page.get_by_role("option", name=option, exact=True).click()
            try:
                expect(box).to_have_value(option, timeout=10_000)
                return
            except AssertionError:
                self.page.keyboard.press("Escape")
        expect(box).to_have_value(option, timeout=PAGE_TIMEOUT_MS)

    def switch_language(self, language: str) -> None:
        self.choose(LANGUAGE_LABEL, LANGUAGE_NAMES[language])

    def map_frame(
        self, selector: str, text: str | None = None, timeout_ms: int = PAGE_TIMEOUT_MS
    ) -> Any:
        """Return the map frame that shows ``selector`` (with ``text``), waiting.

        While a script run replaces a map, the page briefly has the old and
        the new map iframe. So the frame is picked by what it shows, not by
        its position.
        """
        deadline = time.monotonic() + timeout_ms / 1000
        seen: list[str] = []
        while time.monotonic() < deadline:
            seen = []
            for frame in self.page.frames:
                if MAP_COMPONENT not in frame.url:
                    continue
                element = frame.locator(selector).first
                try:
                    if not element.count():
                        continue
                    shown = element.inner_text(timeout=2_000)
                except sync_api.Error:
                    continue  # the frame went away during a script run
                seen.append(shown)
                if text is None or shown == text:
                    return frame
            # Unlike time.sleep, this lets Playwright process the events
            # that add new frames to page.frames.
            self.page.wait_for_timeout(250)
        pytest.fail(
            f"no map shows {selector!r} with text {text!r} in {timeout_ms} ms; "
            f"map frames show {seen}"
        )

    def screenshot(self, path: Path) -> None:
        """Save the whole page at the viewport's width.

        Streamlit scrolls its main area inside the window, so a full-page
        screenshot would stop at the window's height: the window is made as
        tall as the content (at most :data:`MAX_SCREENSHOT_HEIGHT`) instead.
        """
        wait_until_idle(self.page)
        viewport = self.page.viewport_size
        height = self.page.evaluate(CONTENT_HEIGHT)
        tall = min(max(height, viewport["height"]), MAX_SCREENSHOT_HEIGHT)
        self.page.set_viewport_size({"width": viewport["width"], "height": tall})
        try:
            # Let Leaflet, the layout and the fonts settle.
            self.page.wait_for_timeout(1000)
            self.page.screenshot(path=str(path))
        finally:
            self.page.set_viewport_size(viewport)
        assert path.stat().st_size > 10_000


@pytest.fixture()
def desktop(browser: Any, app_url: str, pilot_build: BuildOutput) -> Iterator[Session]:
    session = Session(browser, app_url, pilot_build.area_id, DESKTOP)
    yield session
    session.close()
    assert not session.routes.local_requests_blocked()


def _page(build: BuildOutput, path: str) -> AppPage:
    return next(app_page for app_page in _pages(build) if app_page.path == path)


def _nav_texts(session: Session) -> list[str]:
    links = session.page.locator('[data-testid="stSidebarNav"] a')
    return [text.strip() for text in links.all_inner_texts()]


def test_pages_switch_language(
    desktop: Session, pilot_build: BuildOutput, artifacts: Path
) -> None:
    pages = _pages(pilot_build)
    assert _nav_texts(desktop) == [translate(p.nav_key, "nl") for p in pages]
    for app_page in pages:
        desktop.open(app_page, "nl")
        desktop.screenshot(artifacts / f"desktop_{app_page.path}_nl.png")

        desktop.switch_language("en")
        desktop.wait_for_title(app_page.titles["en"])
        assert _nav_texts(desktop) == [translate(p.nav_key, "en") for p in pages]
        if app_page.path == "downloads":
            desktop.screenshot(artifacts / f"desktop_{app_page.path}_en.png")

        desktop.switch_language("nl")
        desktop.wait_for_title(app_page.titles["nl"])
        assert _nav_texts(desktop)[0] == translate("nav.overview", "nl")


def test_downloads_page_formats_numbers(
    desktop: Session, pilot_build: BuildOutput
) -> None:
    downloads = _page(pilot_build, "downloads")
    desktop.open(downloads, "nl")
    parcels = len(pilot_build.parcels)
    main = desktop.page.locator('[data-testid="stMain"]')
    # 1698 parcels: a full stop groups thousands in Dutch, a comma in English.
    dutch = f"{parcels // 1000}.{parcels % 1000:03d} percelen"
    expect(main).to_contain_text(dutch, timeout=PAGE_TIMEOUT_MS)
    desktop.switch_language("en")
    desktop.wait_for_title(downloads.titles["en"])
    english = f"{parcels // 1000},{parcels % 1000:03d} parcels"
    expect(main).to_contain_text(english, timeout=PAGE_TIMEOUT_MS)


def test_map_kpi_changes_legend_and_popup(
    desktop: Session, pilot_build: BuildOutput, artifacts: Path
) -> None:
    desktop.open(_page(pilot_build, "map"), "nl")
    distance = f"{translate('map.column.n2000_distance_m', 'nl')} (m)"
    frame = desktop.map_frame(LEGEND_TITLE)
    assert frame.locator(LEGEND_TITLE).first.inner_text() == distance

    nh3 = LIBRARY.get("nh3_concentration_farmland")
    desktop.choose(translate("map.select_kpi", "nl"), nh3.name.get("nl"))
    nh3_title = f"{nh3.name.get('nl')} (µg/m³)"
    frame = desktop.map_frame(LEGEND_TITLE, nh3_title)
    assert frame.locator(LEGEND_TITLE).first.inner_text() == nh3_title

    parcels = frame.locator("path.leaflet-interactive")
    parcels.nth(len(pilot_build.parcels) - 1).wait_for(state="attached")
    wait_until_settled(desktop.page)
    parcels.nth(len(pilot_build.parcels) // 3).click(force=True)
    popup = frame.locator(".leaflet-popup-content")
    popup.wait_for()
    popup_text = popup.inner_text()
    assert "Gewas" in popup_text
    assert "Oppervlakte (ha)" in popup_text
    assert "µg/m³" in popup_text
    # Dutch decimal comma in the NH3 value and the area.
    assert re.search(r"\d,\d", popup_text), popup_text
    # The page below the map repeats the clicked parcel.
    selected = desktop.page.get_by_text(translate("map.selected_parcel", "nl"))
    expect(selected).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    desktop.screenshot(artifacts / "desktop_map_nh3_popup_nl.png")


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """Return a plain PNG image of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def test_map_without_tile_server(
    desktop: Session, pilot_build: BuildOutput, artifacts: Path
) -> None:
    # The desktop session aborts every tile request, as when offline.
    desktop.open(_page(pilot_build, "map"), "nl")
    dutch = translate("map.basemap_unavailable", "nl")
    frame = desktop.map_frame(NOTICE, dutch)
    notice = frame.locator(NOTICE)
    assert notice.inner_text() == dutch
    assert notice.get_attribute("role") == "status"
    background = frame.locator(".leaflet-container").evaluate(
        "element => getComputedStyle(element).backgroundColor"
    )
    red, green, blue = (int(maps.PLAIN_BACKGROUND[i : i + 2], 16) for i in (1, 3, 5))
    assert background == f"rgb({red}, {green}, {blue})"
    assert frame.locator("img.leaflet-tile").count() == 0
    # All layers are still drawn.
    parcels = frame.locator("path.leaflet-interactive")
    parcels.nth(len(pilot_build.parcels) - 1).wait_for(state="attached")
    assert parcels.count() >= len(pilot_build.parcels)
    layer_control = frame.locator(".leaflet-control-layers").text_content()
    for key in ("map.layer.natura2000", "map.layer.boundary", "map.layer.nh3"):
        assert translate(key, "nl") in layer_control
    assert any(TILE_URL_PART in url for url in desktop.routes.blocked)
    desktop.screenshot(artifacts / "desktop_map_offline_nl.png")

    desktop.switch_language("en")
    desktop.wait_for_title(translate("map.title", "en"))
    english = translate("map.basemap_unavailable", "en")
    frame = desktop.map_frame(NOTICE, english)
    assert frame.locator(NOTICE).inner_text() == english


def test_map_with_tile_server_has_no_notice(
    browser: Any, app_url: str, pilot_build: BuildOutput
) -> None:
    session = Session(
        browser,
        app_url,
        pilot_build.area_id,
        DESKTOP,
        tile=_png(256, 256, (200, 200, 200)),
    )
    try:
        session.open(_page(pilot_build, "map"), "nl")
        frame = session.map_frame(LEGEND_TITLE)
        loaded = frame.locator("img.leaflet-tile-loaded")
        loaded.first.wait_for(state="attached")
        wait_until_settled(session.page)
        assert session.routes.tiles_served > 0
        assert frame.locator(NOTICE).count() == 0
        assert loaded.count() > 0
    finally:
        session.close()


def _download(session: Session, button: str, folder: Path) -> Path:
    with session.page.expect_download(timeout=PAGE_TIMEOUT_MS) as info:
        session.page.get_by_role("button", name=button, exact=True).click()
    download = info.value
    assert download.failure() is None
    target = folder / download.suggested_filename
    download.save_as(target)
    return target


def test_downloads_open_in_their_tools(
    desktop: Session, pilot_build: BuildOutput, saved_scenario: str, tmp_path: Path
) -> None:
    desktop.open(_page(pilot_build, "downloads"), "nl")
    area = pilot_build.area_id

    gpkg = _download(desktop, translate("export.parcels.button", "nl"), tmp_path)
    assert gpkg.name == f"{area}_percelen.gpkg"
    parcels = gpd.read_file(gpkg)
    assert parcels.crs.to_epsg() == 28992
    assert len(parcels) == len(pilot_build.parcels)
    assert {"perceel_id", "gewas", "opp_ha"} <= set(parcels.columns)
    # Not logged in: the page's privacy filter drops farm identity.
    assert "farm_id" in pilot_build.parcels
    assert "bedrijf_id" not in parcels.columns

    csv = _download(desktop, translate("export.kpis.csv_button", "nl"), tmp_path)
    kpis = pd.read_csv(csv, encoding="utf-8-sig")
    assert list(kpis["kpi_id"]) == list(pilot_build.kpis["kpi_id"])
    assert list(kpis["name"]) == list(pilot_build.kpis["name_nl"])

    excel = _download(desktop, translate("export.kpis.excel_button", "nl"), tmp_path)
    sheets = pd.read_excel(excel, sheet_name=None)
    assert list(sheets)[:2] == ["KPIs", "bronnen"]
    assert "bedrijven" not in sheets
    assert len(sheets["KPIs"]) == len(pilot_build.kpis)
    licences = list(sheets["bronnen"]["licence"])
    assert licences == [layer["licence"] for layer in pilot_build.manifest["layers"]]

    png = _download(desktop, translate("export.map.png_button", "nl"), tmp_path)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(png).shape
    assert height > 500
    assert width > 500

    pdf = _download(desktop, translate("export.map.pdf_button", "nl"), tmp_path)
    reader = pypdf.PdfReader(pdf)
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert pilot_build.manifest["area_name"]["nl"] in text
    assert "Bronnen" in text
    assert "Datum" in text
    assert "CC0" in text

    scenarios = _download(desktop, translate("export.scenarios.button", "nl"), tmp_path)
    comparison = pd.read_csv(scenarios, encoding="utf-8-sig")
    expected = [saved_scenario, f"{saved_scenario} (min)", f"{saved_scenario} (max)"]
    assert list(comparison.columns[:4]) == ["kpi_id", "name", "unit", "current"]
    assert list(comparison.columns[4:]) == expected
    assert comparison["kpi_id"].iloc[-1] == "cost_eur_yr"
    assert comparison[saved_scenario].iloc[-1] > 0


def test_tablet_screenshots(
    browser: Any, app_url: str, pilot_build: BuildOutput, artifacts: Path
) -> None:
    session = Session(browser, app_url, pilot_build.area_id, TABLET)
    try:
        for app_page in _pages(pilot_build):
            session.open(app_page, "nl")
            if app_page.path == "map":
                session.map_frame(LEGEND_TITLE)
            session.screenshot(artifacts / f"tablet_{app_page.path}_nl.png")
    finally:
        session.close()
    assert not session.routes.local_requests_blocked()


UNLABELLED_CONTROLS = """
root => [...root.querySelectorAll("input, select, textarea, button")]
    .filter(element => element.type !== "hidden" && element.offsetParent !== null)
    .filter(element => !(
        element.getAttribute("aria-label")
        || element.getAttribute("aria-labelledby")
        || element.getAttribute("title")
        || (element.labels && element.labels.length > 0)
        || (element.tagName === "BUTTON" && element.innerText.trim())
    ))
    .map(element => element.outerHTML.slice(0, 160))
"""


def test_pages_are_accessible(desktop: Session, pilot_build: BuildOutput) -> None:
    for app_page in _pages(pilot_build):
        desktop.open(app_page, "nl")
        assert desktop.page.title().strip(), app_page.path
        unlabelled = desktop.page.locator("body").evaluate(UNLABELLED_CONTROLS)
        assert unlabelled == [], app_page.path
        assert desktop.page.get_by_label(LANGUAGE_LABEL, exact=True).count() == 1
        if app_page.path in ("map", "downloads"):
            select = desktop.page.get_by_label(translate("map.select_kpi", "nl"))
            assert select.count() == 1, app_page.path


def _luminance(color: str) -> float:
    """Return the WCAG relative luminance of a ``#rrggbb`` colour."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [
        c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_map_palette_is_colour_blind_safe(
    desktop: Session, pilot_build: BuildOutput
) -> None:
    colors = [color.lower() for color in maps.sequential_colors(maps.MAX_CLASSES)]
    # Viridis runs from dark purple to yellow ...
    assert colors[0] == "#440154"
    assert colors[-1] == "#fde725"
    # ... with lightness that rises at every step, so class order survives
    # red-green colour blindness and greyscale printing.
    luminances = [_luminance(color) for color in colors]
    assert luminances == sorted(luminances)
    assert len(set(luminances)) == len(luminances)
    assert luminances[-1] / luminances[0] > 10
    tol_muted = (
        "#CC6677 #332288 #DDCC77 #117733 #88CCEE #882255 #44AA99 #999933 #AA4499"
    )
    assert maps.CATEGORY_COLORS == tuple(tol_muted.split())

    # The legend that the browser shows uses those colours.
    desktop.open(_page(pilot_build, "map"), "nl")
    legend = desktop.map_frame(LEGEND_TITLE).locator(".geo-dashboard-legend")
    swatches = legend.locator("span[style*='background']").evaluate_all(
        "spans => spans.map(span => getComputedStyle(span).backgroundColor)"
    )
    allowed = {
        color
        for count in range(1, maps.MAX_CLASSES + 1)
        for color in maps.sequential_colors(count)
    } | {maps.NO_VALUE_COLOR}
    allowed_rgb = {
        "rgb({}, {}, {})".format(*(int(color[i : i + 2], 16) for i in (1, 3, 5)))
        for color in allowed
    }
    assert swatches
    assert set(swatches) <= allowed_rgb


def _map_legend_titles(session: Session) -> list[str]:
    """Return the legend title of every map frame on the page."""
    titles = []
    for frame in session.page.frames:
        if MAP_COMPONENT not in frame.url:
            continue
        legend = frame.locator(LEGEND_TITLE)
        try:
            if legend.count():
                titles.append(legend.first.inner_text(timeout=2_000))
        except sync_api.Error:
            continue  # the frame went away during a script run
    return titles


def test_map_follows_kpi_language_and_layers(
    desktop: Session, pilot_build: BuildOutput
) -> None:
    page = desktop.page
    desktop.open(_page(pilot_build, "map"), "nl")
    page.wait_for_function("() => document.documentElement.lang === 'nl'")

    # Two quick changes: the map that remains shows the last KPI chosen.
    nh3 = LIBRARY.get("nh3_concentration_farmland")
    shannon = LIBRARY.get("crop_diversity_shannon")
    label = translate("map.select_kpi", "nl")
    desktop.choose(label, shannon.name.get("nl"))
    desktop.choose(label, nh3.name.get("nl"))
    nh3_title = f"{nh3.name.get('nl')} (µg/m³)"
    frame = desktop.map_frame(LEGEND_TITLE, nh3_title)
    wait_until_settled(page)
    assert set(_map_legend_titles(desktop)) == {nh3_title}

    # Metric scale bar only: no line in feet or miles.
    scale = frame.locator(".leaflet-control-scale-line")
    assert scale.count() == 1
    assert re.fullmatch(r"\d+ k?m", scale.inner_text().strip()), scale.inner_text()

    # The NH3 legend is there only while the NH3 layer is switched on.
    nh3_layer = translate("map.layer.nh3", "nl")
    layer_legend = frame.locator(".geo-dashboard-layer-legend")
    assert layer_legend.count() == 0
    assert nh3_layer not in frame.locator(".geo-dashboard-legend").inner_text()
    checkbox = frame.locator(
        ".leaflet-control-layers-overlays label", has_text=nh3_layer
    ).locator("input")
    # The layer control is collapsed until the pointer is on it.
    frame.locator(".leaflet-control-layers").hover()
    checkbox.check()
    expect(layer_legend).to_have_count(1)
    expect(layer_legend.locator("b")).to_have_text(nh3_layer)
    checkbox.uncheck()
    expect(layer_legend).to_have_count(0)

    # After a language switch the KPI box shows the English names and keeps
    # the chosen KPI, and the page's <html lang> follows.
    desktop.switch_language("en")
    desktop.wait_for_title(translate("map.title", "en"))
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    box = page.get_by_label(translate("map.select_kpi", "en"), exact=True)
    expect(box).to_have_value(nh3.name.get("en"), timeout=PAGE_TIMEOUT_MS)
    box.click()
    options = page.get_by_role("option")
    expect(options.first).to_be_visible()
    names = options.all_inner_texts()
    page.keyboard.press("Escape")
    assert shannon.name.get("en") in names
    assert shannon.name.get("nl") not in names
    english_title = f"{nh3.name.get('en')} (µg/m³)"
    desktop.map_frame(LEGEND_TITLE, english_title)
    wait_until_settled(page)
    assert set(_map_legend_titles(desktop)) == {english_title}

    desktop.switch_language("nl")
    desktop.wait_for_title(translate("map.title", "nl"))
    page.wait_for_function("() => document.documentElement.lang === 'nl'")


def test_invalid_area_shown_as_typed(
    browser: Any, app_url: str, pilot_build: BuildOutput
) -> None:
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    routes = OfflineRoutes()
    context.route("**/*", routes)
    try:
        page = context.new_page()
        area = "<b>Noord & Oost</b>"
        page.goto(f"{app_url}/?area={quote(area)}")
        alert = page.locator('[data-testid="stAlertContentError"]').first
        alert.wait_for()
        wait_until_idle(page)
        text = alert.inner_text()
        assert f"'{area}'" in text
        assert "&amp;" not in text
        assert "&lt;" not in text
        assert "\\" not in text
    finally:
        context.close()
