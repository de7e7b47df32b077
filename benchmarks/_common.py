"""Timing, memory and machine description shared by the benchmark scripts."""

from __future__ import annotations

import gc
import importlib.metadata
import os
import platform
import resource
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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


def peak_rss_in_child(function: Callable[[], object]) -> tuple[float, float]:
    """Run ``function`` in a forked child; return its RSS at start and peak, in MiB.

    ``ru_maxrss`` only grows within a process, so each measurement needs a
    fresh one. The child starts with the parent's pages, so the peak minus
    the start is what ``function`` added, including memory that GEOS, GDAL
    and exactextract allocate outside Python's allocator.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read)
        start = _current_rss_mib()
        code = 0
        try:
            function()
        except BaseException:  # noqa: BLE001 - reported through the exit code
            code = 1
        os.write(write, f"{start}".encode())
        os.close(write)
        os._exit(code)
    os.close(write)
    with os.fdopen(read) as stream:
        start_text = stream.read()
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0 or not start_text:
        raise RuntimeError("the measured function failed in the child process")
    return float(start_text), usage.ru_maxrss / 1024


def _current_rss_mib() -> float:
    with open("/proc/self/statm", encoding="ascii") as stream:
        pages = int(stream.read().split()[1])
    return pages * resource.getpagesize() / 2**20


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
