"""Trace readers: each format round-trips, every malformed input names its line or offset."""

from __future__ import annotations

import gzip
import lzma
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pagelab.errors import TraceError
from pagelab.workloads import AccessKind, Workload, build_workload
from pagelab.workloads.lines import READ_BYTES
from pagelab.workloads.spec import WorkloadSpec
from pagelab.workloads.traces import TraceSummary, check_trace

LS_TRACE = Path(__file__).resolve().parents[2] / "examples" / "traces" / "ls-lackey.txt.xz"

LACKEY = (
    "==4242== Lackey, an example Valgrind tool\n"
    "==4242== Copyright (C) 2002-2017, and GNU GPL'd, by Nicholas Nethercote et al.\n"
    "I  0401ab70,3\n"
    " S 1fff000758,8\n"
    " L 0484a223,8\n"
    "I  0401ab73,5\n"
    " M 04033e06,1\n"
    " L FFFFFFFFFFFF,16\n"
    "==4242== \n"
)
LACKEY_DATA = [(0x1FFF000758, AccessKind.STORE), (0x0484A223, AccessKind.LOAD)]
LACKEY_DATA += [(0x04033E06, AccessKind.STORE), (0xFFFFFFFFFFFF, AccessKind.LOAD)]
LACKEY_ALL = [(0x0401AB70, AccessKind.IFETCH), *LACKEY_DATA[:2], (0x0401AB73, AccessKind.IFETCH)]
LACKEY_ALL += LACKEY_DATA[2:]


def open_workload(path: Path, trace_format: str, **trace: Any) -> Workload:
    spec = WorkloadSpec.model_validate(
        {"trace": {"path": path.name, "format": trace_format, **trace}}
    )
    return build_workload(spec, seed=0, base_dir=path.parent)


def accesses(workload: Workload, chunk_accesses: int = 3) -> list[tuple[int, int]]:
    pairs: list[tuple[int, int]] = []
    for chunk in workload.chunks(chunk_accesses):
        assert 0 < len(chunk) <= chunk_accesses
        assert chunk.address.dtype == np.uint64 and chunk.kind.dtype == np.uint8
        pairs += zip(chunk.address.tolist(), chunk.kind.tolist(), strict=True)
    return pairs


def write(path: Path, text: str) -> Path:
    data = text.encode()
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data))
    elif path.suffix == ".xz":
        path.write_bytes(lzma.compress(data))
    else:
        path.write_bytes(data)
    return path


def location_of_error(path: Path, trace_format: str) -> str:
    with pytest.raises(TraceError) as caught:
        check_trace(path, trace_format)  # type: ignore[arg-type]
    return caught.value.location


@pytest.mark.parametrize("suffix", ["txt", "txt.gz", "txt.xz"])
def test_lackey_round_trip_plain_and_compressed(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path / f"trace.{suffix}", LACKEY)
    workload = open_workload(path, "lackey")
    assert workload.vmas is None and workload.total_accesses is None
    assert accesses(workload) == LACKEY_DATA
    assert accesses(open_workload(path, "lackey", include_instructions=True)) == LACKEY_ALL
    assert check_trace(path, "lackey") == TraceSummary(accesses=4, instructions=2, processes=1)


def test_lackey_last_line_may_lack_a_newline(tmp_path: Path) -> None:
    path = write(tmp_path / "trace.txt", " L 10,8\n S 20,4")
    assert accesses(open_workload(path, "lackey")) == [
        (0x10, AccessKind.LOAD),
        (0x20, AccessKind.STORE),
    ]


@pytest.mark.parametrize(
    "bad_line",
    [
        " X 1234,8",
        "I 1234,3",
        "L  1234,8",
        " L 12g4,8",
        " L 0x1234,8",
        " L 1234",
        " L ,8",
        " L 1234,",
        " L 1234,8x",
        " L 1234,8 ",
        " L 1234,-8",
        " L 12345678901234567,8",
        " L 1234,123456789",
        "",
        "hello",
        "= not a banner",
    ],
)
def test_malformed_lackey_line_is_named(tmp_path: Path, bad_line: str) -> None:
    path = write(tmp_path / "trace.txt", f"I  10,1\n L 20,8\n{bad_line}\n S 30,8\n")
    assert location_of_error(path, "lackey") == "line 3"
    with pytest.raises(TraceError, match="line 3"):
        accesses(open_workload(path, "lackey"))


