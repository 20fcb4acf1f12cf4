"""Robust statistics for baselines: median and MAD, and quantiles of log-binned histograms.

A feed's volumes are heavy-tailed and its history has gaps; the median and the median absolute
deviation ignore the odd spike that a mean and a standard deviation would chase.
"""

import functools
import math
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TypeVar

from scipy.special import betainc, gammainc

Number = TypeVar("Number", int, float)

MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of no values")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def median_of_ordered(ordered: Sequence[float]) -> float:
    """The median of values already sorted (Baseline's median, without the rest of it)."""
    count = len(ordered)
    if not count:
        raise ValueError("median of no values")
    middle = count // 2
    return float(ordered[middle]) if count % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(frozen=True, slots=True)
class Baseline:
    """Median, MAD, mean and 90th percentile of a series, with how many points it rests on."""

    median: float
    mad: float
    points: int
    mean: float = 0.0
    p90: float = 0.0
    variance: float = 0.0
    """Sample variance (n - 1), exact sums: the same whatever order the values came in."""

    @classmethod
    def of(cls, values: Sequence[float]) -> "Baseline":
        return cls.of_ordered(sorted(values), math.fsum(values))

    @classmethod
    def of_ordered(cls, ordered: Sequence[float], total: float) -> "Baseline":
        """From the values sorted and their total (exact totals keep the mean independent of
        the order the values came in)."""
        count = len(ordered)
        middle = count // 2
        centre = median_of_ordered(ordered)
        # |v - centre| falls, then rises, along the sorted values: two runs, merged in O(n).
        deviations = sorted([abs(v - centre) for v in ordered])
        mad = (
            float(deviations[middle])
            if count % 2
            else (deviations[middle - 1] + deviations[middle]) / 2
        )
        mean = total / count
        variance = (
            math.fsum((v - mean) * (v - mean) for v in ordered) / (count - 1) if count > 1 else 0.0
        )
        return cls(centre, mad, count, mean, ordered[min(count - 1, int(0.9 * count))], variance)

    @property
    def expected(self) -> float:
        """The usual level: the median; for a sparse key, idle in most windows (median 0),
        the mean, which is then the only measure that sees its activity at all."""
        return self.median if self.median > 0 else self.mean

    def robust_z(self, value: float, floor: float) -> float:
        """How many robust standard deviations value lies above the usual level.

        The scale never drops below `floor` or a tenth of the usual level, so a flat history
        (MAD 0) does not turn every small wobble into an infinite score.
        """
        scale = max(MAD_TO_SIGMA * self.mad, 0.1 * self.expected, floor)
        return (value - self.expected) / scale


class RollingSeries:
    """A series that grows at its new end and is cut at its old end, kept sorted beside, so
    that its Baseline after a step costs a few moves in C instead of a sort.

    >>> series = RollingSeries([3.0, 1.0])
    >>> series.push(2.0); series.drop_oldest()
    >>> series.baseline().median
    1.5
    """

    __slots__ = ("ordered", "points")

    def __init__(self, points: Iterable[float] = ()) -> None:
        self.points: deque[float] = deque(points)
        self.ordered = sorted(self.points)

    def push(self, value: float) -> None:
        self.points.append(value)
        insort(self.ordered, value)

    def drop_oldest(self) -> None:
        value = self.points.popleft()
        del self.ordered[bisect_left(self.ordered, value)]

    def baseline(self) -> Baseline:
        return Baseline.of_ordered(self.ordered, math.fsum(self.points))


@dataclass(frozen=True, slots=True)
class CountMoments:
    """A series of counts (whole numbers) as its length, sum and sum of squares, in integers:
    exact, so its mean and variance are the same whatever order the counts came in or however
    the series was reached (derived at once, or stepped on a day at a time).

    >>> CountMoments.of([2, 4, 6]).variance
    4.0
    """

    points: int
    total: int
    squares: int

    @classmethod
    def of(cls, counts: Iterable[float]) -> "CountMoments":
        whole = [int(c) for c in counts]
        return cls(len(whole), sum(whole), sum(c * c for c in whole))

    @property
    def mean(self) -> float:
        return self.total / self.points if self.points else 0.0

    @property
    def variance(self) -> float:
        """Sample variance (n - 1): (n·Σx² - (Σx)²) / (n·(n - 1)), one rounding."""
        n = self.points
        if n < 2:
            return 0.0
        return (n * self.squares - self.total * self.total) / (n * (n - 1))

    def threshold(self, alpha: float) -> int:
        """The least count whose tail probability is at most alpha (count_threshold), from a
        cache that keys with the same history share."""
        return _threshold_of(self.points, self.total, self.squares, alpha)


