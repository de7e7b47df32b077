"""A build killed at any moment leaves the last good build usable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from geo_dashboard.build import build_area
from geo_dashboard.output import current_build_folder, read_build
from geo_dashboard.paths import ProjectPaths

PILOT = "noordoostpolder"
BUILD_SCRIPT = "from geo_dashboard.build import build_area; build_area('noordoostpolder')"


def _start_build(paths: ProjectPaths) -> subprocess.Popen:
    env = dict(
        os.environ,
        GEO_DASHBOARD_LAYERS=str(paths.layers),
        GEO_DASHBOARD_CONFIGS=str(paths.configs),
        GEO_DASHBOARD_BUILDS=str(paths.builds),
    )
    return subprocess.Popen([sys.executable, "-c", BUILD_SCRIPT], env=env)


@pytest.mark.slow
@pytest.mark.parametrize("delay_s", [0.5, 1.5, 2.5, 3.5, 5.0])
def test_killed_build_keeps_last_good(sandbox: ProjectPaths, delay_s: float) -> None:
    first = build_area(PILOT, sandbox)
    process = _start_build(sandbox)
    time.sleep(delay_s)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    folder = current_build_folder(sandbox.builds, PILOT)
    output = read_build(sandbox.builds, PILOT)
    assert len(output.parcels) == 1698
    assert folder == first.folder or folder.name > first.folder.name

    # The next build cleans up what the killed one left behind.
    build_area(PILOT, sandbox)
    leftovers = [p.name for p in (sandbox.builds / PILOT).iterdir() if p.name.startswith(".")]
    assert leftovers == []
