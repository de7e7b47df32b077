"""Progress towards a target along a straight path from the baseline."""

from __future__ import annotations

import pytest

from geo_dashboard.progress import compute_progress


def test_halfway_on_time_is_on_track() -> None:
    result = compute_progress(15.0, 2025, 10.0, 2020, 20.0, 2030, "higher")
    assert result.fraction == pytest.approx(0.5)
    assert result.expected == pytest.approx(0.5)
    assert result.status == "on_track"


def test_lagging_is_behind() -> None:
    result = compute_progress(12.0, 2025, 10.0, 2020, 20.0, 2030, "higher")
    assert result.status == "behind"


def test_lower_is_better() -> None:
    result = compute_progress(40.0, 2025, 50.0, 2020, 30.0, 2030, "lower")
    assert result.fraction == pytest.approx(0.5)
    assert result.status == "on_track"


def test_wrong_direction_is_negative() -> None:
    result = compute_progress(55.0, 2025, 50.0, 2020, 30.0, 2030, "lower")
    assert result.fraction == pytest.approx(-0.25)
    assert result.status == "behind"


def test_target_met_is_reached() -> None:
    assert compute_progress(29.0, 2025, 50.0, 2020, 30.0, 2030, "lower").status == "reached"


def test_target_equal_to_baseline() -> None:
    assert compute_progress(0.0, 2023, 0.0, 2023, 0.0, 2030, "lower").status == "reached"
    assert compute_progress(2.0, 2023, 0.0, 2023, 0.0, 2030, "lower").status == "behind"


def test_missing_value_is_gap() -> None:
    assert compute_progress(None, 2023, 1.0, 2023, 2.0, 2030, "higher").status == "gap"
    assert compute_progress(float("nan"), 2023, 1.0, 2023, 2.0, 2030, "higher").status == "gap"


def test_missing_target_value() -> None:
    assert compute_progress(1.0, 2023, None, 2023, None, 2030, "higher").status == "no_baseline"


def test_baseline_rounding_within_tolerance() -> None:
    result = compute_progress(58.53, 2023, 58.5, 2023, 50.0, 2027, "lower")
    assert result.status == "on_track"
