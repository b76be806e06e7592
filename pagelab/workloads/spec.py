"""Workload specs: a seeded generator or a stored trace.

Each generator spec's docstring and field descriptions are shown to users: the catalogue
lists the docstring and the dashboard builds its form from the JSON schema.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from pagelab.units import MAX_ADDRESS_BYTES, Bytes, format_bytes

PAGE_BYTES = 4096
LINE_BYTES = 64
MAX_REGION_BYTES = 1 << 45
"""Largest region a generator maps: 32 TiB, so that a generator's regions (at most two
of this size) fit in the 127 TiB below the mmap area's top."""


def _whole_pages(value: int) -> int:
    if value % PAGE_BYTES:
        raise ValueError(f"{value} is not a whole number of 4K pages")
    return value


def _power_of_two(value: int) -> int:
    if value & (value - 1):
        raise ValueError(f"{value} is not a power of two")
    return value


PageBytes = Annotated[Bytes, AfterValidator(_whole_pages)]
"""A size or address that is a multiple of 4 KiB, as mmap gives."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _at_most(info: ValidationInfo, other: str, value: int, field: str) -> None:
    """Reject ``field`` larger than the already-validated field ``other``."""
    limit = info.data.get(other)
    if limit is not None and value > limit:
        raise ValueError(
            f"{field} ({format_bytes(value)}) is larger than {other} ({format_bytes(limit)})"
        )


class EventSpec(_Frozen):
    """A change the workload makes to one of its VMAs while it runs.

    ``munmap`` unmaps the range (the VMA loses it; page tables left with nothing to map are
    freed) after the generator's last access (its draws cover its whole VMAs),
    ``mprotect`` changes its protection (the VMA is split at the range's edges),
    ``madvise_dontneed`` drops its pages (a later access faults in new ones); each first
    splits the huge pages that straddle the range's edges (``policy.thp_split``).
    ``madvise_collapse`` collapses each 2 MiB range inside it that 4 KiB pages map into a
    THP, synchronously, whatever the THP settings (MADV_COLLAPSE).
    """

    kind: Literal["munmap", "mprotect", "madvise_dontneed", "madvise_collapse"] = Field(
        description=(
            "What happens: munmap, mprotect, madvise_dontneed (MADV_DONTNEED) or "
            "madvise_collapse (MADV_COLLAPSE)."
        )
    )
    at_access: int = Field(
        ge=0,
        le=10_000_000_000,
        description=(
            "Index of the access the event comes before (count; 0 = before the first, "
            "accesses = after the last)."
        ),
    )
    vma: str = Field(
        default="",
        max_length=64,
        description=(
            "Name of the generator's VMA (e.g. region, heap, weights, shared); empty: the "
            "process's first VMA."
        ),
    )
    pid: int = Field(default=0, ge=0, le=65535, description="Process whose VMA it is.")
    offset_bytes: PageBytes = Field(
        default=0, ge=0, le=MAX_REGION_BYTES, description="Where the range starts in the VMA."
    )
    size_bytes: PageBytes = Field(
        ge=PAGE_BYTES, le=MAX_REGION_BYTES, description="Size of the range, in bytes."
    )


NAME_DESCRIPTION = "Which generator runs; the other fields are its parameters."
"""The description of every generator spec's ``name``, which chooses the generator."""


class _GeneratorBase(_Frozen):
    """Parameters every generator has."""

    accesses: int = Field(
        default=1_000_000,
        ge=1,
        le=10_000_000_000,
        description="How many accesses to generate (count).",
    )
    store_fraction: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="Fraction of accesses that are stores, drawn at random (0 to 1).",
    )
    align_bytes: PageBytes = Field(
        default=2 << 20,
        ge=PAGE_BYTES,
        le=1 << 30,
        description=(
            "Alignment of each VMA's start, in bytes (power of two, 4K to 1G). A start is a "
            "multiple of align_bytes but not of twice it, so 4K or 64K gives VMAs that "
            "huge pages cannot map at their edges, and 1G lets 1 GiB THPs fit."
        ),
    )

    thp_advice: Literal["default", "hugepage", "nohugepage"] = Field(
        default="default",
        description=(
            "madvise() on the generator's VMAs: hugepage (MADV_HUGEPAGE, what THP madvise "
            "mode and the defrag modes look for), nohugepage, or none (default)."
        ),
    )

    events: list[EventSpec] = Field(
        default_factory=list,
        max_length=1024,
        description=(
            "munmap, mprotect, MADV_DONTNEED and MADV_COLLAPSE of ranges of the generator's "
            "VMAs, each before a given access."
        ),
    )

    @field_validator("align_bytes")
    @classmethod
    def _align_is_power_of_two(cls, value: int) -> int:
        return _power_of_two(value)

    @field_validator("events")
    @classmethod
    def _events_within_the_run(cls, value: list[EventSpec], info: ValidationInfo) -> list[
        EventSpec
    ]:  # fmt: skip
        accesses = info.data.get("accesses")
        for index, event in enumerate(value):
            if accesses is None:
                break
            if event.at_access > accesses:
                raise ValueError(
                    f"events.{index}.at_access ({event.at_access}) is beyond the run's "
                    f"{accesses} accesses"
                )
            if event.kind == "munmap" and event.at_access < accesses:
                # An access to an unmapped range is a segfault, and a generator keeps
                # drawing addresses all over its VMAs.
                raise ValueError(
                    f"events.{index}: a generator keeps drawing addresses all over its VMAs, "
                    f"so its munmap must come after its last access (at_access = {accesses}); "
                    "to drop pages part-way through, use madvise_dontneed"
                )
        return value


