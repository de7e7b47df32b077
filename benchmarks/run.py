"""Run every benchmark and write docs/benchmarks.md.

Usage: ``.venv/bin/python benchmarks/run.py [--quick] [--output PATH]``.

Each benchmark runs its variants in this one process run, interleaved and
repeated, and returns a markdown section. ``benchmarks/bench_scenarios.py``,
when present, runs as a child process: it prints its own markdown section to
standard output, which is copied into the report as it is.

``--quick`` lowers the repeats for a trial run; the report then states it.
The whole run takes about 8 minutes on the 2-core machine described in the
report, and the quick run about half that.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_app  # noqa: E402
import bench_build  # noqa: E402
import bench_growth  # noqa: E402
import bench_map  # noqa: E402
from _common import REPO, machine_description, markdown_table  # noqa: E402

from geo_dashboard.build import build_area  # noqa: E402
from geo_dashboard.errors import BuildNotFoundError  # noqa: E402
from geo_dashboard.output import current_build_folder  # noqa: E402
from geo_dashboard.paths import ProjectPaths  # noqa: E402

SCENARIOS = Path(__file__).resolve().parent / "bench_scenarios.py"
# Maximum run time of the scenario benchmark in seconds; it is stopped after.
SCENARIOS_TIMEOUT_S = 600


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats, for a trial"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=REPO / "docs" / "benchmarks.md",
        help="markdown file to write (default: docs/benchmarks.md)",
    )
    args = parser.parse_args(argv)
    # The builds log repaired layers and partial raster cover at WARNING;
    # those are facts of the real layers, not of the benchmark.
    logging.basicConfig(level=logging.ERROR)

    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    sections = []
    for name, run in (
        ("build", lambda: bench_build.run(*((3, 2) if args.quick else (7, 3)))),
        ("growth", lambda: bench_growth.run(2 if args.quick else 3)),
        ("map", lambda: bench_map.run(3 if args.quick else 5)),
        ("app", lambda: bench_app.run(*((2, 3) if args.quick else (3, 5)))),
    ):
        print(f"running {name} benchmark ...", file=sys.stderr, flush=True)
        sections.append(run())
    sections.append(_scenarios())
    elapsed = time.perf_counter() - started
    load_after = os.getloadavg()[0]

    header = [
        "# Benchmarks",
        "Written by `benchmarks/run.py`"
        + (" with `--quick` (fewer repeats)" if args.quick else "")
        + f" on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {elapsed / 60:.1f} minutes. "
        "Every figure below comes from that one run; rerun the script to "
        "refresh them. Times are wall-clock seconds: the median over the "
        "repeats and their range, with half the range relative to the median. "
        "Ratios divide medians of the same run.",
        "## Machine",
        markdown_table(
            ["", ""], [[key, value] for key, value in machine_description()]
        ),
        "Other processes may run on this machine during a run, which widens the "
        "ranges; the medians and ratios are steadier than single times. The "
        f"1-minute load average was {load_before:.1f} at the start of this run and "
        f"{load_after:.1f} at its end, on {os.cpu_count()} cores.",
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n\n".join(header + sections) + "\n", encoding="utf-8")
    print(f"wrote {args.output} in {elapsed / 60:.1f} minutes", file=sys.stderr)
    return 0


def _scenarios() -> str:
    """Run the scenario benchmark, if present, and return its markdown."""
    if not SCENARIOS.is_file():
        return (
            "## Scenarios and optimiser\n\nNot run: `benchmarks/bench_scenarios.py` "
            "does not exist yet."
        )
    print("running scenario benchmark ...", file=sys.stderr, flush=True)
    # The scenario benchmark reads the pilot's current build.
    paths = ProjectPaths.from_env()
    try:
        current_build_folder(paths.builds, bench_build.AREA)
    except BuildNotFoundError:
        build_area(bench_build.AREA, paths)
    try:
        completed = subprocess.run(
            [sys.executable, str(SCENARIOS)],
            capture_output=True,
            text=True,
            timeout=SCENARIOS_TIMEOUT_S,
            cwd=REPO,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return (
            "## Scenarios and optimiser\n\nFailed: `benchmarks/bench_scenarios.py` "
            f"ran longer than {SCENARIOS_TIMEOUT_S} s and was stopped."
        )
    if completed.returncode != 0:
        tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
        return (
            "## Scenarios and optimiser\n\nFailed: `benchmarks/bench_scenarios.py` "
            f"exited with code {completed.returncode}:\n\n```\n{tail}\n```"
        )
    return completed.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
