import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from alerts.windows.stats import (
    Baseline,
    CountMoments,
    bin_centre,
    count_threshold,
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


def _count_tail_as_first_written(x: float, mean: float, variance: float) -> float:
    """count_tail before its loops were written out (a function call per term): the
    reference the faster one must equal bit for bit, so that no threshold moves."""
    import math

    k = math.ceil(x)
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    if variance > mean:
        r = mean * mean / (variance - mean)
        q = mean / (r + mean)
        log_term = (
            math.lgamma(k + r) - math.lgamma(r) - math.lgamma(k + 1)
            + r * math.log1p(-q) + k * math.log(q)
        )  # fmt: skip

        def ratio(n: int) -> float:
            return (n + r) / (n + 1) * q
    else:
        log_term = k * math.log(mean) - mean - math.lgamma(k + 1)

        def ratio(n: int) -> float:
            return mean / (n + 1)

    term = math.exp(log_term)
    total = 0.0
    n = k
    while term > 0.0 and (term > total * 1e-16 or ratio(n) >= 1.0):
        total += term
        term *= ratio(n)
        n += 1
        if n - k > 100_000:
            break
    return min(1.0, total)


@settings(max_examples=2000, deadline=None)
@given(
    x=st.floats(0, 400),
    mean=st.floats(0, 200),
    spread=st.floats(0.2, 30),
)
def test_count_tail_agrees_with_the_series_it_replaced(
    x: float, mean: float, spread: float
) -> None:
    # The tail was a series summed upwards in Python; it is now scipy's incomplete beta and
    # gamma functions. Where the series could be summed at all, they agree to 1e-9 (the
    # thresholds are whole counts: they can only differ at a tie with alpha to that precision).
    from alerts.windows.stats import count_tail

    variance = mean * spread
    try:
        series = _count_tail_as_first_written(x, mean, variance)
    except ValueError:  # a mean too small for the series' logarithm
        assume(False)
    tail = count_tail(x, mean, variance)
    assert 0.0 <= tail <= 1.0
    if series > 1e-250:  # the series underflows first
        assert tail == pytest.approx(series, rel=1e-9)
    else:
        assert tail < 1e-240


def _threshold_by_bisection(mean: float, variance: float, alpha: float) -> int:
    """count_threshold as first written: bracket upwards from the mean, then bisect."""
    import math

    from alerts.windows.stats import count_tail

    low, high = max(0, math.floor(mean)), max(1, math.ceil(mean + 1))
    while count_tail(high, mean, variance) > alpha:
        low, high = high, high + (high - math.floor(mean)) * 2 + 1
    while low + 1 < high:
        middle = (low + high) // 2
        if count_tail(middle, mean, variance) <= alpha:
            high = middle
        else:
            low = middle
    return high


@settings(max_examples=3000, deadline=None)
@given(
    mean=st.one_of(st.just(0.0), st.floats(1e-3, 300)),  # means of counts: 0, or 1/n and up
    spread=st.floats(0.3, 40),
    alpha=st.sampled_from([1e-2, 1e-3, 1e-4, 1e-6, 1e-9]),
)
def test_count_threshold_finds_what_bisection_finds(
    mean: float, spread: float, alpha: float
) -> None:
    from alerts.windows.stats import count_threshold

    variance = mean * spread
    assert count_threshold(mean, variance, alpha) == _threshold_by_bisection(mean, variance, alpha)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=60), min_size=2, max_size=40))
def test_count_moments_are_exact_and_independent_of_order(counts: list[int]) -> None:
    # Baselines step on a day at a time (a push and a drop) or are derived at once: the same
    # history must give the same mean and variance, equal to the textbook ones.
    moments = CountMoments.of(counts)
    stepped = CountMoments.of(list(reversed(counts)))
    assert moments == stepped
    textbook = Baseline.of([float(c) for c in counts])
    assert moments.mean == pytest.approx(textbook.mean, rel=1e-12)
    assert moments.variance == pytest.approx(textbook.variance, rel=1e-9, abs=1e-12)
    alpha = 1e-6
    # one rounding apart can move the answer only at a tie of the tail with alpha: by one
    slack = 0 if moments.variance == textbook.variance else 1
    least = count_threshold(textbook.mean, textbook.variance, alpha)
    assert abs(moments.threshold(alpha) - least) <= slack