@functools.lru_cache(maxsize=1 << 16)
def _threshold_of(points: int, total: int, squares: int, alpha: float) -> int:
    moments = CountMoments(points, total, squares)
    return count_threshold(moments.mean, moments.variance, alpha)


def count_tail(x: float, mean: float, variance: float) -> float:
    """P(X >= x) for a count with this mean and variance: negative binomial when the counts
    are overdispersed (variance above the mean, as real trade is), Poisson otherwise.

    Both are regularised incomplete functions, from scipy's C library (cephes): the negative
    binomial's tail is I_q(k, r), the Poisson's P(k, mean); exact to about 1e-14 even in the
    far tail, in a couple of microseconds where a series took up to a hundred.

    >>> round(count_tail(5, 1.0, 1.0), 5)   # Poisson(1)
    0.00366
    """
    k = math.ceil(x)
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    if variance > mean:  # negative binomial: r successes, failure probability q per trial
        r = mean * mean / (variance - mean)
        return float(betainc(k, r, mean / (r + mean)))
    return float(gammainc(k, mean))


def count_threshold(mean: float, variance: float, alpha: float) -> int:
    """The least count above the mean whose tail probability (count_tail) is at most alpha
    (alpha < 1/2).

    The search starts where a normal approximation corrected for skewness puts the answer (it
    is that count or the next in most cases) and gallops from there, so it usually evaluates
    count_tail twice instead of the eight of a bisection from the mean; the answer is the same
    (the tail falls as the count rises).

    >>> count_threshold(3.0, 3.0, 1e-6)   # Poisson(3): P(X >= 15) < 1e-6 <= P(X >= 14)
    15
    """
    if mean <= 0:  # every count's tail is 0
        return 1
    floor = math.floor(mean)  # count_tail(floor) > alpha: at most the mean
    # Cornish-Fisher: the normal quantile corrected for the count's skewness. The variance is
    # the mean's at least, as count_tail takes a Poisson count then.
    spread = max(variance, mean)
    deviation = math.sqrt(spread)
    skew = (2 * spread - mean) / (mean * deviation)
    z = _normal_quantile(alpha)
    guess = max(floor + 1, math.ceil(mean + deviation * (z + (z * z - 1) * skew / 6)))
    if count_tail(guess, mean, variance) <= alpha:  # the answer is the guess or below it
        high, step = guess, 1
        while high - step > floor and count_tail(high - step, mean, variance) <= alpha:
            high -= step
            step *= 2
        low = max(floor, high - step)
    else:  # above it
        low, step = guess, 1
        while count_tail(low + step, mean, variance) > alpha:
            low += step
            step *= 2
        high = low + step
    while low + 1 < high:  # count_tail(low) > alpha >= count_tail(high)
        middle = (low + high) // 2
        if count_tail(middle, mean, variance) <= alpha:
            high = middle
        else:
            low = middle
    return high


@functools.cache
def _normal_quantile(alpha: float) -> float:
    """z with P(Z > z) = alpha for a standard normal Z."""
    return NormalDist().inv_cdf(1 - alpha)


def rolling_sums(series: Sequence[Number], size: int) -> list[Number]:
    """Sums of every run of `size` consecutive values, in O(len(series)).

    >>> rolling_sums([1, 2, 3, 4], 2)
    [3, 5, 7]
    """
    if size < 1 or len(series) < size:
        return []
    total = sum(series[:size])
    sums = [total]
    for i in range(size, len(series)):
        total += series[i] - series[i - size]
        sums.append(total)
    return sums


BINS_PER_DECADE = 16


def log_bin(value: float) -> int:
    """The histogram bin of a positive value: 16 bins per factor of ten (about 15% wide)."""
    return math.floor(math.log10(value) * BINS_PER_DECADE)


def bin_centre(index: int) -> float:
    return float(10 ** ((index + 0.5) / BINS_PER_DECADE))


def merge_histograms(histograms: Iterable[Mapping[int, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for histogram in histograms:
        for index, count in histogram.items():
            merged[index] = merged.get(index, 0) + count
    return merged


def histogram_quantiles(histogram: Mapping[int, int], quantiles: Sequence[float]) -> list[float]:
    """Approximate quantiles (bin centres) of a log-binned histogram; quantiles ascending."""
    total = sum(histogram.values())
    if total == 0:
        raise ValueError("quantiles of an empty histogram")
    results: list[float] = []
    wanted = iter(quantiles)
    target = next(wanted, None)
    seen = 0
    for index in sorted(histogram):
        seen += histogram[index]
        while target is not None and seen >= target * total:
            results.append(bin_centre(index))
            target = next(wanted, None)
    while target is not None:  # rounding at q == 1.0
        results.append(bin_centre(max(histogram)))
        target = next(wanted, None)
    return results