def _region_field(default: int, description: str) -> int:
    """A region size: whole pages, at least one, at most ``MAX_REGION_BYTES``."""
    return Field(default=default, ge=PAGE_BYTES, le=MAX_REGION_BYTES, description=description)


class UniformSpec(_GeneratorBase):
    """Uniformly random accesses over one anonymous region: no locality at all.

    Every cache line of the region is equally likely, so the TLB reach needed is the whole
    region. The baseline for how much a larger page or a huge page helps when nothing is hot.
    """

    name: Literal["uniform"] = Field(default="uniform", description=NAME_DESCRIPTION)
    size_bytes: PageBytes = _region_field(1 << 30, "Size of the region, in bytes.")


class ZipfSpec(_GeneratorBase):
    """Zipf-popular items over one anonymous region: a skewed hot set, as in caches and YCSB.

    The region is cut into items of ``item_bytes``; the item of popularity rank k is chosen
    with probability proportional to 1/k^alpha (exactly, over the finite set of items), and
    a random cache line inside it is accessed. With ``scatter`` the hot items are spread over
    the region by a seeded shuffle, so a huge page holds a mix of hot and cold items;
    without it the hottest items sit together at the region's start.
    """

    name: Literal["zipf"] = Field(default="zipf", description=NAME_DESCRIPTION)
    size_bytes: PageBytes = _region_field(1 << 30, "Size of the region, in bytes.")
    item_bytes: Bytes = Field(
        default=PAGE_BYTES,
        ge=LINE_BYTES,
        le=1 << 30,
        description="Size of one item (the unit of popularity), in bytes; a multiple of 64.",
    )
    alpha: float = Field(
        default=1.0,
        ge=0.0,
        le=5.0,
        description="Zipf exponent (0 = uniform; 0.99 is YCSB's default; larger = more skewed).",
    )
    scatter: bool = Field(
        default=True,
        description="Spread hot items through the region (true) or pack them at its start.",
    )

    @field_validator("item_bytes")
    @classmethod
    def _item_fits(cls, value: int, info: ValidationInfo) -> int:
        if value % LINE_BYTES:
            raise ValueError(f"item_bytes ({value}) is not a multiple of 64")
        _at_most(info, "size_bytes", value, "item_bytes")
        return value


