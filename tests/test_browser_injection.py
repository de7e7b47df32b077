"""Hostile text through every user input, rendered by the app in headless Chromium.

A copy of the pilot project gets script and HTML payloads in each place where
a user or a data supplier writes text that the app shows. These are the area
config (area name, a target source, a data-gap note), the parcel and Natura
2000 layers (a parcel id and a site name) and the farm register (a farm id).
They also include the dashboard store (cycle name, target rationale,
reflection, data gap), a saved scenario (name and description) and a measure
proposal. Each page that shows one of them is
opened in Chromium. On every page and in every frame (the maps are iframes)
the test checks that no payload ran (``window.__pwned`` stays undefined),
that no element was made from a payload, and, where the text is shown as
text, that it is there literally.

The browser only reaches the local server (see
:class:`tests.browser_support.OfflineRoutes`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from geo_dashboard.auth import add_user
from geo_dashboard.build import build_area
from geo_dashboard.i18n import translate
from geo_dashboard.measures.scenario import RuleStep, Scenario
from geo_dashboard.measures.store import save_scenario
from geo_dashboard.measures.texts import scenario_text
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.store import (
    add_reflection,
    open_store,
    set_gap,
    set_target,
    start_cycle,
)
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
from tests.editing import edit_config, rewrite_vector

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed"
)
expect = sync_api.expect

REPO = Path(__file__).resolve().parents[1]
PILOT = "noordoostpolder"
NITRATE = "nitrate_risk_arable_share"
LANGUAGE = "nl"
VIEWPORT = {"width": 1400, "height": 1000}

# The payloads. Each one sets window.__pwned if the browser runs it.
SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=1">'
LINK = "[x](javascript:window.__pwned=1)"
MIXED = (
    '**vet** <b onmouseover="window.__pwned=1">b</b> '
    "[klik](javascript:window.__pwned=1) <svg onload=window.__pwned=1>"
)

AREA_NAME = f"Polder {SCRIPT}"
TARGET_SOURCE = f"bron {LINK} {IMG}"
GAP_NOTE = f"NNN-kaart {IMG}"
PARCEL_ID = f"P-{IMG}"
SITE_NAME = f"IJsselmeer {IMG}"
FARM_ID = f"BOER {IMG}"
CYCLE_NAME = f"najaar {IMG}"
RATIONALE = f"besproken {MIXED}"
REFLECTION = f"les {SCRIPT} {LINK}"
GAP_MISSING = f"ontbreekt {MIXED}"
GAP_SUPPLIER = f"provincie {SCRIPT}"
SCENARIO_NAME = f"Scenario {IMG}"
SCENARIO_DESCRIPTION = f"toelichting {MIXED} {LINK}"
PROPOSAL_TITLE = f"Voorstel {IMG}"
PROPOSAL_DESCRIPTION = f"uitleg {MIXED}"

FARMER = "boer.a"
FARMER_PASSWORD = "akker-en-klei-2023"
FARMER_PARCEL = "3068"
ORIGINAL_FARM = "ILLUSTRATIEF-173-526"
HOSTILE_PARCEL = "10984"
NATURA_SITE = "IJsselmeer"

MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
LEGEND = ".geo-dashboard-legend"

# Whether a payload ran or left an element behind, per frame. An attribute
# event handler that mentions __pwned can only come from a payload.
PWNED = "() => typeof window.__pwned"
INJECTED = """
() => {
    const found = [];
    for (const element of document.querySelectorAll('img[src="x"], svg[onload]')) {
        found.push(element.outerHTML.slice(0, 120));
    }
    for (const element of document.querySelectorAll("*")) {
        for (const attribute of element.attributes) {
            const handler = attribute.name.startsWith("on");
            const url = ["href", "src", "action", "formaction"];
            const link = url.includes(attribute.name)
                && attribute.value.trim().toLowerCase().startsWith("javascript:");
            if ((handler && attribute.value.includes("__pwned")) || link) {
                found.push(element.outerHTML.slice(0, 120));
            }
        }
    }
    for (const script of document.querySelectorAll("script")) {
        if (script.textContent.trim() === "window.__pwned=1") {
            found.push(script.outerHTML);
        }
    }
    return found;
}
"""


def _hostile_layers(paths: ProjectPaths) -> None:
    """Put payloads into a parcel id, a Natura 2000 site name and a farm id."""
    folder = paths.layers / PILOT

    def parcels(table: Any) -> Any:
        table["gid"] = table["gid"].astype(str)
        table.loc[table["gid"] == HOSTILE_PARCEL, "gid"] = PARCEL_ID
        return table

    def sites(table: Any) -> Any:
        table.loc[table["naam"] == NATURA_SITE, "naam"] = SITE_NAME
        return table

    rewrite_vector(folder / "brp_gewaspercelen_2023.gpkg", "brp_gewaspercelen", parcels)
    rewrite_vector(folder / "natura2000.gpkg", "natura2000", sites)

    register_path = folder / "illustrative_farm_register.csv"
    register = pd.read_csv(register_path, dtype=str, keep_default_na=False)
    register.loc[register["parcel_id"] == HOSTILE_PARCEL, "parcel_id"] = PARCEL_ID
    register["farm_id"] = register["farm_id"].replace(ORIGINAL_FARM, FARM_ID)
    register.to_csv(register_path, index=False)


def _hostile_config(config: dict) -> None:
    config["name"]["nl"] = AREA_NAME
    config["kpis"][0]["target"]["source"] = TARGET_SOURCE
    config["data_gaps"]["nnn"] = GAP_NOTE


def _hostile_store(paths: ProjectPaths) -> None:
    """Write payloads through the store API, as the Cycles forms and CLI do."""
    with open_store(paths=paths) as store:
        start_cycle(store, PILOT, CYCLE_NAME, "anna")
        set_target(
            store, PILOT, NITRATE, value=45.0, year=2030, rationale=RATIONALE, by="anna"
        )
        add_reflection(store, PILOT, "lesson", REFLECTION, "anna", kpi_id=NITRATE)
        set_gap(
            store,
            PILOT,
            "layer",
            "nnn",
            by="anna",
            missing=GAP_MISSING,
            supplier=GAP_SUPPLIER,
            status="requested",
        )
        add_user(store, FARMER, FARMER_PASSWORD, "farmer", [FARM_ID], by="test")


def _hostile_proposal(paths: ProjectPaths) -> bool:
    """Submit a proposal with payloads; return False when proposals are not there."""
    try:
        from geo_dashboard.privacy import Viewer
        from geo_dashboard.store.proposals import submit_proposal
    except ImportError:
        return False
    estimate = {"low": -0.4, "mid": -0.2, "high": -0.1}
    cost = {"low": 50.0, "mid": 100.0, "high": 150.0}
    content = {
        "title": PROPOSAL_TITLE,
        "description": PROPOSAL_DESCRIPTION,
        "effects": {"nh3_concentration_farmland": estimate},
        "annual_cost": cost,
        "one_off_cost": cost,
        "farm_operations": f"werk {SCRIPT}",
    }
    farmer = Viewer(role="farmer", farms=frozenset({FARM_ID}), name=FARMER)
    with open_store(paths=paths) as store:
        submit_proposal(store, PILOT, farmer, content)
    return True


@pytest.fixture(scope="module")
def hostile_paths(tmp_path_factory: pytest.TempPathFactory) -> ProjectPaths:
    """A copy of the project with payloads in every user text, built and stored."""
    root = tmp_path_factory.mktemp("hostile")
    paths = ProjectPaths(
        layers=root / "layers", configs=root / "area_configs", builds=root / "build"
    )
    shutil.copytree(REPO / "layers", paths.layers)
    shutil.copytree(REPO / "area_configs", paths.configs)
    _hostile_layers(paths)
    edit_config(paths, PILOT, _hostile_config)
    build = build_area(PILOT, paths)
    assert PARCEL_ID in set(build.parcels["parcel_id"])
    _hostile_store(paths)
    save_scenario(
        paths.builds,
        Scenario(
            name=SCENARIO_NAME,
            description=SCENARIO_DESCRIPTION,
            area_id=PILOT,
            steps=[RuleStep(measure="arable_to_grassland", where="area_ha > 10")],
        ),
    )
    return paths


@pytest.fixture(scope="module")
def has_proposal(hostile_paths: ProjectPaths) -> bool:
    return _hostile_proposal(hostile_paths)


@pytest.fixture(scope="module")
def app_url(
    hostile_paths: ProjectPaths,
    has_proposal: bool,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    log = tmp_path_factory.mktemp("browser_injection") / "streamlit.log"
    with running_app(hostile_paths, PILOT, log) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


class Visit:
    """One browser context on the app, entered at the overview."""

    def __init__(self, browser: Any, app_url: str) -> None:
        self.routes = OfflineRoutes()
        self.context = browser.new_context(viewport=VIEWPORT)
        self.context.set_default_timeout(PAGE_TIMEOUT_MS)
        self.context.route("**/*", self.routes)
        self.page = self.context.new_page()
        self.page.goto(f"{app_url}/?area={PILOT}")
        self.title().wait_for()
        wait_until_idle(self.page)

    def close(self) -> None:
        self.context.close()

    def title(self) -> Any:
        return self.page.locator('[data-testid="stMain"] h1').first

    def open(self, link_text: str, title: str) -> None:
        """Open a page by its sidebar link; click again if a map rerun lost it."""
        link = self.page.get_by_role("link", name=link_text, exact=True)
        for _ in range(3):
            wait_until_settled(self.page)
            link.click()
            try:
                expect(self.title()).to_have_text(title, timeout=20_000)
                break
            except AssertionError:
                wait_until_idle(self.page)
        expect(self.title()).to_have_text(title, timeout=PAGE_TIMEOUT_MS)
        wait_until_settled(self.page)

    def log_in(self, username: str, password: str) -> None:
        sidebar = self.page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_label(translate("auth.username", LANGUAGE)).fill(username)
        sidebar.get_by_label(translate("auth.password", LANGUAGE)).fill(password)
        sidebar.get_by_role(
            "button", name=translate("auth.login", LANGUAGE), exact=True
        ).click()
        expect(sidebar.get_by_text(username, exact=False).first).to_be_visible(
            timeout=PAGE_TIMEOUT_MS
        )
        wait_until_settled(self.page)

    def assert_clean(self, where: str) -> None:
        """Assert that no payload ran or made an element, in the page and its frames."""
        frames = self.page.frames
        assert len(frames) >= 1
        for frame in frames:
            label = f"{where}, frame {frame.url[:80]}"
            assert frame.evaluate(PWNED) == "undefined", label
            assert frame.evaluate(INJECTED) == [], label

    def main_text(self) -> str:
        return self.page.locator('[data-testid="stMain"]').inner_text()

    def combobox_values(self) -> list[str]:
        """Return what each select box of the main area shows as its value."""
        boxes = self.page.locator('[data-testid="stMain"] [role="combobox"]')
        return boxes.evaluate_all(
            "boxes => boxes.map(box => box.value || box.getAttribute('aria-label') "
            "|| box.textContent)"
        )

    def sidebar_text(self) -> str:
        return self.page.locator('[data-testid="stSidebar"]').inner_text()

    def map_frame(self) -> Any:
        frame = self.page.frame_locator(MAP_FRAME).first
        frame.locator(LEGEND).wait_for()
        return frame


@pytest.fixture()
def visit(browser: Any, app_url: str) -> Iterator[Visit]:
    opened = Visit(browser, app_url)
    try:
        yield opened
    finally:
        opened.close()
    assert not opened.routes.local_requests_blocked()


def _nav(key: str) -> str:
    return translate(key, LANGUAGE)


def test_overview_shows_config_text_literally(visit: Visit) -> None:
    expect(visit.title()).to_have_text(
        translate("overview.title", LANGUAGE, area=AREA_NAME)
    )
    assert AREA_NAME in visit.sidebar_text()

    # The first card's sources: the target source is Markdown and HTML.
    sources = visit.page.get_by_text(translate("overview.sources", LANGUAGE)).first
    sources.click()
    expect(visit.page.get_by_text(TARGET_SOURCE, exact=False).first).to_be_visible()
    visit.assert_clean("overview")
    visit.page.screenshot(path=str(_artifact("injection_overview.png")))


def test_map_popup_tooltip_and_legend(visit: Visit) -> None:
    visit.open(_nav("nav.map"), translate("map.title", LANGUAGE))
    frame = visit.map_frame()
    frame.locator("path.leaflet-interactive").first.wait_for(state="attached")
    visit.assert_clean("map, drawn")

    # Click the parcel whose id is the payload; its popup shows the id as text.
    parcel = frame.locator("body").evaluate_handle(
        """() => {
            let found = null;
            window.map.eachLayer(layer => {
                const id = layer.feature && layer.feature.properties.id;
                if (id && String(id).includes("__pwned")) { found = layer; }
            });
            return found && found._path;
        }"""
    )
    assert parcel.as_element() is not None, "no parcel with the hostile id drawn"
    parcel.as_element().click(force=True)
    popup = frame.locator(".leaflet-popup-content")
    popup.wait_for()
    assert PARCEL_ID in popup.inner_text()
    visit.assert_clean("map, parcel popup")

    # The click starts a script run, after which the page shows the popup
    # text below the map with st.text.
    main = visit.page.locator('[data-testid="stMain"]')
    expect(main.get_by_text(PARCEL_ID, exact=False)).to_be_visible(
        timeout=PAGE_TIMEOUT_MS
    )
    wait_until_idle(visit.page)
    visit.assert_clean("map, clicked parcel text")

    # Hover the Natura 2000 site with the hostile name: its tooltip is text.
    frame = visit.map_frame()
    site = frame.locator("body").evaluate_handle(
        """() => {
            let found = null;
            window.map.eachLayer(layer => {
                const site = layer.feature && layer.feature.properties.site;
                if (site && String(site).includes("__pwned")) { found = layer; }
            });
            return found && found._path;
        }"""
    )
    assert site.as_element() is not None, "no Natura 2000 site with the hostile name"
    # Most of the site lies outside the map view, so a pointer hover can miss
    # it. The tooltip is bound to the site layer group, which opens it on a
    # mouseover that the site's own layer passes up to it.
    frame.locator("body").evaluate(
        """() => window.map.eachLayer(layer => {
            const site = layer.feature && layer.feature.properties.site;
            if (site && String(site).includes("__pwned")) {
                layer.fire("mouseover", {latlng: window.map.getCenter()}, true);
            }
        })"""
    )
    tooltip = frame.locator(".leaflet-tooltip")
    tooltip.first.wait_for()
    assert SITE_NAME in tooltip.first.inner_text()

    legend = frame.locator(LEGEND)
    assert legend.inner_text().strip()
    visit.assert_clean("map, site tooltip and legend")
    visit.page.screenshot(path=str(_artifact("injection_map.png")))


def test_scenarios_show_name_and_description(visit: Visit) -> None:
    visit.open(_nav("nav.scenarios"), scenario_text("scenarios.title", LANGUAGE))
    visit.page.get_by_role(
        "tab", name=scenario_text("scenarios.tab.compare", LANGUAGE)
    ).click()
    main = visit.page.locator('[data-testid="stMain"]')
    expect(main.get_by_text(SCENARIO_DESCRIPTION, exact=False).first).to_be_visible(
        timeout=PAGE_TIMEOUT_MS
    )
    expect(main.get_by_text(SCENARIO_NAME, exact=False).first).to_be_visible()
    wait_until_settled(visit.page)
    visit.assert_clean("scenarios, compare tab")
    visit.page.screenshot(path=str(_artifact("injection_scenarios.png")))


def test_cycles_page_shows_store_text(visit: Visit) -> None:
    visit.open(_nav("nav.cycles"), translate("cycles.title", LANGUAGE))
    main = visit.page.locator('[data-testid="stMain"]')
    # The diff selectboxes label cycles with their names.
    assert any(CYCLE_NAME in value for value in visit.combobox_values())
    # Reflections, changes and gaps are data tables drawn on a canvas. Their
    # cells also sit, hidden, in an accessible grid, as text.
    assert main.locator('[data-testid="stDataFrame"]').count() >= 3
    cells = main.locator('[data-testid="stDataFrame"] td').all_text_contents()
    for text in (CYCLE_NAME, REFLECTION, RATIONALE, GAP_MISSING, GAP_SUPPLIER):
        assert any(text in cell for cell in cells), text
    visit.assert_clean("cycles")
    visit.page.screenshot(path=str(_artifact("injection_cycles.png")))


def test_export_page(visit: Visit) -> None:
    visit.open(_nav("nav.export"), translate("export.title", LANGUAGE))
    assert AREA_NAME in visit.sidebar_text()
    visit.assert_clean("export")


def test_farm_page_for_hostile_farm(visit: Visit) -> None:
    visit.open(_nav("nav.farms"), translate("farm.title_farms", LANGUAGE))
    visit.assert_clean("farm page, public")

    visit.log_in(FARMER, FARMER_PASSWORD)
    visit.open(_nav("nav.my_farm"), translate("farm.title_own", LANGUAGE))
    # The farm selector shows the farm id as its value.
    assert any(FARM_ID in value for value in visit.combobox_values())
    visit.assert_clean("farm page, farmer")
    visit.page.screenshot(path=str(_artifact("injection_farm.png")))


def test_proposals_page(visit: Visit, has_proposal: bool) -> None:
    if not has_proposal:
        pytest.skip("the proposals store is not in this checkout")
    visit.log_in(FARMER, FARMER_PASSWORD)
    visit.open(_nav("nav.proposals"), translate("proposals.title", LANGUAGE))
    main = visit.page.locator('[data-testid="stMain"]')
    expect(main.get_by_text(PROPOSAL_TITLE, exact=False).first).to_be_visible()
    visit.assert_clean("proposals")
    visit.page.screenshot(path=str(_artifact("injection_proposals.png")))


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
