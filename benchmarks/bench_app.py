"""App page switch: time from a click on the map link to the map shown.

One ``streamlit run`` server serves the pilot area on 127.0.0.1. A headless
Chromium page opens the overview, then clicks the sidebar link of the map
page, and the clock stops when Leaflet has drawn the map's legend, which
folium adds after the parcel layers. The clock starts at the click.

The page reads the build through Streamlit's caches (``st.cache_data`` and
``st.cache_resource`` in ``geo_dashboard/app/common.py``). The first switch
on a newly started server fills them ("cold"): it reads the build's files and
simplifies the display geometry. Later switches in the same session find them
filled ("warm"); the folium map is still drawn anew on each switch. Each cold
repeat starts a new server.

The browser sends no request off this machine: Leaflet is served from the
``xstatic-leaflet`` package and every other outside request is aborted.

Run ``python benchmarks/bench_app.py`` for this benchmark alone.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, TIMING_HEADER, Timing, markdown_table, timing_rows  # noqa: E402

from geo_dashboard.build import build_area  # noqa: E402
from geo_dashboard.errors import BuildNotFoundError  # noqa: E402
from geo_dashboard.i18n import translate  # noqa: E402
from geo_dashboard.output import current_build_folder  # noqa: E402
from geo_dashboard.paths import ProjectPaths  # noqa: E402

AREA = "noordoostpolder"
LANGUAGE = "nl"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 800}
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
LEGEND = ".geo-dashboard-legend"
TIMEOUT_MS = 180_000
SERVER_START_S = 120
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def available() -> str | None:
    """Return why the benchmark cannot run here, or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
        import xstatic.pkg.leaflet  # noqa: F401
    except ImportError as err:
        return f"missing Python package: {err.name}"
    if not Path(CHROMIUM).is_file():
        return f"{CHROMIUM} is not installed"
    return None


def run(cold_repeats: int = 3, warm_repeats: int = 5) -> str:
    """Time cold and warm switches to the map page; return a markdown section."""
    reason = available()
    if reason is not None:
        return f"## App page switch\n\nNot run: {reason}."
    from playwright.sync_api import sync_playwright

    paths = ProjectPaths.from_env()
    try:
        current_build_folder(paths.builds, AREA)
    except BuildNotFoundError:
        build_area(AREA, paths)

    cold = Timing("cold: first switch on a new server (caches empty)")
    warm = Timing("warm: later switches in the same session")
    back = Timing("warm: map back to the overview")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            for repeat in range(cold_repeats):
                with _server(paths) as url:
                    page = browser.new_page(viewport=VIEWPORT)
                    page.route("**/*", _offline_route)
                    page.goto(f"{url}/?area={AREA}", timeout=TIMEOUT_MS)
                    _wait_until_idle(page)
                    cold.seconds.append(_switch_to_map(page))
                    # The warm switches are timed in the first server's session.
                    for _ in range(warm_repeats if repeat == 0 else 0):
                        back.seconds.append(_switch_to_overview(page))
                        warm.seconds.append(_switch_to_map(page))
                    page.close()
        finally:
            browser.close()

    timings = {timing.name: timing for timing in (cold, warm, back)}
    return "\n\n".join(
        [
            "## App page switch",
            f"Pilot area `{AREA}`, Dutch interface, headless Chromium at "
            f"{VIEWPORT['width']}x{VIEWPORT['height']}. The clock runs from the "
            "click on the sidebar link until the map's legend is drawn (for the "
            "way back: until the map is gone and the script run has ended). "
            "Cold repeats start a new server each; the warm repeats come from "
            "the first server's session.",
            markdown_table(TIMING_HEADER, timing_rows(timings, reference=warm.name)),
            f"Cached build outputs make the switch to the map "
            f"{cold.median / warm.median:.1f}x faster than the first, uncached one.",
        ]
    )


def _switch_to_map(page) -> float:
    link = page.get_by_role("link", name=translate("nav.map", LANGUAGE), exact=True)
    started = time.perf_counter()
    link.click(timeout=TIMEOUT_MS)
    page.frame_locator(MAP_FRAME).locator(LEGEND).wait_for(timeout=TIMEOUT_MS)
    return time.perf_counter() - started


def _switch_to_overview(page) -> float:
    link = page.get_by_role(
        "link", name=translate("nav.overview", LANGUAGE), exact=True
    )
    started = time.perf_counter()
    link.click(timeout=TIMEOUT_MS)
    page.locator(MAP_FRAME).wait_for(state="detached", timeout=TIMEOUT_MS)
    _wait_until_idle(page)
    return time.perf_counter() - started


def _wait_until_idle(page) -> None:
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stApp]')"
        "?.dataset.testScriptState === 'notRunning'",
        timeout=TIMEOUT_MS,
    )


def _offline_route(route) -> None:
    """Let local requests through, serve Leaflet locally, abort the rest."""
    import xstatic.pkg.leaflet

    url = urlparse(route.request.url)
    if url.hostname in LOCAL_HOSTS or url.scheme in ("data", "blob"):
        route.continue_()
        return
    name = url.path.rsplit("/", 1)[-1]
    if "/leaflet@" in url.path and name in ("leaflet.js", "leaflet.css"):
        route.fulfill(path=str(Path(xstatic.pkg.leaflet.BASE_DIR) / name))
        return
    route.abort()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _server(paths: ProjectPaths) -> Iterator[str]:
    """Run ``streamlit run`` for the app on 127.0.0.1 and yield its base URL."""
    port = _free_port()
    env = dict(
        os.environ,
        GEO_DASHBOARD_LAYERS=str(paths.layers),
        GEO_DASHBOARD_CONFIGS=str(paths.configs),
        GEO_DASHBOARD_BUILDS=str(paths.builds),
        GEO_DASHBOARD_AREA=AREA,
    )
    command = [
        sys.executable, "-m", "streamlit", "run",
        str(REPO / "geo_dashboard" / "app" / "main.py"),
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            _wait_for_health(f"http://127.0.0.1:{port}/_stcore/health", server, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def _wait_for_health(url: str, server: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")
            raise RuntimeError(f"streamlit exited with {server.returncode}: {output}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"streamlit did not respond at {url} within {SERVER_START_S} s")


if __name__ == "__main__":
    print(run())