class ScanSpec(_GeneratorBase):
    """A sequential or strided scan of one region, restarting at its start after each pass.

    ``stride_bytes`` 64 reads every cache line in order (a streaming copy or checksum);
    4096 touches one line per 4 KiB page, the pattern that exhausts a TLB fastest. Give
    ``passes`` instead of ``accesses`` to run exactly that many sweeps.
    """

    name: Literal["scan"] = Field(default="scan", description=NAME_DESCRIPTION)
    size_bytes: PageBytes = _region_field(1 << 30, "Size of the region, in bytes.")
    stride_bytes: Bytes = Field(
        default=LINE_BYTES,
        ge=1,
        le=MAX_REGION_BYTES,
        description="Distance between consecutive accesses, in bytes.",
    )
    passes: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="Number of sweeps over the region; sets accesses when given (count).",
    )

    @model_validator(mode="before")
    @classmethod
    def _accesses_from_passes(cls, data: object) -> object:
        """Fill ``accesses`` from ``passes``; both given must agree."""
        if not isinstance(data, dict) or data.get("passes") is None:
            return data
        try:
            probe = cls.model_validate({**data, "passes": None, "accesses": 1})
            passes = int(data["passes"])
        except (ValueError, TypeError):
            return data  # field validation reports the bad field itself
        if passes < 1:
            return data
        accesses = passes * probe.accesses_per_pass
        given = data.get("accesses")
        if given is not None and given != accesses:
            raise ValueError(
                f"accesses ({given}) disagrees with passes ({passes} passes of "
                f"{probe.accesses_per_pass} accesses); give only one of them"
            )
        return {**data, "accesses": accesses}

    @field_validator("stride_bytes")
    @classmethod
    def _stride_fits(cls, value: int, info: ValidationInfo) -> int:
        _at_most(info, "size_bytes", value, "stride_bytes")
        return value

    @property
    def accesses_per_pass(self) -> int:
        return -(-self.size_bytes // self.stride_bytes)


class PhaseSpec(_GeneratorBase):
    """A hot set that moves: program phases, each with its own working set.

    Every ``phase_accesses`` accesses the hot set (``hot_set_bytes``, contiguous) moves to a
    new random place in the region; ``hot_fraction`` of accesses go to it and the rest are
    uniform over the whole region. Tests how fast tiering and THP policies follow a change.
    """

    name: Literal["phase"] = Field(default="phase", description=NAME_DESCRIPTION)
    size_bytes: PageBytes = _region_field(4 << 30, "Size of the region, in bytes.")
    hot_set_bytes: PageBytes = _region_field(256 << 20, "Size of the hot set, in bytes.")
    phase_accesses: int = Field(
        default=1_000_000,
        ge=1,
        le=10_000_000_000,
        description="Accesses per phase before the hot set moves (count).",
    )
    hot_fraction: float = Field(
        default=0.9,
        ge=0.0,
        le=1.0,
        description="Fraction of accesses that go to the hot set (0 to 1).",
    )

    @field_validator("hot_set_bytes")
    @classmethod
    def _hot_set_fits(cls, value: int, info: ValidationInfo) -> int:
        _at_most(info, "size_bytes", value, "hot_set_bytes")
        return value


class KvStoreSpec(_GeneratorBase):
    """A key-value store: many large allocations, each touched in only a few cache lines.

    ``objects`` allocations of sizes spread log-uniformly from ``min_object_bytes`` to
    ``max_object_bytes`` lie back to back (page-aligned) in one heap. Each object has
    ``touched_lines_per_object`` fixed cache lines (one in each equal slice of the object),
    and objects are chosen with Zipf popularity ``alpha``. Sparse touches inside big
    allocations are what makes 64 KiB pages and THP bloat memory.
    """

    name: Literal["kvstore"] = Field(default="kvstore", description=NAME_DESCRIPTION)
    objects: int = Field(
        default=10_000, ge=1, le=1 << 20, description="Number of allocations (count)."
    )
    min_object_bytes: PageBytes = Field(
        default=PAGE_BYTES,
        ge=PAGE_BYTES,
        le=1 << 30,
        description="Smallest allocation, in bytes.",
    )
    max_object_bytes: PageBytes = Field(
        default=2 << 20,
        ge=PAGE_BYTES,
        le=1 << 30,
        description="Largest allocation, in bytes.",
    )
    touched_lines_per_object: int = Field(
        default=2,
        ge=1,
        le=PAGE_BYTES // LINE_BYTES,
        description="Distinct 64-byte cache lines accessed in each object (count).",
    )
    alpha: float = Field(
        default=0.99,
        ge=0.0,
        le=5.0,
        description="Zipf exponent of object popularity (0 = uniform).",
    )

    @field_validator("max_object_bytes")
    @classmethod
    def _max_fits(cls, value: int, info: ValidationInfo) -> int:
        smallest = info.data.get("min_object_bytes")
        if smallest is not None and value < smallest:
            raise ValueError(
                f"max_object_bytes ({format_bytes(value)}) is smaller than "
                f"min_object_bytes ({format_bytes(smallest)})"
            )
        objects = info.data.get("objects")
        if objects is not None and objects * value > MAX_REGION_BYTES:
            raise ValueError(
                f"{objects} objects of up to {format_bytes(value)} could exceed the "
                f"{format_bytes(MAX_REGION_BYTES)} heap limit"
            )
        return value


class SharedSpec(_GeneratorBase):
    """Several processes sharing one region, as with mshare, databases or Android's zygote.

    Processes 0 to ``processes``-1 map the same shmem object of ``shared_bytes`` at the same
    virtual address, plus a private anonymous region each. Each process runs a burst of
    ``burst_accesses`` uniformly random accesses in turn (``shared_fraction`` of them to the
    shared region). The object's frames are allocated once (a process that faults on a page
    another made resident takes a minor fault); every process builds its own page tables for
    it, unless ``policy.mshare`` shares them. The shared region sits alone in the span one
    top-level page-table entry maps (512 GiB with 4 KiB pages), as an mshare region must,
    with or without mshare.
    """

    name: Literal["shared"] = Field(default="shared", description=NAME_DESCRIPTION)
    processes: int = Field(default=8, ge=1, le=1024, description="Number of processes (count).")
    shared_bytes: PageBytes = _region_field(1 << 30, "Size of the shared region, in bytes.")
    private_bytes: PageBytes = _region_field(
        64 << 20, "Size of each process's private region, in bytes."
    )
    shared_fraction: float = Field(
        default=0.8,
        ge=0.0,
        le=1.0,
        description="Fraction of accesses that go to the shared region (0 to 1).",
    )
    burst_accesses: int = Field(
        default=10_000,
        ge=1,
        le=1_000_000_000,
        description="Accesses a process makes before the next one runs (count).",
    )


class GraphSpec(_GeneratorBase):
    """Random walks over a graph stored as compressed sparse rows (CSR), as in graph analytics.

    The graph has ``vertices`` vertices with heavy-tailed degrees averaging
    ``average_degree``, laid out as three arrays: row offsets (8 bytes per vertex), edges
    (4 bytes per edge) and a value per vertex (8 bytes). ``walkers`` independent walks
    advance in lock step; each step reads a vertex's offset, one of its edges, and the
    neighbour's value, and restarts at a random vertex with ``restart_probability``.
    Neighbours are random, so there is little locality beyond the offsets array.
    """

    name: Literal["graph"] = Field(default="graph", description=NAME_DESCRIPTION)
    vertices: int = Field(
        default=1 << 20, ge=2, le=1 << 24, description="Number of vertices (count)."
    )
    average_degree: int = Field(
        default=16, ge=1, le=1024, description="Mean number of edges per vertex (count)."
    )
    walkers: int = Field(
        default=256, ge=1, le=1 << 16, description="Concurrent random walks (count)."
    )
    restart_probability: float = Field(
        default=0.15,
        ge=0.0,
        le=1.0,
        description="Chance per step that a walk jumps to a random vertex (0 to 1).",
    )


class LlmSpec(_GeneratorBase):
    """LLM inference decoding tokens: streamed weights plus a hot, growing KV cache.

    For each generated token, each of ``layers`` layers streams its slice of the weights
    (``weights_bytes`` in all), reads the cached keys and values of every token in the
    context and appends its own (``kv_bytes_per_token`` over all layers). The KV cache is
    a ring of ``kv_cache_bytes``; once full, the oldest tokens are overwritten. Streams are
    sampled one access per ``stride_bytes``. The first token starts after a prompt of
    ``prompt_tokens`` tokens already in the cache.
    """

    name: Literal["llm"] = Field(default="llm", description=NAME_DESCRIPTION)
    accesses: int = Field(
        default=10_000_000,
        ge=1,
        le=10_000_000_000,
        description="How many accesses to generate (count).",
    )
    store_fraction: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description=(
            "Fraction of accesses made stores at random, besides the KV-cache appends, "
            "which are always stores (0 to 1)."
        ),
    )
    layers: int = Field(default=24, ge=1, le=1024, description="Number of layers (count).")
    weights_bytes: PageBytes = _region_field(1 << 30, "Size of the model weights, in bytes.")
    kv_cache_bytes: PageBytes = _region_field(256 << 20, "Size of the KV cache, in bytes.")
    kv_bytes_per_token: Bytes = Field(
        default=96 << 10,
        ge=LINE_BYTES,
        le=1 << 30,
        description="KV-cache bytes one token adds over all layers (a multiple of 64 × layers).",
    )
    prompt_tokens: int = Field(
        default=1024,
        ge=0,
        le=1 << 24,
        description="Tokens already in the KV cache when decoding starts (count).",
    )
    stride_bytes: Bytes = Field(
        default=PAGE_BYTES,
        ge=LINE_BYTES,
        le=1 << 30,
        description="Distance between sampled accesses of a streamed array, in bytes.",
    )

    @field_validator("weights_bytes")
    @classmethod
    def _weights_fit_layers(cls, value: int, info: ValidationInfo) -> int:
        layers = info.data.get("layers")
        if layers is not None and value < layers * LINE_BYTES:
            raise ValueError(f"weights_bytes ({value}) is less than 64 bytes per layer")
        return value

    @field_validator("kv_bytes_per_token")
    @classmethod
    def _kv_token_fits(cls, value: int, info: ValidationInfo) -> int:
        layers = info.data.get("layers")
        if layers is not None and value % (layers * LINE_BYTES):
            raise ValueError(
                f"kv_bytes_per_token ({value}) is not a multiple of 64 × layers ({layers})"
            )
        _at_most(info, "kv_cache_bytes", value, "kv_bytes_per_token")
        return value


