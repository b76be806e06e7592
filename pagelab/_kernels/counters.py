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
ZEROED_BYTES = 10
TLB_MISSES = 11  # + TLB level (up to 3 levels)
RESIDENT_BYTES = 14  # + folio size id (8 sizes)
COUNT = 22

# Kernel status codes, returned beside the index of the first access not yet simulated.
DONE = 0
NEED_TABLES = 1
NEED_REGIONS = 2
OUTSIDE_VMA = 3
NO_MAPPING = 4
