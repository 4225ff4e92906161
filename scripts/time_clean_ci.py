"""Time `make test` on a clean clone of this repository and save it for the execution report.

    python scripts/time_clean_ci.py [--workdir DIR] [--cold-data-cache] [--no-save]

Clones the committed HEAD (commit first: uncommitted changes are not measured) into a fresh
folder, runs `make test` there with an empty pip cache, prints the record as JSON and, unless
--no-save, writes it to benchmarks/records/ci.json (commit that file). Set IFLLM_DATA as for CI.
Run it on an otherwise idle machine: on 2 cores, concurrent work moves the timings a lot.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ifl_utils import ci_time  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", help="fresh folder for the clone, pip cache and log "
                                      "(default: a new temporary folder)")
    ap.add_argument("--cold-data-cache", action="store_true",
                    help="also start from an empty IFLLM data cache")
    ap.add_argument("--no-save", action="store_true", help="print only; do not write ci.json")
    args = ap.parse_args(argv)
    record = ci_time.time_clean_clone(ROOT, args.workdir, cold_data_cache=args.cold_data_cache)
    print(json.dumps(record, indent=2))
    if record["returncode"] != 0:
        print(f"make test failed (exit {record['returncode']}); not saved. See {record['log']} "
              "in the work folder.", file=sys.stderr)
        return 1
    if not args.no_save:
        print(f"saved {ci_time.save(record, ROOT).relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