# A new generator is added here, and only here: the registry below is built from this union.
_GeneratorUnion = (
    UniformSpec | ZipfSpec | ScanSpec | PhaseSpec | KvStoreSpec | SharedSpec | GraphSpec | LlmSpec
)
GeneratorSpec = Annotated[_GeneratorUnion, Field(discriminator="name")]


def _generator_name(spec_class: type[_GeneratorBase]) -> str:
    """The ``name`` a spec class answers to: the one value of its ``Literal`` field."""
    (name,) = get_args(spec_class.model_fields["name"].annotation)
    return str(name)


GENERATORS: dict[str, type[_GeneratorBase]] = {
    _generator_name(spec_class): spec_class for spec_class in get_args(_GeneratorUnion)
}
"""Generator name → spec class, in the order of the union (the order the catalogue lists)."""


TraceFormat = Literal["lackey", "text", "uint64", "npy"]

VmaBackingName = Literal["anon", "file", "shmem"]
ThpAdviceName = Literal["default", "hugepage", "nohugepage"]


class TraceVmaSpec(_Frozen):
    """One VMA the trace's process had, as /proc/PID/maps showed it."""

    start: PageBytes = Field(
        ge=0, lt=MAX_ADDRESS_BYTES, description="Start address, in bytes (4K-aligned)."
    )
    size_bytes: PageBytes = Field(
        ge=PAGE_BYTES, le=MAX_ADDRESS_BYTES, description="Size, in bytes (whole 4K pages)."
    )
    backing: VmaBackingName = Field(
        default="anon", description="What backs the VMA: anonymous memory, a file or shmem."
    )
    thp_advice: ThpAdviceName = Field(
        default="default", description="The process's madvise(): hugepage, nohugepage or none."
    )
    name: str = Field(default="", max_length=64, description="A label, e.g. [heap].")

    @model_validator(mode="after")
    def _below_address_limit(self) -> TraceVmaSpec:
        if self.start + self.size_bytes > MAX_ADDRESS_BYTES:
            raise ValueError("the VMA ends beyond the 48-bit address space")
        return self


