"""Random draws the generators share: finite Zipf ranks, a stateless hash, a seeded shuffle.

All three use O(1) memory however many items there are, so a 64 TiB region of 64-byte
items costs no more to generate than a small one.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

UInt64Array = npt.NDArray[np.uint64]
Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_SERIES_CUTOFF = 1e-8
"""Below this |t|, expm1(t)/t and log1p(t)/t are replaced by their series to avoid 0/0."""


def _expm1_over(t: FloatArray | float) -> FloatArray:
    t = np.asarray(t, dtype=np.float64)
    safe = np.where(np.abs(t) > _SERIES_CUTOFF, t, 1.0)
    return np.where(np.abs(t) > _SERIES_CUTOFF, np.expm1(safe) / safe, 1.0 + t / 2.0)


def _log1p_over(t: FloatArray | float) -> FloatArray:
    t = np.asarray(t, dtype=np.float64)
    safe = np.where(np.abs(t) > _SERIES_CUTOFF, t, 1.0)
    return np.where(np.abs(t) > _SERIES_CUTOFF, np.log1p(safe) / safe, 1.0 - t / 2.0)


class ZipfSampler:
    """Exact draws of ranks 0..items-1 with P(rank k) ∝ 1/(k+1)^alpha, in O(1) memory.

    Rejection-inversion (Hörmann and Derflinger, 1996): invert the integral H of the
    continuous density x^-alpha, round to the nearest integer, and accept with the exact
    ratio; a cumulative table would need 8 bytes per item and a binary search per draw.
    Works for every alpha ≥ 0 (H is written with expm1/log1p so that alpha = 1 is smooth).
    """

    def __init__(self, items: int, alpha: float) -> None:
        if items < 1:
            raise ValueError("a Zipf distribution needs at least one item")
        self.items = items
        self.alpha = alpha
        self._h_low = float(self._integral(1.5)) - 1.0
        self._h_high = float(self._integral(items + 0.5))
        self._squeeze = 2.0 - float(self._integral_inverse(self._integral(2.5) - 2.0**-alpha))

    def _integral(self, x: FloatArray | float) -> FloatArray:
        """H(x) = ∫₁ˣ t^-alpha dt."""
        log_x = np.log(x)
        return log_x * _expm1_over((1.0 - self.alpha) * log_x)

    def _integral_inverse(self, y: FloatArray | float) -> FloatArray:
        t = np.maximum(np.asarray(y) * (1.0 - self.alpha), -1.0)
        return np.exp(np.asarray(y) * _log1p_over(t))

    def sample(self, rng: np.random.Generator, count: int) -> Int64Array:
        """``count`` ranks, 0 the most popular."""
        ranks = np.empty(count, dtype=np.int64)
        todo = np.arange(count)
        while todo.size:
            u = self._h_high + rng.random(todo.size) * (self._h_low - self._h_high)
            x = self._integral_inverse(u)
            k = np.clip(np.floor(x + 0.5), 1, self.items)
            accept = (k - x <= self._squeeze) | (u >= self._integral(k + 0.5) - k**-self.alpha)
            ranks[todo[accept]] = k[accept].astype(np.int64) - 1
            todo = todo[~accept]
        return ranks


def mix64(values: UInt64Array) -> UInt64Array:
    """A 64-bit finaliser (SplitMix64's): a fixed, well-spread hash of each value."""
    z = values.astype(np.uint64, copy=True)
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


class Shuffle:
    """A seeded bijection of 0..items-1 computed per value, with no table.

    A four-round Feistel network permutes the smallest even-bit-width domain covering the
    items; values that land outside 0..items-1 are pushed through again ("cycle walking"),
    which stays a bijection and takes under four rounds on average.
    """

    _ROUNDS = 4

    def __init__(self, items: int, rng: np.random.Generator) -> None:
        self.items = items
        half_bits = max(1, (max(items - 1, 1).bit_length() + 1) // 2)
        self._half_bits = np.uint64(half_bits)
        self._half_mask = np.uint64((1 << half_bits) - 1)
        self._keys = [np.uint64(key) for key in rng.integers(0, 2**63, self._ROUNDS)]

    def _feistel(self, values: UInt64Array) -> UInt64Array:
        left = values >> self._half_bits
        right = values & self._half_mask
        for key in self._keys:
            left, right = right, left ^ (mix64(right ^ key) & self._half_mask)
        return (left << self._half_bits) | right

    def __call__(self, values: Int64Array) -> Int64Array:
        out = self._feistel(values.astype(np.uint64))
        outside = np.flatnonzero(out >= np.uint64(self.items))
        while outside.size:
            out[outside] = self._feistel(out[outside])
            outside = outside[out[outside] >= np.uint64(self.items)]
        return out.astype(np.int64)
