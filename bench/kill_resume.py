#!/usr/bin/env python3
"""kill -9 a stage run at N random moments (the driver, or one worker), rerun it each time, and check the
outputs are byte-identical to one uninterrupted run: zero lost or duplicated documents, no half-written file.

    python bench/kill_resume.py --corpus /tmp/bench/corpus --limit-mb 20 --kills 20

Prints one row per kill point and a summary. Stages other than `tag` are checked the same way by passing
their argv after `--`: `python bench/kill_resume.py --out DIR -- mix -c my_mix.yaml` (DIR = what they write).
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the harness lives in tests/
from tests.resume_check import kill_and_resume, run_to_completion, snapshot


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="/tmp/bench/corpus")
    ap.add_argument("--limit-mb", type=float, default=20.0, help="stored MB of documents to tag")
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="the output folder of a custom command")
    ap.add_argument("argv", nargs="*", help="a custom dolma command (after --)")
    args = ap.parse_args()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="dolma-kill-") as tmp:
        if args.argv:
            argv, out = args.argv, args.out
        else:
            docs = os.path.join(tmp, "documents")
            os.makedirs(docs)
            total = 0
            for path in sorted(glob.glob(os.path.join(args.corpus, "*", "documents", "*.jsonl.gz")))[::3]:
                if total >= args.limit_mb * 1e6:
                    break
                shutil.copy(path, docs)
                total += os.path.getsize(path)
            argv = ["tag", "--documents", f"{docs}/*.gz", "--experiment", "k", "--processes", "2",
                    "--taggers", "gopher_v1", "c4_v2", "pii_regex_with_counts_fast_v2", "random_number_v1"]
            out = os.path.join(tmp, "attributes")
        seconds = run_to_completion(argv)
        expected = snapshot(out)
        print(f"uninterrupted: {seconds:.1f}s, {len(expected)} output files")
        print(f"{'#':>3} {'victim':<7} {'delay s':>8} {'killed':>7} {'identical':>10} {'leftovers':>10}")
        failures = 0
        for i in range(args.kills):
            victim = "worker" if i % 4 == 3 else "driver"
            result = kill_and_resume(argv, out, expected, delay=rng.uniform(0.05, 0.8) * seconds, victim=victim)
            if not result.killed:  # the machine got faster: aim the next kills inside a full run's duration
                seconds = min(seconds, result.delay)
            failures += (not result.identical) or bool(result.leftovers)
            print(f"{i + 1:>3} {victim:<7} {result.delay:>8.2f} {str(result.killed):>7} {str(result.identical):>10} "
                  f"{len(result.leftovers):>10}")
        print(f"{args.kills - failures} of {args.kills} kill points resumed to identical bytes")
        raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
