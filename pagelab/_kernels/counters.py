"""Indices into the int64 counter array the access kernel updates.

Counters only grow; the simulator turns differences between epochs into series rows.
"""

ACCESSES = 0
STORES = 1
IFETCHES = 2
WALKS = 3
WALK_REFERENCES = 4
FAULTS = 5
TOUCHED_PAGES = 6
MEMORY_ACCESSES = 7
LLC_MISSES = 8
DEPOSIT_TABLES = 9
TLB_MISSES = 10  # + TLB level (up to 3 levels)
SIZES = 8  # translation sizes, as pagelab.units.PAGE_SIZES
RESIDENT_BYTES = 13  # + folio size id
FAULTS_BY_SIZE = RESIDENT_BYTES + SIZES  # + folio size id: faults that mapped such a folio
THP_ATTEMPTS = FAULTS_BY_SIZE + SIZES  # + folio size id: THP allocations tried
THP_FALLBACKS = THP_ATTEMPTS + SIZES  # + folio size id: of those, failed (a smaller size next)
# Memory work done inside faults (direct compaction, contiguous-range search), in frames:
# it stalls the faulting process, unlike kcompactd's.
STALL_PAGES_MIGRATED = THP_FALLBACKS + SIZES
STALL_PAGES_SCANNED = STALL_PAGES_MIGRATED + 1
KCOMPACTD_WAKES = STALL_PAGES_SCANNED + 1  # failed THP faults whose defrag mode wakes kcompactd
TIERS = 4  # memory tiers a machine may have: a page's tier is kept in two bits
TIER_MEMORY_ACCESSES = KCOMPACTD_WAKES + 1  # + tier: accesses that reached that tier's memory
TIER_RESIDENT_BYTES = TIER_MEMORY_ACCESSES + TIERS  # + tier: workload bytes held there
HINT_FAULTS = TIER_RESIDENT_BYTES + TIERS  # NUMA hint faults taken (tpp)
HINTS_DROPPED = HINT_FAULTS + 1  # hint faults the policy's buffer had no room to record
THP_SPLITS = HINTS_DROPPED + 1  # huge mappings split into smaller ones
LEVELS = 4  # page-table levels at most (a 4 KiB or 16 KiB granule over 48 bits)
LIVE_MAPPINGS = THP_SPLITS + 1  # + page-table level: leaf entries in place now
SPLITS_BY_SIZE = LIVE_MAPPINGS + LEVELS  # + folio size id: THPs of that size split
TLB_SHOOTDOWNS = SPLITS_BY_SIZE + SIZES  # TLB flushes of every CPU running the process
EVENTS = TLB_SHOOTDOWNS + 1  # + event kind (pagelab.events.EVENT_KINDS): workload events
EVENT_KINDS = 4
# Access-aware THP (``policies.access_aware``): collapses made and refused for want of a
# 2 MiB block, the 4 KiB pages each copied or cleared, and the compaction work its
# allocations did (kdamond's, not the application's: kept apart from STALL_PAGES_*).
THP_COLLAPSES = EVENTS + EVENT_KINDS
THP_COLLAPSE_FAILURES = THP_COLLAPSES + 1
COLLAPSE_PAGES_COPIED = THP_COLLAPSE_FAILURES + 1
COLLAPSE_PAGES_ZEROED = COLLAPSE_PAGES_COPIED + 1
COLLAPSE_PAGES_MIGRATED = COLLAPSE_PAGES_ZEROED + 1
COLLAPSE_PAGES_SCANNED = COLLAPSE_PAGES_MIGRATED + 1
# Shared memory (``_kernels.shared``): of FAULTS, those that found the page resident in its
# shared object and only mapped it (FAULTS_BY_SIZE counts only faults that allocate).
FAULTS_MINOR = COLLAPSE_PAGES_SCANNED + 1
SHARED_TABLES = FAULTS_MINOR + 1  # page-table pages mshare'd by every attached process
KHUGEPAGED_RANGES = SHARED_TABLES + 1  # 2 MiB ranges khugepaged looked at
COUNT = KHUGEPAGED_RANGES + 1

# Slots of the access kernel's ``state`` array: what it keeps between calls. The first two
# are the tables taken from each page-table pool (``pagetable.USED_UPPER`` / ``USED_PTES``).
STATE_UPPER_USED = 0
STATE_PTES_USED = 1
STATE_UPPER_CAP = 2
STATE_PTES_CAP = 3
STATE_ROWS_USED = 4
STATE_ROWS_CAP = 5
STATE_LAST_REGION = 6
STATE_LAST_ROW = 7
STATE_LAST_PAGE = 8
STATE_CLOCK = 9
STATE_LAST_LINE = 10
STATE_LAST_TIER = 11  # tier of STATE_LAST_PAGE's page
STATE_HINTS_USED = 12  # hint-fault records in the policy's buffer
STATE_PREFETCH_ROWS = 13  # regions in use from which the per-access loop prefetches
STATE_WIDTH = 14

# Kernel status codes, returned beside the index of the first access not yet simulated.
DONE = 0
NEED_TABLES = 1
NEED_REGIONS = 2
OUTSIDE_VMA = 3
NO_MAPPING = 4
OUT_OF_MEMORY = 5
