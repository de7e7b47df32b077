"""The app with login, run with Streamlit's AppTest on the real pilot build.

Access paths tested here:

- every page of the app as farmer A (overview, the map with its folium
  popups, scenarios with a farm effects table, cycles, downloads and the
  farm page), whose text must never contain farm B or C;
- the farm page for the public, a farmer and the coordinator;
- the login form, an expired session and consent changes on the farm page.

The text of a page is every element's protobuf (markdown, captions, select
options and the folium component's HTML and GeoJSON) plus every dataframe
as CSV, so a farm id anywhere on the page is found.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo_dashboard.auth import add_user
from geo_dashboard.output import BuildOutput
from geo_dashboard.paths import ProjectPaths
from geo_dashboard.store import Store, consent_history, consent_state, set_consent
from tests import farm_fixtures
from tests.farm_fixtures import (
    FARM_A,
    FARM_B,
    FARM_C,
    PASSWORD_A,
    PASSWORD_COORDINATOR,
)

pytestmark = pytest.mark.slow

farm_store = farm_fixtures.farm_store
store_url = farm_fixtures.store_url

MAIN = Path(__file__).resolve().parents[1] / "geo_dashboard" / "app" / "main.py"
TIMEOUT_S = 180
# Each page with a text that shows it rendered: the map's popup field for
# the crop, the scenario page's pooled row of other farms.
PAGES = {
    "views/overview.py": "Overzicht",
    # The parcel popup's crop label, in the map component's HTML.
    "views/map.py": "Gewas",
    "views/scenarios.py": "Overige bedrijven (samen)",
    "views/cycles.py": "v0.1",
    # Files are written only on a click; their content is tested through
    # export_disclosed in tests/test_privacy.py.
    "views/export.py": "Build van",
    "views/farm.py": FARM_A,
}


@pytest.fixture(autouse=True)
def restore_package_logger() -> Iterator[None]:
    """Undo the app's logging set-up, which would outlive the test otherwise."""
    package_logger = logging.getLogger("geo_dashboard")
    handlers = list(package_logger.handlers)
    level = package_logger.level
    yield
    package_logger.handlers = handlers
    package_logger.setLevel(level)
    if hasattr(package_logger, "_configured_by_app"):
        del package_logger._configured_by_app


@pytest.fixture()
def app_env(
    monkeypatch: pytest.MonkeyPatch,
    pilot_paths: ProjectPaths,
    pilot_build: BuildOutput,
    store_url: str,
    farm_store: Store,
) -> Store:
    """Point the app at the pilot build and a store with users and consents.

    Farmer A owns farm A. Farm B shows itself to the coordinator and in
    aggregates but not to other farmers.
    """
    monkeypatch.setenv("GEO_DASHBOARD_LAYERS", str(pilot_paths.layers))
    monkeypatch.setenv("GEO_DASHBOARD_CONFIGS", str(pilot_paths.configs))
    monkeypatch.setenv("GEO_DASHBOARD_BUILDS", str(pilot_paths.builds))
    monkeypatch.setenv("GEO_DASHBOARD_AREA", pilot_build.area_id)
    monkeypatch.setenv("GEO_DASHBOARD_DB", store_url)
    add_user(farm_store, "boer.a", PASSWORD_A, "farmer", [FARM_A], by="test")
    add_user(farm_store, "anna", PASSWORD_COORDINATOR, "coordinator", by="test")
    area = pilot_build.area_id
    set_consent(farm_store, area, FARM_B, "coordinator", True, "boer.b")
    set_consent(farm_store, area, FARM_B, "aggregates", True, "boer.b")
    return farm_store


def _walk(node: object) -> Iterator[object]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def page_text(at: AppTest) -> str:
    """Return everything the page shows as text (see the module docstring)."""
    parts = []
    for node in _walk(at._tree):
        if type(node).__name__ == "Dataframe":
            parts.append(node.value.to_csv())
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
    return "\n".join(parts)


def _app() -> AppTest:
    return AppTest.from_file(str(MAIN), default_timeout=TIMEOUT_S)


def _log_in(at: AppTest, username: str, password: str) -> AppTest:
    at.sidebar.text_input(key="login_username").set_value(username)
    at.sidebar.text_input(key="login_password").set_value(password)
    next(b for b in at.sidebar.button if b.label == "Inloggen").click()
    return at.run()