def test_lackey_line_numbers_count_across_read_blocks(tmp_path: Path) -> None:
    good_lines = READ_BYTES // 10 + 5  # more bytes than one read: the error is in a later block
    path = write(tmp_path / "trace.txt.gz", " L 1234,8\n" * good_lines + " L zz,8\n")
    assert location_of_error(path, "lackey") == f"line {good_lines + 1}"


def test_lackey_streams_instead_of_reading_the_whole_file(tmp_path: Path) -> None:
    lines = 4 * READ_BYTES // 10
    path = write(tmp_path / "trace.txt", " L 1234,8\n" * lines + "garbage\n")
    chunks = open_workload(path, "lackey").chunks(1000)
    assert len(next(chunks)) == 1000  # the bad last line has not been read yet
    with pytest.raises(TraceError, match=f"line {lines + 1}"):
        for _ in chunks:
            pass


def test_corrupt_compressed_trace_is_a_trace_error(tmp_path: Path) -> None:
    path = tmp_path / "trace.txt.xz"
    path.write_bytes(lzma.compress(b" L 10,8\n" * 1000)[:-20])
    with pytest.raises(TraceError, match="cannot read"):
        check_trace(path, "lackey")


def test_address_beyond_48_bits_is_named(tmp_path: Path) -> None:
    lackey = write(tmp_path / "a.txt", " L 10,8\nI  1000000000000,4\n")
    assert location_of_error(lackey, "lackey") == "line 2"
    text = write(tmp_path / "b.txt", "0x10\n# note\n281474976710656\n")
    assert location_of_error(text, "text") == "line 3"
    huge = write(tmp_path / "b2.txt", "0x10\n99999999999999999999 S\n")  # beyond 64 bits too
    assert location_of_error(huge, "text") == "line 2"
    raw = tmp_path / "c.bin"
    np.array([1, 2, 2**48], dtype="<u8").tofile(raw)
    assert location_of_error(raw, "uint64") == "offset 16"
    npy = tmp_path / "d.npy"
    np.save(npy, np.array([5, 2**48 + 1, 7], dtype=np.uint64))
    assert location_of_error(npy, "npy") == "element 1"


def test_text_addresses_hex_decimal_comments_and_kinds(tmp_path: Path) -> None:
    path = write(
        tmp_path / "trace.txt",
        "# recorded by hand\n0x1000\n\n4096 S\n  0XfF l   # trailing comment\n007 s\n",
    )
    expected = [(0x1000, AccessKind.LOAD), (4096, AccessKind.STORE)]
    expected += [(0xFF, AccessKind.LOAD), (7, AccessKind.STORE)]
    assert accesses(open_workload(path, "text")) == expected
    assert check_trace(path, "text") == TraceSummary(accesses=4, instructions=0, processes=1)


@pytest.mark.parametrize("bad_line", ["0xZZ", "12 X", "1 L 3", "-5", "0x", "1.5", "12L"])
def test_malformed_text_line_is_named(tmp_path: Path, bad_line: str) -> None:
    path = write(tmp_path / "trace.txt", f"0x10\n\n{bad_line}\n20\n")
    assert location_of_error(path, "text") == "line 3"


def test_uint64_round_trip_across_pieces(tmp_path: Path) -> None:
    values = np.arange(70_000, dtype=np.uint64) * np.uint64(4096)  # more than one piece
    path = tmp_path / "trace.bin"
    values.astype("<u8").tofile(path)
    workload = open_workload(path, "uint64")
    assert workload.total_accesses == 70_000
    chunks = list(workload.chunks(30_000))
    assert [len(chunk) for chunk in chunks] == [30_000, 30_000, 10_000]
    np.testing.assert_array_equal(np.concatenate([chunk.address for chunk in chunks]), values)
    assert all((chunk.kind == AccessKind.LOAD).all() for chunk in chunks)


def test_uint64_partial_address_is_named_by_offset(tmp_path: Path) -> None:
    path = tmp_path / "trace.bin"
    path.write_bytes(bytes(8 * 3 + 5))
    assert location_of_error(path, "uint64") == "offset 24"
    with pytest.raises(TraceError, match="offset 24"):
        open_workload(path, "uint64")


