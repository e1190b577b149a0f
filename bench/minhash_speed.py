"""End-to-end near-duplicate removal against datatrove's MinHash: signatures to filtered output, same files, same
word 5-gram shingles, same bands × rows, same worker count.

    python bench/minhash_speed.py --corpus /tmp/bench_corpus [--processes 2] [--bands 14 --rows 8] [--repeat 1]
        [--datatrove /tmp/venv-datatrove/bin/python]   # pip install 'datatrove[processing]' spacy orjson there

Ours: `dolma dedupe` with `dedupe.minhash` (verified clusters, threshold 0.8), then `dolma mix` dropping the
duplicates with an ordinary filter. datatrove: MinhashDedupSignature (one task per file) → MinhashDedupBuckets
(one task per bucket) → MinhashDedupCluster (one task: its design) → MinhashDedupFilter writing JSONL, on its
LocalPipelineExecutor with the same worker count. Each repeat runs both back to back, alternating which goes first;
the table gives medians of wall seconds, CPU seconds (user + system of every process) and the peak resident memory
of the whole process tree (sampled every 0.1 s from /proc). Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from typing import Dict, List, Tuple

DATATROVE = textwrap.dedent('''
    import sys
    from datatrove.executor.local import LocalPipelineExecutor
    from datatrove.pipeline.dedup import MinhashDedupSignature, MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers.jsonl import JsonlWriter

    corpus, work, workers, files, bands, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    config = MinhashConfig(n_grams=5, num_buckets=bands, hashes_per_bucket=rows)
    read = lambda: JsonlReader(corpus, glob_pattern="*/documents/*.jsonl.gz")
    run = lambda pipeline, tasks, name: LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=min(workers, tasks),
                                                           logging_dir=f"{work}/logs/{name}").run()
    if __name__ == "__main__":
        run([read(), MinhashDedupSignature(output_folder=f"{work}/signatures", config=config)], files, "1")
        run([MinhashDedupBuckets(input_folder=f"{work}/signatures", output_folder=f"{work}/buckets", config=config)], bands, "2")
        run([MinhashDedupCluster(input_folder=f"{work}/buckets", output_folder=f"{work}/remove_ids", config=config)], 1, "3")
        run([read(), MinhashDedupFilter(input_folder=f"{work}/remove_ids"), JsonlWriter(f"{work}/output")], files, "4")
''')


class TreeMemory:
    """Peak summed RSS of a process and all its descendants, and their CPU seconds, sampled from /proc (a process
    pool's workers are not always waited for, so `getrusage` would miss them)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self.cpu: Dict[int, float] = {}  # last user + system seconds seen per process of the tree
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        tick = os.sysconf("SC_CLK_TCK")
        while not self._stop.is_set():
            parents: Dict[int, int] = {}
            rss: Dict[int, int] = {}
            cpu: Dict[int, float] = {}
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parents[int(entry)] = int(fields[1])
                rss[int(entry)] = int(fields[21]) * page
                cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
            tree = {self.pid}
            grew = True
            while grew:
                grew = False
                for pid, ppid in parents.items():
                    if ppid in tree and pid not in tree:
                        tree.add(pid)
                        grew = True
            self.peak = max(self.peak, sum(rss.get(p, 0) for p in tree))
            for p in tree:
                if p in cpu:
                    self.cpu[p] = max(self.cpu.get(p, 0.0), cpu[p])
            time.sleep(0.1)

    def stop(self) -> Tuple[int, float]:
        self._stop.set()
        self._thread.join()
        return self.peak, sum(self.cpu.values())


def _measure(cmds: List[List[str]], cwd: str) -> Tuple[float, float, int]:
    """Wall seconds, CPU seconds of every process, peak tree RSS of the commands run in turn."""
    start = time.monotonic()
    peak = 0
    cpu = 0.0
    for cmd in cmds:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        mem = TreeMemory(proc.pid)
        _, err = proc.communicate()
        top, seconds = mem.stop()
        peak, cpu = max(peak, top), cpu + seconds
        if proc.returncode != 0:
            sys.exit(f"{' '.join(cmd[:3])} failed:\n{err.decode()[-3000:]}")
    return time.monotonic() - start, cpu, peak


def _ours(corpus: str, work: str, processes: int, bands: int, rows: int) -> Tuple[Tuple[float, float, int], int]:
    dolma = os.path.join(os.path.dirname(sys.executable), "dolma")
    # the corpus is read in place; attributes and state go next to a linked copy (inputs are never written into)
    for path in sorted(glob.glob(os.path.join(corpus, "*", "documents", "*.jsonl.gz"))):
        source = path.split(os.sep)[-3]
        os.makedirs(os.path.join(work, source, "documents"), exist_ok=True)
        os.symlink(path, os.path.join(work, source, "documents", os.path.basename(path)))
    dedupe = {"documents": [f"{work}/*/documents/*.jsonl.gz"], "processes": processes,
              "dedupe": {"name": "near", "minhash": {"num_bands": bands, "rows_per_band": rows,
                                                     "state_dir": f"{work}/state"}}}
    mix = {"processes": processes, "streams": [{
        "name": "all", "documents": [f"{work}/*/documents/*.jsonl.gz"], "attributes": ["near"],
        "output": {"path": f"{work}/output", "max_size_in_bytes": 1 << 30},
        "filter": {"exclude": ["$.attributes[?(@.near__minhash__duplicate[0][2] >= 1)]"]}}]}
    for name, config in (("dedupe", dedupe), ("mix", mix)):
        with open(f"{work}/{name}.json", "w") as f:
            json.dump(config, f)
    result = _measure([[dolma, "-c", f"{work}/dedupe.json", "dedupe"], [dolma, "-c", f"{work}/mix.json", "mix"]], work)
    kept = sum(json.load(open(p))["counts"]["documents_out"] for p in glob.glob(f"{work}/output/*.manifest.json"))
    return result, kept


def _datatrove(python: str, corpus: str, work: str, processes: int, bands: int, rows: int) -> Tuple[Tuple[float, float, int], int]:
    script = os.path.join(work, "datatrove_minhash.py")
    with open(script, "w") as f:
        f.write(DATATROVE)
    files = len(glob.glob(os.path.join(corpus, "*", "documents", "*.jsonl.gz")))
    result = _measure([[python, script, corpus, work, str(processes), str(files), str(bands), str(rows)]], work)
    import gzip

    kept = sum(sum(1 for _ in gzip.open(p)) for p in glob.glob(f"{work}/output/*.jsonl.gz"))
    return result, kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="/tmp/bench_corpus")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--bands", type=int, default=14)
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--datatrove", default="/tmp/venv-datatrove/bin/python")
    ap.add_argument("--skip-datatrove", action="store_true")
    args = ap.parse_args()
    corpus = os.path.abspath(args.corpus)
    runs: Dict[str, List[Tuple[float, float, int]]] = {"dolma-toolkit": [], "datatrove": []}
    kept: Dict[str, int] = {}
    for r in range(args.repeat):
        order = ["dolma-toolkit", "datatrove"] if r % 2 == 0 else ["datatrove", "dolma-toolkit"]
        for tool in order:
            if tool == "datatrove" and args.skip_datatrove:
                continue
            with tempfile.TemporaryDirectory(prefix=f"minhash-speed-{tool}-") as work:
                if tool == "dolma-toolkit":
                    result, kept[tool] = _ours(corpus, work, args.processes, args.bands, args.rows)
                else:
                    result, kept[tool] = _datatrove(args.datatrove, corpus, work, args.processes, args.bands, args.rows)
            runs[tool].append(result)
            print(f"# {tool} run {r + 1}: {result[0]:.1f}s wall, {result[1]:.1f} CPU-s, peak {result[2] / 2**20:.0f} MiB, "
                  f"{kept[tool]:,} documents kept", flush=True)
    print(f"\n{args.bands} bands × {args.rows} rows, word 5-grams, {args.processes} workers, medians of {args.repeat}:")
    print("| tool | wall s | CPU s | peak RSS (MiB, all processes) | documents kept |")
    print("| --- | --- | --- | --- | --- |")
    for tool, results in runs.items():
        if results:
            print(f"| {tool} | {statistics.median(r[0] for r in results):.1f} | {statistics.median(r[1] for r in results):.1f} "
                  f"| {statistics.median(r[2] for r in results) / 2**20:.0f} | {kept[tool]:,} |")
    if runs["datatrove"] and runs["dolma-toolkit"]:
        ratio = statistics.median(r[0] for r in runs["datatrove"]) / statistics.median(r[0] for r in runs["dolma-toolkit"])
        print(f"\nwall-clock speed-up: {ratio:.1f}×")


if __name__ == "__main__":
    main()
