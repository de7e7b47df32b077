"""Timing, memory and machine description shared by the benchmark scripts."""

from __future__ import annotations

import gc
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from geo_dashboard.paths import ProjectPaths

REPO = Path(__file__).resolve().parents[1]

# Distributions whose versions the report lists, in this order.
KEY_PACKAGES = (
    "geopandas",
    "shapely",
    "pyogrio",
    "rasterio",
    "exactextract",
    "numpy",
    "pandas",
    "pyarrow",
    "dask",
    "distributed",
    "dask-geopandas",
    "folium",
    "playwright",
)


@dataclass
class Timing:
    """Wall-clock seconds of the repeats of one variant."""

    name: str
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def spread(self) -> str:
        """Range of the repeats and its width relative to the median."""
        low, high = min(self.seconds), max(self.seconds)
        return f"{low:.3f}–{high:.3f} (±{(high - low) / 2 / self.median:.0%})"


def time_variants(
    variants: dict[str, Callable[[], object]],
    repeats: dict[str, int] | int,
    warmup: bool = True,
) -> dict[str, Timing]:
    """Time each variant ``repeats`` times, interleaving them round by round.

    Interleaving spreads background load of the machine over all variants
    instead of charging it to whichever ran at the time. One untimed warm-up
    call per variant loads modules and fills the operating system's file cache.
    """
    counts = repeats if isinstance(repeats, dict) else dict.fromkeys(variants, repeats)
    timings = {name: Timing(name) for name in variants}
    if warmup:
        for function in variants.values():
            function()
    for round_number in range(max(counts.values())):
        for name, function in variants.items():
            if round_number >= counts[name]:
                continue
            gc.collect()
            started = time.perf_counter()
            function()
            timings[name].seconds.append(time.perf_counter() - started)
    return timings


# Child process for peak_rss_of_build: build an area, print its memory use.
_MEMORY_PROBE = """
import json, sys
from pathlib import Path
from geo_dashboard.build import build_area
from geo_dashboard.paths import ProjectPaths

def status_mib(field):
    with open("/proc/self/status", encoding="ascii") as stream:
        for line in stream:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024

start = status_mib("VmRSS")
area, layers, configs, builds = sys.argv[1:]
build_area(area, ProjectPaths(Path(layers), Path(configs), Path(builds)))
print(json.dumps({"start": start, "peak": status_mib("VmHWM")}))
"""


def peak_rss_of_build(area: str, paths: ProjectPaths) -> tuple[float, float]:
    """Build ``area`` in a new Python process; return its RSS in MiB before and at peak.

    A new process starts with an empty heap, so its peak counts all memory
    the build needs, including what GEOS, GDAL and exactextract allocate
    outside Python's allocator. The peak is the kernel's high-water mark of
    the process (``VmHWM``), which, unlike ``ru_maxrss``, does not carry over
    the parent's size through fork and exec. The first figure is the RSS
    after imports.
    """
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEMORY_PROBE,
            area,
            str(paths.layers),
            str(paths.configs),
            str(paths.builds),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if completed.returncode != 0:
        tail = "\n".join(completed.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"the memory probe of {area!r} failed:\n{tail}")
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    return figures["start"], figures["peak"]


def machine_description() -> list[tuple[str, str]]:
    """Describe the machine and software the benchmarks ran on."""
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as stream:
        for line in stream:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as stream:
        total_kib = int(stream.readline().split()[1])
    rows = [
        ("CPU", f"{cpu}, {os.cpu_count()} logical cores ({platform.machine()})"),
        ("memory", f"{total_kib / 2**20:.1f} GiB"),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
    ]

    versions = []
    for name in KEY_PACKAGES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    rows.append(("packages", ", ".join(versions)))

    rows.append(("GEOS, GDAL", _native_versions()))
    rows.append(("Chromium", _chromium_version()))
    blas = {
        key: os.environ[key]
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
        if key in os.environ
    }
    rows.append(
        ("OpenBLAS settings", ", ".join(f"{k}={v}" for k, v in blas.items()) or "none")
    )
    return rows


def _native_versions() -> str:
    import pyogrio
    import shapely

    return f"GEOS {shapely.geos_version_string}, GDAL {pyogrio.__gdal_version_string__}"


def _chromium_version() -> str:
    try:
        completed = subprocess.run(
            ["/usr/bin/chromium", "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "not available"
    return completed.stdout.strip() or "not available"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """Format rows as a GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def timing_rows(
    timings: dict[str, Timing], reference: str | None = None
) -> list[list[str]]:
    """Rows of variant, repeats, median, spread and ratio to ``reference``."""
    rows = []
    for timing in timings.values():
        ratio = ""
        if reference is not None:
            ratio = f"{timing.median / timings[reference].median:.1f}x"
        rows.append(
            [
                timing.name,
                str(len(timing.seconds)),
                f"{timing.median:.3f}",
                timing.spread,
                ratio,
            ]
        )
    return rows


TIMING_HEADER = [
    "variant",
    "repeats",
    "median s",
    "range s (± half-range/median)",
    "ratio",
]