@pytest.mark.parametrize("dtype", [np.uint64, np.int64, np.uint32, np.int16])
def test_npy_round_trip(tmp_path: Path, dtype: type[np.integer]) -> None:
    values = np.array([0, 64, 4096, 12_345], dtype=dtype)
    path = tmp_path / "trace.npy"
    np.save(path, values)
    workload = open_workload(path, "npy")
    assert workload.total_accesses == 4
    assert accesses(workload) == [(int(value), AccessKind.LOAD) for value in values]


@pytest.mark.parametrize(
    ("array", "location"),
    [
        (np.zeros((2, 2), dtype=np.uint64), "offset 0"),
        (np.zeros(3, dtype=np.float64), "offset 0"),
        (np.array([1, 2, -3, 4], dtype=np.int64), "element 2"),
    ],
)
def test_bad_npy_is_named(tmp_path: Path, array: np.ndarray, location: str) -> None:
    path = tmp_path / "trace.npy"
    np.save(path, array)
    assert location_of_error(path, "npy") == location


def test_file_that_is_not_npy_is_a_trace_error(tmp_path: Path) -> None:
    path = write(tmp_path / "trace.npy", "I am text\n")
    assert location_of_error(path, "npy") == "offset 0"


@pytest.mark.parametrize(("name", "trace_format"), [("a.txt", "lackey"), ("b.txt", "text")])
def test_empty_trace_is_rejected(tmp_path: Path, name: str, trace_format: str) -> None:
    path = write(tmp_path / name, "# nothing\n" if trace_format == "text" else "==1== hi\n")
    with pytest.raises(TraceError, match="no accesses"):
        check_trace(path, trace_format)  # type: ignore[arg-type]


def test_declared_vmas_are_given_to_the_simulator_and_enforced(tmp_path: Path) -> None:
    path = write(tmp_path / "trace.txt", "0x10000\n0x10fff\n0x20000\n")
    vmas = [{"start": "64K", "size_bytes": "4K", "thp_advice": "hugepage", "name": "[heap]"}]
    workload = open_workload(path, "text", vmas=vmas, pid=3)
    assert workload.vmas is not None
    (vma,) = workload.vmas
    assert (vma.pid, vma.start, vma.size_bytes, vma.thp_advice) == (3, 0x10000, 4096, "hugepage")
    with pytest.raises(TraceError, match="outside every declared VMA") as caught:
        list(workload.chunks(10))
    assert caught.value.location == "line 3"
    inside = open_workload(
        write(tmp_path / "ok.txt", "0x10000\n0x10fff\n"), "text", vmas=vmas, pid=3
    )
    assert [chunk.pid.tolist() for chunk in inside.chunks(10)] == [[3, 3]]


def test_trace_paths_stay_inside_the_trace_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    outside = write(tmp_path / "secret.txt", "0x10\n")
    for path in ("../secret.txt", str(outside), "missing.txt"):
        spec = WorkloadSpec.model_validate({"trace": {"path": path, "format": "text"}})
        with pytest.raises(TraceError):
            build_workload(spec, seed=0, base_dir=store)


def test_instructions_are_only_for_lackey() -> None:
    with pytest.raises(ValueError, match="only lackey"):
        WorkloadSpec.model_validate(
            {"trace": {"path": "t.txt", "format": "text", "include_instructions": True}}
        )


def test_overlapping_declared_vmas_are_rejected() -> None:
    vmas = [{"start": "64K", "size_bytes": "8K"}, {"start": "68K", "size_bytes": "4K"}]
    with pytest.raises(ValueError, match="overlap"):
        WorkloadSpec.model_validate({"trace": {"path": "t", "format": "text", "vmas": vmas}})


def test_real_ls_trace_parses_and_counts_match_a_line_loop() -> None:
    data_accesses = instructions = 0
    with lzma.open(LS_TRACE, "rt") as lines:
        for line in lines:
            if line.startswith("I"):
                instructions += 1
            elif line[:2] in (" L", " S", " M"):
                data_accesses += 1
    assert data_accesses > 50_000  # the file is the trace we think it is
    summary = check_trace(LS_TRACE, "lackey")
    assert summary == TraceSummary(data_accesses, instructions, processes=1)
    spec = WorkloadSpec.model_validate({"trace": {"path": str(LS_TRACE), "format": "lackey"}})
    workload = build_workload(spec, seed=0, base_dir=None)
    chunks = list(workload.chunks(10_000))
    assert sum(len(chunk) for chunk in chunks) == data_accesses
    assert all((chunk.kind != AccessKind.IFETCH).all() for chunk in chunks)