def test_login_shows_role(app_env: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    at = _log_in(_app().run(), "boer.a", PASSWORD_A)
    assert not at.exception
    captions = [caption.value for caption in at.sidebar.caption]
    assert any("Ingelogd als **boer\\.a** (agrariër)" in text for text in captions)
    token = at.session_state["auth_token"]
    assert "user 1 logged in" in caplog.text
    for secret in (PASSWORD_A, token, "boer.a"):
        assert secret not in caplog.text


def test_wrong_password_stays_public(app_env: Store) -> None:
    at = _log_in(_app().run(), "boer.a", "geen-wachtwoord")
    assert not at.exception
    assert [error.value for error in at.sidebar.error] == [
        "Onjuiste gebruikersnaam of wachtwoord."
    ]
    assert "auth_token" not in at.session_state
    assert "geen-wachtwoord" not in page_text(at)


def test_expired_session_logs_out(app_env: Store, store_url: str) -> None:
    at = _log_in(_app().run(), "boer.a", PASSWORD_A)
    with sqlite3.connect(store_url.removeprefix("sqlite:///")) as connection:
        connection.execute(
            "UPDATE user_sessions SET expires_at = '2000-01-01 00:00:00'"
        )
    at.switch_page("views/farm.py").run()
    assert not at.exception
    assert "Uw sessie is verlopen. Log opnieuw in." in [
        i.value for i in at.sidebar.info
    ]
    assert at.title[0].value == "Bedrijven in het gebied"
    assert FARM_A not in page_text(at)


def test_public_farm_page_shows_aggregates_only(app_env: Store) -> None:
    at = _app().run()
    at.switch_page("views/farm.py").run()
    assert not at.exception
    assert at.title[0].value == "Bedrijven in het gebied"
    infos = [info.value for info in at.info]
    assert any("illustratief, geen echte bedrijven" in text for text in infos)
    assert any("Bedrijfsgegevens zijn privé" in text for text in infos)
    aggregates = at.dataframe[-1].value
    assert set(aggregates["Gebiedstotaal"]) == {"niet getoond (minder dan 5 bedrijven)"}
    assert "ILLUSTRATIEF-" not in page_text(at)


def test_farmer_sees_own_farm_page(app_env: Store, pilot_build: BuildOutput) -> None:
    at = _log_in(_app().run(), "boer.a", PASSWORD_A)
    at.switch_page("views/farm.py").run()
    assert not at.exception
    assert at.title[0].value == "Mijn bedrijf"
    assert at.selectbox(key="farm_select").value == FARM_A
    text = page_text(at)
    assert FARM_A in text
    assert FARM_B not in text
    contributions = at.dataframe[0].value
    assert len(contributions) == pilot_build.farm_kpis["kpi_id"].nunique()
    measures = at.dataframe[1].value
    assert len(measures) > 0
    assert [checkbox.value for checkbox in at.checkbox] == [False, False, False]
    assert any(type(n).__name__ == "UnknownElement" for n in _walk(at._tree))


@pytest.mark.parametrize(("page", "expected"), PAGES.items())
def test_farmer_never_sees_other_farm(app_env: Store, page: str, expected: str) -> None:
    at = _log_in(_app().run(), "boer.a", PASSWORD_A)
    at.switch_page(page).run()
    # A scenario on every parcel where the measure fits, so the scenario
    # page shows its farm effects table (the page resets the steps on its
    # first run in an area).
    at.session_state["scenario_steps"] = [
        {"kind": "rule", "measure": "agri_environment_mixture", "where": None}
    ]
    at.run()
    assert not at.exception, page
    text = page_text(at)
    assert expected in text, page
    assert FARM_B not in text, page
    assert FARM_C not in text, page


def test_farmer_consent_on_farm_page(app_env: Store, pilot_build: BuildOutput) -> None:
    area = pilot_build.area_id
    at = _log_in(_app().run(), "boer.a", PASSWORD_A)
    at.switch_page("views/farm.py").run()
    at.checkbox(key=f"consent_{FARM_A}_aggregates").check()
    next(b for b in at.button if b.label == "Toestemming opslaan").click().run()
    assert not at.exception
    assert consent_state(app_env, area)[FARM_A] == {"aggregates"}
    assert "Toestemming opgeslagen." in [s.value for s in at.success]

    at.checkbox(key=f"consent_{FARM_A}_aggregates").uncheck()
    next(b for b in at.button if b.label == "Toestemming opslaan").click().run()
    assert consent_state(app_env, area)[FARM_A] == frozenset()
    history = consent_history(app_env, area, FARM_A)
    assert [(c.granted, c.changed_by) for c in history] == [
        (True, "boer.a"),
        (False, "boer.a"),
    ]
    shown = at.dataframe[-2].value
    assert list(shown["Toestemming"]) == ["gegeven", "ingetrokken"]


def test_coordinator_sees_consenting_farm(app_env: Store) -> None:
    at = _log_in(_app().run(), "anna", PASSWORD_COORDINATOR)
    at.switch_page("views/farm.py").run()
    assert not at.exception
    assert at.title[0].value == "Bedrijven in het gebied"
    assert at.selectbox(key="farm_select").options == [
        f"{FARM_B} (gedeeld met toestemming)"
    ]
    text = page_text(at)
    assert FARM_B in text
    assert FARM_A not in text
    assert not at.checkbox