class TraceSpec(_Frozen):
    """A recorded trace, read in chunks.

    Formats: ``lackey`` (valgrind --tool=lackey --trace-mem=yes output, plain or ``.gz`` /
    ``.xz``), ``text`` (one address per line, hex ``0x…`` or decimal, optional ``L``/``S``
    column, ``#`` comments), ``uint64`` (raw little-endian 64-bit addresses) and ``npy``
    (a 1-D integer NumPy array). Lackey and text traces may hold event lines between
    accesses, ``munmap START SIZE``, ``mprotect START SIZE`` or ``madvise_dontneed START
    SIZE``, as a generator's ``events``. Without ``vmas`` the simulator infers VMAs from
    the addresses touched.
    """

    path: str = Field(
        min_length=1, max_length=4096, description="Trace file, relative to the trace store."
    )
    format: TraceFormat = Field(description="File format of the trace.")
    include_instructions: bool = Field(
        default=False, description="Also simulate instruction fetches (lackey 'I' lines)."
    )
    pid: int = Field(default=0, ge=0, le=65535, description="Process id given to the accesses.")
    vmas: list[TraceVmaSpec] | None = Field(
        default=None, max_length=1024, description="The process's VMAs, if known."
    )

    @field_validator("include_instructions")
    @classmethod
    def _instructions_need_lackey(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("format") not in (None, "lackey"):
            raise ValueError("only lackey traces record instruction fetches")
        return value

    @field_validator("vmas")
    @classmethod
    def _vmas_disjoint(cls, value: list[TraceVmaSpec] | None) -> list[TraceVmaSpec] | None:
        if value is None:
            return None
        ordered = sorted(value, key=lambda vma: vma.start)
        for before, after in itertools.pairwise(ordered):
            if after.start < before.start + before.size_bytes:
                raise ValueError(f"VMAs at {after.start:#x} and {before.start:#x} overlap")
        return value


class WorkloadSpec(_Frozen):
    """Exactly one of ``generator`` or ``trace``."""

    generator: GeneratorSpec | None = Field(
        default=None,
        description="A seeded generator, chosen by name, with its parameters.",
    )
    trace: TraceSpec | None = Field(
        default=None, description="A recorded trace: its file, format and VMAs."
    )

    @model_validator(mode="after")
    def _one_source(self) -> WorkloadSpec:
        if (self.generator is None) == (self.trace is None):
            raise ValueError("give exactly one of 'generator' or 'trace'")
        return self
