"""Progress of a KPI from its baseline towards its target."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Status = Literal["gap", "no_baseline", "reached", "on_track", "behind"]

# A KPI within this fraction of the baseline-to-target distance behind the
# straight path still counts as on track, so that rounding of a baseline
# does not mark a KPI as behind in its baseline year.
ON_TRACK_TOLERANCE = 0.01


@dataclass(frozen=True)
class Progress:
    """Where a KPI stands on the straight path from baseline to target.

    ``fraction`` is (current - baseline) / (target - baseline): 0 at the
    baseline, 1 at the target, negative when the KPI moved the wrong way.
    ``expected`` is the fraction a straight path would have reached by the
    year of the current value.
    """

    fraction: float | None
    expected: float | None
    status: Status


def compute_progress(
    current: float | None,
    current_year: int | None,
    baseline: float | None,
    baseline_year: int,
    target: float | None,
    target_year: int,
    direction: Literal["higher", "lower"],
) -> Progress:
    """Compare the current value with a straight path from baseline to target."""
    if current is None or (isinstance(current, float) and math.isnan(current)):
        return Progress(None, None, "gap")
    if baseline is None or target is None:
        return Progress(None, None, "no_baseline")

    sign = 1.0 if direction == "higher" else -1.0
    # Values closer to the target than this count as meeting it: 1% of the
    # baseline-to-target distance, or 0.1% of the target when both are equal.
    if target != baseline:
        slack = ON_TRACK_TOLERANCE * abs(target - baseline)
    else:
        slack = 1e-3 * abs(target)
    if sign * (current - target) >= -slack:
        fraction = 1.0 if target == baseline else (current - baseline) / (target - baseline)
        return Progress(fraction, _expected(current_year, baseline_year, target_year), "reached")
    if target == baseline:
        # The target equals the baseline and the KPI is now on the wrong side.
        return Progress(-1.0, 1.0, "behind")

    fraction = (current - baseline) / (target - baseline)
    expected = _expected(current_year, baseline_year, target_year)
    status: Status = (
        "on_track" if fraction >= (expected or 0.0) - ON_TRACK_TOLERANCE else "behind"
    )
    return Progress(fraction, expected, status)


def _expected(current_year: int | None, baseline_year: int, target_year: int) -> float | None:
    if current_year is None:
        return None
    span = target_year - baseline_year
    return min(max((current_year - baseline_year) / span, 0.0), 1.0)
