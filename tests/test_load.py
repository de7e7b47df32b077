"""Load: 20 concurrent browser sessions on one ``streamlit run`` server.

Every session is a context of one headless Chromium process. It enters the
app at ``/?area=...`` (the overview) and then cycles through the map, the
scenarios page and the overview by the sidebar links. Once every session has
loaded each page (so every session's state and the caches exist), the
sessions go on for :data:`LOAD_SECONDS` more. The test records page loads per
page and errors over the whole run, and the server's resident memory (RSS)
in that steady phase. It passes on "no errors and memory stable", never on
speed.

The browser sends no request off this machine: requests to 127.0.0.1 go
through (the app serves Leaflet itself) and everything else, base-map tiles
included, is aborted.

Playwright's sync API cannot drive pages from several threads, so this module
uses the async API, and :class:`tests.browser_support.OfflineRoutes` (a sync
route handler) is replaced here by :func:`_route_locally`.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from geo_dashboard.i18n import translate
from geo_dashboard.measures.texts import scenario_text
from geo_dashboard.output import BuildOutput
from geo_dashboard.paths import ProjectPaths
from tests.browser_support import (
    ARTIFACTS,
    BROWSER_MARKS,
    CHROMIUM,
    CHROMIUM_ARGS,
    LOCAL_HOSTS,
    MAIN,
    PAGE_TIMEOUT_MS,
    running_app,
)

pytestmark = BROWSER_MARKS
async_api = pytest.importorskip(
    "playwright.async_api", reason="the playwright package is not installed"
)
psutil = pytest.importorskip("psutil", reason="psutil is not installed")

SESSIONS = 20
LOAD_SECONDS = 75
# Sessions start this far apart, so 20 visitors arrive within a few seconds.
SESSION_START_GAP_S = 0.25
MEMORY_SAMPLE_S = 2.0
# Mean RSS of the last third of the steady-phase samples may exceed the first
# third's by at most this fraction. No session or cache entry is added in that
# phase, so steady growth would mean a leak. The bound is generous.
MAX_MEMORY_GROWTH = 0.5
# A click on a sidebar link is repeated when the title has not changed after
# this long, because a click during a map rerun can be lost.
CLICK_RETRY_MS = 20_000
LANGUAGE = "nl"
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
SUMMARY = ARTIFACTS / "load_test.json"


@dataclass(frozen=True)
class LoadPage:
    """A page of the load cycle: URL path, sidebar link text and h1 title."""

    path: str
    link: str
    title: str


@dataclass
class LoadRecord:
    """What all sessions observed: page loads, errors, requests and RSS samples."""

    page_loads: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)
    script_rejections: int = 0
    # (seconds since the sessions started, RSS in bytes)
    rss_samples: list[tuple[float, int]] = field(default_factory=list)
    cancelled_requests: int = 0
    timeouts: list[str] = field(default_factory=list)


@dataclass
class LoadClock:
    """The steady phase: it starts when every session has loaded each page."""

    sessions: int
    seconds: float
    started: float = field(default_factory=time.monotonic)
    sessions_ready: int = 0
    steady_start: float | None = None

    def session_ready(self) -> None:
        self.sessions_ready += 1
        if self.sessions_ready == self.sessions:
            self.steady_start = time.monotonic()

    def running(self) -> bool:
        return (
            self.steady_start is None
            or time.monotonic() < self.steady_start + self.seconds
        )


def _load_pages(build: BuildOutput) -> dict[str, LoadPage]:
    area_name = build.manifest["area_name"][LANGUAGE]
    return {
        "overview": LoadPage(
            "overview",
            translate("nav.overview", LANGUAGE),
            translate("overview.title", LANGUAGE, area=area_name),
        ),
        "map": LoadPage(
            "map", translate("nav.map", LANGUAGE), translate("map.title", LANGUAGE)
        ),
        "scenarios": LoadPage(
            "scenarios",
            translate("nav.scenarios", LANGUAGE),
            scenario_text("scenarios.title", LANGUAGE),
        ),
    }


@pytest.fixture()
def app_url(
    pilot_paths: ProjectPaths, pilot_build: BuildOutput, tmp_path: Path
) -> Iterator[str]:
    with running_app(
        pilot_paths, pilot_build.area_id, tmp_path / "streamlit.log"
    ) as url:
        yield url


def _server_process(app_url: str) -> Any:
    """Return the psutil process of the ``streamlit run`` serving ``app_url``."""
    port = str(urlparse(app_url).port)
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if str(MAIN) in cmdline and port in cmdline:
            return process
    pytest.fail(f"no streamlit process found for {app_url}")


@dataclass
class SessionState:
    """Per-session counts that decide whether a page error is expected."""

    name: str
    blocked_scripts: int = 0
    script_rejections: int = 0


async def _route_locally(route: Any, record: LoadRecord, state: SessionState) -> None:
    """Let local requests through and abort the rest."""
    request = route.request
    url = urlparse(request.url)
    if url.hostname in LOCAL_HOSTS or url.scheme in ("data", "blob"):
        await route.continue_()
    else:
        record.blocked.add(request.url)
        if request.resource_type == "script":
            state.blocked_scripts += 1
        await route.abort()


def _watch_errors(page: Any, state: SessionState, record: LoadRecord) -> Any:
    """Record console errors, uncaught page errors and failed local requests.

    Two kinds of error are caused by the aborted requests themselves and are
    counted apart, not recorded as errors. Chromium logs each aborted request
    as a console error. streamlit-folium loads a map's CDN scripts one by one
    and rejects a promise with the script's error ``Event`` when one fails:
    one such rejection per aborted script is expected. Returns a function
    that stops the recording.
    """
    name = state.name

    def on_console(message: Any) -> None:
        if message.type != "error":
            return
        if message.location.get("url") in record.blocked:
            return
        record.errors.append(f"{name}: console error: {message.text}")

    def on_page_error(error: Any) -> None:
        rejected_script = not error.name and error.message == "Event"
        if rejected_script and state.script_rejections < state.blocked_scripts:
            state.script_rejections += 1
            record.script_rejections += 1
            return
        record.errors.append(
            f"{name}: uncaught error on {page.url}: {error.name}: {error.message}"
            f" {(error.stack or '')[:300]}"
        )

    def on_response(response: Any) -> None:
        if response.status >= 400:
            record.errors.append(f"{name}: HTTP {response.status} for {response.url}")

    def on_request_failed(request: Any) -> None:
        if urlparse(request.url).hostname not in LOCAL_HOSTS:
            return
        # The browser cancels the requests of a map iframe that a rerun or a
        # page change removes, so these are not server failures.
        if request.failure == "net::ERR_ABORTED":
            record.cancelled_requests += 1
        else:
            record.errors.append(
                f"{name}: request failed: {request.url} ({request.failure})"
            )

    handlers = {
        "console": on_console,
        "pageerror": on_page_error,
        "response": on_response,
        "requestfailed": on_request_failed,
    }
    for event, handler in handlers.items():
        page.on(event, handler)

    def stop() -> None:
        for event, handler in handlers.items():
            page.remove_listener(event, handler)

    return stop


def _title(page: Any) -> Any:
    """Return the page title (the first h1 in the main area)."""
    return page.locator('[data-testid="stMain"] h1').first


async def _wait_until_idle(page: Any) -> None:
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=stApp]')"
        "?.dataset.testScriptState === 'notRunning'",
        timeout=PAGE_TIMEOUT_MS,
    )


async def _finish_load(
    page: Any, target: LoadPage, name: str, record: LoadRecord
) -> None:
    """Wait until ``target`` is shown and idle, then count it or its exception.

    The map page counts as loaded once Leaflet has drawn the legend in the
    map's iframe, which folium adds after the layers.
    """
    await async_api.expect(_title(page)).to_have_text(
        target.title, timeout=PAGE_TIMEOUT_MS
    )
    await _wait_until_idle(page)
    if target.path == "map":
        legend = page.frame_locator(MAP_FRAME).locator(".geo-dashboard-legend")
        await legend.wait_for(timeout=PAGE_TIMEOUT_MS)
    exceptions = page.locator('[data-testid="stException"]')
    for text in await exceptions.all_inner_texts():
        record.errors.append(f"{name}: exception on {target.path}: {text[:300]}")
    record.page_loads[target.path] += 1


async def _open(page: Any, target: LoadPage, name: str, record: LoadRecord) -> None:
    title = _title(page)
    link = page.get_by_role("link", name=target.link, exact=True)
    for _ in range(3):
        await _wait_until_idle(page)
        await link.click(timeout=PAGE_TIMEOUT_MS)
        try:
            await async_api.expect(title).to_have_text(
                target.title, timeout=CLICK_RETRY_MS
            )
            break
        except AssertionError:
            continue
    await _finish_load(page, target, name, record)


async def _run_session(
    index: int,
    browser: Any,
    app_url: str,
    area_id: str,
    pages: dict[str, LoadPage],
    clock: LoadClock,
    record: LoadRecord,
) -> None:
    state = SessionState(f"session {index}")
    name = state.name
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(PAGE_TIMEOUT_MS)

    async def route(route: Any) -> None:
        await _route_locally(route, record, state)

    await context.route("**/*", route)
    page = await context.new_page()
    stop_watching = _watch_errors(page, state, record)
    try:
        await page.goto(f"{app_url}/?area={area_id}", timeout=PAGE_TIMEOUT_MS)
        await _finish_load(page, pages["overview"], name, record)
        cycle = [pages["map"], pages["scenarios"], pages["overview"]]
        for target in cycle:
            await _open(page, target, name, record)
        clock.session_ready()
        step = 0
        while clock.running():
            await _open(page, cycle[step % len(cycle)], name, record)
            step += 1
    except async_api.TimeoutError as err:
        # On a busy machine a load can exceed PAGE_TIMEOUT_MS. This test does
        # not judge speed, so a timeout only ends the session.
        record.timeouts.append(f"{name}: {err}".splitlines()[0])
    except (async_api.Error, AssertionError) as err:
        record.errors.append(f"{name}: page load failed: {err}".splitlines()[0])
        if clock.steady_start is None:
            # A failed session must not hold the other sessions back.
            clock.session_ready()
    finally:
        # Closing the context cancels open requests, which are not errors.
        stop_watching()
        await context.close()


async def _sample_memory(
    process: Any, record: LoadRecord, clock: LoadClock, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        rss = process.memory_info().rss
        record.rss_samples.append((time.monotonic() - clock.started, rss))
        try:
            await asyncio.wait_for(stop.wait(), timeout=MEMORY_SAMPLE_S)
        except TimeoutError:
            pass


async def _run_load(
    app_url: str, area_id: str, pages: dict[str, LoadPage], server: Any
) -> tuple[LoadRecord, LoadClock, int]:
    """Warm the caches with one session, then run :data:`SESSIONS` at once.

    Returns the record and clock of the concurrent run and the server's RSS
    after the warm-up.
    """
    async with async_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            warm_up = LoadRecord()
            # With a steady phase of 0 s the session loads each page once.
            warm_up_clock = LoadClock(sessions=1, seconds=0)
            await _run_session(
                0, browser, app_url, area_id, pages, warm_up_clock, warm_up
            )
            assert warm_up.errors == [], warm_up.errors
            assert warm_up.timeouts == [], warm_up.timeouts
            warm_rss = server.memory_info().rss

            record = LoadRecord()
            clock = LoadClock(sessions=SESSIONS, seconds=LOAD_SECONDS)
            stop = asyncio.Event()
            sampler = asyncio.create_task(_sample_memory(server, record, clock, stop))
            sessions = []
            for index in range(1, SESSIONS + 1):
                session = _run_session(
                    index, browser, app_url, area_id, pages, clock, record
                )
                sessions.append(asyncio.create_task(session))
                await asyncio.sleep(SESSION_START_GAP_S)
            await asyncio.gather(*sessions)
            stop.set()
            await sampler
        finally:
            await browser.close()
    return record, clock, warm_rss


def _third_means(samples: list[int]) -> tuple[float, float]:
    """Return the mean of the first and of the last third of ``samples``."""
    third = max(1, len(samples) // 3)
    return statistics.fmean(samples[:third]), statistics.fmean(samples[-third:])


def test_twenty_sessions_stay_stable(app_url: str, pilot_build: BuildOutput) -> None:
    pages = _load_pages(pilot_build)
    server = _server_process(app_url)
    record, clock, warm_rss = asyncio.run(
        _run_load(app_url, pilot_build.area_id, pages, server)
    )

    duration = time.monotonic() - clock.started
    assert clock.steady_start is not None
    ramp_up_s = clock.steady_start - clock.started
    rss = [value for second, value in record.rss_samples if second >= ramp_up_s]
    first_third, last_third = _third_means(rss)
    growth = last_third / first_third - 1
    summary = {
        "sessions": SESSIONS,
        "load_seconds": LOAD_SECONDS,
        "ramp_up_s": round(ramp_up_s, 1),
        "duration_s": round(duration, 1),
        "page_loads": dict(record.page_loads),
        "errors": record.errors,
        "timeouts": record.timeouts,
        "blocked_urls": len(record.blocked),
        "blocked_script_urls": sorted(
            url for url in record.blocked if "achtergrondkaart" not in url
        ),
        "script_rejections": record.script_rejections,
        "cancelled_requests": record.cancelled_requests,
        "rss_after_warm_up_mb": round(warm_rss / 2**20, 1),
        "rss_steady_start_mb": round(rss[0] / 2**20, 1),
        "rss_first_third_mb": round(first_third / 2**20, 1),
        "rss_last_third_mb": round(last_third / 2**20, 1),
        "rss_max_mb": round(max(rss) / 2**20, 1),
        "rss_samples": len(rss),
        "memory_growth": round(growth, 3),
        "cpu_count": psutil.cpu_count(),
        "load_average_1min": round(psutil.getloadavg()[0], 2),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    SUMMARY.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))

    assert record.errors == []
    # A timed-out session stops and may miss pages, but at least half must run.
    assert len(record.timeouts) <= SESSIONS // 2, record.timeouts
    for path in pages:
        loads = record.page_loads[path]
        assert loads >= SESSIONS - len(record.timeouts), f"{loads} loads of {path}"
    assert len(rss) >= 10
    assert growth < MAX_MEMORY_GROWTH, f"RSS grew by {growth:.0%}"
