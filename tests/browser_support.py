"""Shared parts of the browser tests: the app server, Chromium and offline routing.

The browser may only talk to the local server. :class:`OfflineRoutes`
aborts every other request, so a map draws only if the app serves Leaflet
itself (from ``geo_dashboard/app/static`` through Streamlit's static file
serving). Base-map tiles are aborted, or fulfilled with one plain local image
when a test passes one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from geo_dashboard.maps import BASEMAP_URL
from geo_dashboard.paths import ProjectPaths

REPO = Path(__file__).resolve().parents[1]
MAIN = REPO / "geo_dashboard" / "app" / "main.py"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
TILE_HOST = urlparse(BASEMAP_URL).hostname
SERVER_START_TIMEOUT_S = 90
# Generous, because the machine may be running other test suites at once.
PAGE_TIMEOUT_MS = 120_000

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.is_file(),
        reason=f"no Chromium at {CHROMIUM}; install Debian's chromium package",
    ),
]


class OfflineRoutes:
    """Playwright route handler that keeps the browser on this machine.

    Parameters
    ----------
    tile
        PNG bytes that fulfil every base-map tile request. None aborts tile
        requests, as when the tile server cannot be reached.
    """

    def __init__(self, tile: bytes | None = None) -> None:
        self.tile = tile
        self.blocked: list[str] = []
        self.tiles_served = 0

    def __call__(self, route: Any) -> None:
        request = route.request
        url = urlparse(request.url)
        if url.hostname in LOCAL_HOSTS or url.scheme in ("data", "blob"):
            route.continue_()
        elif url.hostname == TILE_HOST and self.tile is not None:
            self.tiles_served += 1
            route.fulfill(status=200, content_type="image/png", body=self.tile)
        else:
            self.blocked.append(request.url)
            route.abort()

    def local_requests_blocked(self) -> list[str]:
        """Return blocked URLs of the local server; there should be none."""
        return [url for url in self.blocked if urlparse(url).hostname in LOCAL_HOSTS]


def launch_chromium(playwright: Any) -> Any:
    """Start Debian's headless Chromium through Playwright."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def wait_until_idle(page: Any, timeout_ms: int = PAGE_TIMEOUT_MS) -> None:
    """Wait until the Streamlit script of the page has finished its run."""
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stApp]')"
        "?.dataset.testScriptState === 'notRunning'",
        timeout=timeout_ms,
    )


def wait_until_settled(
    page: Any, quiet_ms: int = 1500, timeout_ms: int = PAGE_TIMEOUT_MS
) -> None:
    """Wait until no Streamlit script run has started for ``quiet_ms``.

    A drawn map reports its view back to the server a moment after the
    script run that drew it, which starts another run. Polling only for the
    idle state would return in the gap between those two runs.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < quiet_ms / 1000:
        if time.monotonic() > deadline:
            pytest.fail(
                f"the app did not stay idle for {quiet_ms} ms in {timeout_ms} ms"
            )
        state = page.evaluate(
            "() => document.querySelector('[data-testid=stApp]')"
            "?.dataset.testScriptState"
        )
        if state != "notRunning":
            quiet_since = time.monotonic()
        page.wait_for_timeout(100)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_health(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}: {log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"streamlit did not answer {url} in {SERVER_START_TIMEOUT_S} s")


@contextmanager
def running_app(paths: ProjectPaths, area_id: str, log: Path) -> Iterator[str]:
    """Run ``streamlit run`` on a free port of 127.0.0.1 and yield its base URL.

    The server's output goes to ``log``. The server and its children are
    stopped on exit, with SIGKILL if SIGTERM does not end them in 15 s.
    """
    port = free_port()
    env = dict(
        os.environ,
        GEO_DASHBOARD_LAYERS=str(paths.layers),
        GEO_DASHBOARD_CONFIGS=str(paths.configs),
        GEO_DASHBOARD_BUILDS=str(paths.builds),
        GEO_DASHBOARD_AREA=area_id,
    )
    command = [
        sys.executable, "-m", "streamlit", "run", str(MAIN),
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--server.enableStaticServing", "true",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with open(log, "wb") as output:
        server = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT,
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
            server.wait(timeout=15)
