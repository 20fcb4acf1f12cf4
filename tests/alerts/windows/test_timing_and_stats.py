import pytest

from alerts.windows.stats import (
    Baseline,
    bin_centre,
    histogram_quantiles,
    log_bin,
    median,
    rolling_sums,
)
from alerts.windows.timing import DAY_MS, day_of, window_start_days


@pytest.mark.parametrize(
    ("day", "size", "step", "starts"),
    [
        (10, 1, 1, [10]),  # tumbling day
        (10, 7, 1, [4, 5, 6, 7, 8, 9, 10]),  # hopping week: seven windows hold each day
        (10, 4, 2, [8, 10]),  # hop of two: only even starts
        (11, 4, 2, [8, 10]),  # the odd day in between belongs to the same two
        (11, 3, 2, [10]),  # [8, 11) ends before day 11: the boundary is exclusive
        (0, 3, 1, [-2, -1, 0]),  # before the epoch
    ],
)
def test_window_start_days(day: int, size: int, step: int, starts: list[int]) -> None:
    assert list(window_start_days(day, size, step)) == starts


@pytest.mark.parametrize(
    ("timestamp_ms", "day"),
    [
        (0, 0),
        (DAY_MS - 1, 0),  # last millisecond of day 0
        (DAY_MS, 1),  # midnight starts day 1
        (-1, -1),  # just before the epoch
    ],
)
def test_day_boundaries(timestamp_ms: int, day: int) -> None:
    assert day_of(timestamp_ms) == day


def test_bad_window_shape() -> None:
    with pytest.raises(ValueError, match="step_days"):
        window_start_days(1, 2, 3)


def test_median_and_mad_by_hand() -> None:
    baseline = Baseline.of([1, 2, 2, 3, 100])
    # median 2; deviations 1, 0, 0, 1, 98 -> MAD 1
    assert (baseline.median, baseline.mad, baseline.points) == (2, 1, 5)
    # scale = max(1.4826 * 1, 0.2, floor 1) = 1.4826; z of 12 = 10 / 1.4826
    assert baseline.robust_z(12, floor=1) == pytest.approx(6.745, abs=1e-3)
    assert median([4, 1, 3, 2]) == 2.5


def test_flat_history_uses_the_floor_not_zero() -> None:
    baseline = Baseline.of([0, 0, 0, 0])
    assert baseline.robust_z(5, floor=1) == 5.0


def test_sparse_key_compares_with_its_mean() -> None:
    # Idle in 3 of 4 windows: median 0, mean 2. Expected level 2, scale max(0, 0.2, 1) = 1.
    baseline = Baseline.of([0, 0, 0, 8])
    assert baseline.expected == 2
    assert baseline.robust_z(9, floor=1) == 7


def test_rolling_sums() -> None:
    assert rolling_sums([1, 2, 3, 4, 5], 3) == [6, 9, 12]
    assert rolling_sums([1, 2], 3) == []


def test_histogram_quantiles() -> None:
    histogram = {log_bin(10.0): 90, log_bin(1000.0): 10}
    p05, p50, p95 = histogram_quantiles(histogram, (0.05, 0.5, 0.95))
    assert p05 == p50 == bin_centre(log_bin(10.0))
    assert p95 == bin_centre(log_bin(1000.0))
    assert 9 < p50 < 12  # the bin around 10 is about 15% wide
