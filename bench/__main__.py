"""Run the benchmarks: ``python -m bench [NAME ...] [--quick] [--device DEV]``."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import time
from pathlib import Path

# In the order a reader meets the system; a name whose module does not exist yet is skipped.
BENCHMARKS = ("kg", "causal", "vision", "gnn", "qa", "dialogue", "tabletop", "video", "scale", "web", "gpu")
RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes; all benchmarks in under 2 minutes")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default: auto)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"where JSON goes (default: {RESULTS})")
    args = parser.parse_args(argv)

    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = args.names or [n for n in BENCHMARKS if importlib.util.find_spec(f"bench.{n}") is not None]
    if not names:
        print("no benchmarks are present yet")
        return 0
    out = args.out / ("quick" if args.quick else "full")
    failed: list[str] = []
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        start = time.perf_counter()
        report = module.run(quick=args.quick, device=args.device, out=out)
        report.print_table()
        path = report.write_json(out)
        print(f"{name}: {time.perf_counter() - start:.1f} s, wrote {path}")
        failed.extend(f"{name}: {msg}" for msg in report.failures())
    if failed:
        print(f"{len(failed)} gate(s) failed:", *failed, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
