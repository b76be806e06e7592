"""Access heatmap: time bins × address bins over the touched 2 MiB regions.

Regions are ordered by (pid, address) and laid end to end, so the gaps between a trace's code,
heap and stack vanish from the address axis; neighbouring regions then share address bins.
"""

from __future__ import annotations

from collections import Counter
from typing import Protocol

import numpy as np
import numpy.typing as npt

from pagelab._kernels.regions import REGION_SHIFT
from pagelab.results import Heatmap
from pagelab.units import PAGE_SIZES

I64 = npt.NDArray[np.int64]


class RegionSource(Protocol):
    @property
    def rows_used(self) -> int: ...

    def region_bases(self) -> tuple[I64, I64]: ...

    def first_touched_sizes(self) -> I64: ...


class HeatmapBuilder:
    """Collects per-epoch region access counts into at most ``time_bins`` time bins."""

    def __init__(
        self,
        time_bins: int,
        address_bins: int,
        total_accesses: int | None,
        epoch_accesses: int,
        tier_names: list[str] | None = None,
    ) -> None:
        self.tier_names = tier_names or []
        self.time_bins = time_bins
        self.address_bins = address_bins
        epochs = -(-total_accesses // epoch_accesses) if total_accesses else 0
        self.epochs_per_bin = max(1, -(-epochs // time_bins))
        self.bins: list[tuple[int, I64]] = []
        # Per time bin, accesses per (row, tier): what the cell's tier is decided from.
        self.tier_bins: list[I64] = []
        self.current_tiers: I64 = np.zeros((0, max(1, len(self.tier_names))), dtype=np.int64)
        self.current: I64 = np.zeros(0, dtype=np.int64)
        self.current_epochs = 0
        self.last_end = 0

    def add_epoch(
        self, accesses_end: int, region_accesses: I64, region_tiers: I64 | None = None
    ) -> None:
        """Add an epoch's accesses per region row; ``region_tiers``, with several tiers, is
        the tier holding most of each row's touched pages at the epoch's end."""
        self.current = _add(self.current, region_accesses)
        if region_tiers is not None:
            by_tier = np.zeros((region_accesses.shape[0], len(self.tier_names)), dtype=np.int64)
            by_tier[np.arange(region_accesses.shape[0]), region_tiers] = region_accesses
            self.current_tiers = _add(self.current_tiers, by_tier)
        self.current_epochs += 1
        self.last_end = accesses_end
        if self.current_epochs == self.epochs_per_bin:
            self._push()

    def _push(self) -> None:
        self.bins.append((self.last_end, self.current))
        self.tier_bins.append(self.current_tiers)
        self.current = np.zeros(0, dtype=np.int64)
        self.current_tiers = np.zeros_like(self.current_tiers[:0])
        self.current_epochs = 0
        if len(self.bins) > self.time_bins:
            # Too many bins: halve the time resolution from here on.
            merged = []
            merged_tiers = []
            for index in range(0, len(self.bins), 2):
                pair = self.bins[index : index + 2]
                total = pair[0][1]
                tiers = self.tier_bins[index]
                for offset, (_, counts) in enumerate(pair[1:], start=1):
                    total = _add(total, counts)
                    tiers = _add(tiers, self.tier_bins[index + offset])
                merged.append((pair[-1][0], total))
                merged_tiers.append(tiers)
            self.bins = merged
            self.tier_bins = merged_tiers
            self.epochs_per_bin *= 2

    def build(self, regions: RegionSource) -> Heatmap:
        if self.current_epochs:
            self._push()
        rows = regions.rows_used
        pids, bases = regions.region_bases()
        order = np.lexsort((bases, pids))
        groups = np.array_split(order, min(self.address_bins, rows)) if rows else []
        counts = np.zeros((len(self.bins), len(groups)), dtype=np.int64)
        for time_index, (_, per_row) in enumerate(self.bins):
            padded = np.zeros(rows, dtype=np.int64)
            padded[: per_row.shape[0]] = per_row
            for address_index, group in enumerate(groups):
                counts[time_index, address_index] = int(padded[group].sum())
        # Each cell's page size: the one mapping most of its regions' first touched pages
        # (ties: the one met first in address order); "" where nothing is mapped.
        row_sizes = regions.first_touched_sizes()
        page_sizes = []
        for group in groups:
            sizes: Counter[int] = Counter(row_sizes[group].tolist())
            size_id = sizes.most_common(1)[0][0]
            page_sizes.append(PAGE_SIZES[size_id] if size_id >= 0 else "")
        cell_tiers = None
        if len(self.tier_names) > 1:
            cell_tiers = np.zeros((len(self.bins), len(groups)), dtype=np.int64)
            for time_index, per_row in enumerate(self.tier_bins):
                padded = np.zeros((rows, len(self.tier_names)), dtype=np.int64)
                padded[: per_row.shape[0]] = per_row
                for address_index, group in enumerate(groups):
                    cell_tiers[time_index, address_index] = int(padded[group].sum(axis=0).argmax())
        return Heatmap(
            time_end_accesses=[end for end, _ in self.bins],
            address_start=[int(bases[group[0]]) for group in groups],
            address_bytes=[len(group) << REGION_SHIFT for group in groups],
            pid=[int(pids[group[0]]) for group in groups],
            counts=counts.tolist(),
            page_size=page_sizes,
            tier=None if cell_tiers is None else cell_tiers.tolist(),
            tier_names=self.tier_names if cell_tiers is not None else [],
        )


def _add(left: I64, right: I64) -> I64:
    """Sum two per-row count arrays (or tables with a row per region); rows appear over
    time, so the shorter one is padded."""
    if left.shape[0] < right.shape[0]:
        left, right = right, left
    total = left.copy()
    total[: right.shape[0]] += right
    return total
