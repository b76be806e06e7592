"""Instructions per simulated access in the compiled per-access path, counted by callgrind.

Accesses per second on a shared 2-core machine vary by ±30% with whatever else runs, and
this machine's CPU counters are not available to ``perf``; valgrind's instruction count
does not depend on load, so it shows whether a kernel change made the per-access path
cheaper. The workload is scenario a of ``benchmarks/engine.py`` (Skylake, 4K pages, no LLC,
zipf over 1 GiB): the first chunk (every fault) runs uncounted, the next ``--chunks`` are
counted. Needs valgrind; takes a few minutes.

    .venv/bin/python benchmarks/instructions.py [--alpha 1.3]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pagelab
from pagelab.simulate import check_spec
from pagelab.translation import Translator
from pagelab.workloads import build_workload

CHUNK_ACCESSES = 1 << 20


def _spec(alpha: float, accesses: int) -> pagelab.Spec:
    generator = {"name": "zipf", "size_bytes": "1G", "alpha": alpha, "accesses": accesses}
    return pagelab.load_spec(
        {
            "workload": {"generator": generator},
            "machine": {"preset": "skylake", "llc": "none"},
            "policy": {"base_page": "4K", "thp": "never"},
        }
    )


def child(alpha: float, chunks: int) -> None:
    """Run under valgrind: warm up, then simulate the counted chunks between two handshakes
    with the parent, which switches callgrind's instrumentation on and off around them."""
    spec = _spec(alpha, (chunks + 1) * CHUNK_ACCESSES)
    workload = build_workload(spec.workload, seed=1, base_dir=None)
    machine, plan = check_spec(spec)
    assert workload.vmas is not None  # a generator declares its VMAs
    translator = Translator(machine, plan, workload.vmas, spec.policy)
    all_chunks = list(workload.chunks(CHUNK_ACCESSES))
    translator.run(all_chunks[0], 0, len(all_chunks[0]))
    print("ready", flush=True)
    sys.stdin.readline()
    for chunk in all_chunks[1:]:
        translator.run(chunk, 0, len(chunk))
    print("done", flush=True)
    sys.stdin.readline()


def _handshake(process: subprocess.Popen[str], expect: str) -> None:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if line != expect:
        raise SystemExit(f"benchmark child said {line!r}, expected {expect!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alpha", type=float, default=1.0, help="zipf exponent (default 1.0)")
    parser.add_argument("--chunks", type=int, default=2, help="counted chunks of 2^20 accesses")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.alpha, args.chunks)
        return 0

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--branch-sim=yes",
                    f"--callgrind-out-file={out}", "--log-file=/dev/null"]  # fmt: skip
        child_args = ["--child", f"--alpha={args.alpha}", f"--chunks={args.chunks}"]
        command = [*valgrind, sys.executable, __file__, *child_args]
        with subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        ) as process:
            assert process.stdin is not None
            _handshake(process, "ready")
            subprocess.run(["callgrind_control", "-i", "on", str(process.pid)], check=True,
                           capture_output=True)  # fmt: skip
            process.stdin.write("go\n")
            process.stdin.flush()
            _handshake(process, "done")
            subprocess.run(["callgrind_control", "-i", "off", str(process.pid)], check=True,
                           capture_output=True)  # fmt: skip
            process.stdin.write("exit\n")
            process.stdin.flush()
        text = out.read_text()
    events = re.search(r"^events: (.*)$", text, re.MULTILINE)
    totals = re.search(r"^totals: (.*)$", text, re.MULTILINE)
    assert events is not None and totals is not None
    counted = dict(zip(events[1].split(), map(int, totals[1].split()), strict=True))
    accesses = args.chunks * CHUNK_ACCESSES
    print(f"zipf 1 GiB alpha {args.alpha}, {accesses:,} accesses after warm-up, per access:")
    print(f"  instructions          {counted['Ir'] / accesses:8.1f}")
    print(f"  conditional branches  {counted['Bc'] / accesses:8.1f}")
    print(f"  mispredicted (model)  {counted['Bcm'] / accesses:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
