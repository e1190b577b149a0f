#!/usr/bin/env python3
"""Validate Dolma's published release configs with ``dolma -c FILE COMMAND --dryrun`` and print a table:
file, command, ``ok`` or the one-line error.

    python bench/dolma_configs_dryrun.py FOLDER [--reference /tmp/refdolma/bin/dolma] [--timeout 120]

FOLDER holds Dolma's config files (the ``configs/`` folder of github.com/allenai/dolma, or part of it); every
``*.yaml``, ``*.yml`` and ``*.json`` under it is tried. The command a file is for is read from its top-level keys,
first match wins:

- ``streams``                                  -> ``mix``
- ``dedupe`` or ``bloom_filter``               -> ``dedupe``
- ``taggers``                                  -> ``tag``
- ``tokenizer``, ``tokenizer_name_or_path``    -> ``tokens``

A file with a top-level ``model`` or ``model_path`` is a fastText training config (``streams`` of labelled
samples, for Dolma's later ``dolma.models`` scripts; Dolma 1.2.1 has no command for it) and, like a file with none of
the keys above, is listed as ``skip``.

The configs name AI2's ``s3://`` buckets and, through ``${oc.env:VAR}``, folders under the author's ``$HOME``.
Each ``${oc.env:VAR}`` a file uses without a default is set, for that run only, to a folder that does not exist
(``/nonexistent/dolma-dryrun/VAR``): a dry run must validate the config without listing or reading any input,
so nothing may touch it. The variables set are printed under the table.

``--reference`` also runs the same command line with Dolma 1.2.1's own ``dolma`` (from /tmp, so this checkout
does not shadow it) and adds its result as a column. Dolma 1.2.1's ``--dryrun`` still lists inputs for some
commands; offline that fails after its config was parsed (an unknown key fails before), and the column then shows
``ok*``: Dolma took the config's keys, but had not yet checked its tagger names or filter expressions.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

COMMAND_KEYS: List[Tuple[Tuple[str, ...], str]] = [
    (("streams",), "mix"),
    (("dedupe", "bloom_filter"), "dedupe"),
    (("taggers",), "tag"),
    (("tokenizer", "tokenizer_name_or_path"), "tokens"),
]
ENV_REF = re.compile(r"\$\{oc\.env:([A-Za-z_][A-Za-z0-9_]*)(,[^}]*)?\}")
FAKE_ROOT = "/nonexistent/dolma-dryrun"
# what Dolma 1.2.1 prints once its config is resolved and it starts on the inputs (offline: then fails on S3)
REFERENCE_VALIDATED = re.compile(r"NoCredentialsError|Could not connect to the endpoint|EndpointConnectionError|"
                                 r"Unable to locate credentials|No such file or directory|does not exist|"
                                 r"No files found|No documents found|FileNotFoundError")


def command_for(data: object) -> Optional[str]:
    """The ``dolma`` command a config is for, from its top-level keys (see the module docstring)."""
    if not isinstance(data, dict) or "model" in data or "model_path" in data:
        return None
    for keys, command in COMMAND_KEYS:
        if any(key in data for key in keys):
            return command
    return None


def load(path: Path) -> object:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def env_for(path: Path) -> Dict[str, str]:
    """Fake values for the ``${oc.env:VAR}`` (without a default) that the file's non-comment lines use."""
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            continue
        for match in ENV_REF.finditer(line):
            if match.group(2) is None:
                names.add(match.group(1))
    return {name: f"{FAKE_ROOT}/{name}" for name in sorted(names)}


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def run_ours(path: Path, command: str, extra_env: Dict[str, str], timeout: float) -> str:
    env = {**os.environ, **extra_env}
    argv = [sys.executable, "-m", "dolma.cli", "-c", str(path), command, "--dryrun"]
    try:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    if proc.returncode == 0:
        return "ok"
    return last_line(proc.stderr) or f"exit {proc.returncode}"


def run_reference(dolma_bin: str, path: Path, command: str, extra_env: Dict[str, str], timeout: float) -> str:
    env = {**os.environ, **extra_env, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    argv = [dolma_bin, "-c", str(path.resolve()), command, "--dryrun"]
    try:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, cwd="/tmp")
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    if proc.returncode == 0:
        return "ok"
    output = proc.stderr + proc.stdout
    # the mixer raises its "No documents found" as a DolmaConfigError too, but only after the config was taken
    config_refused = "DolmaConfigError" in output and "No documents found" not in output
    if REFERENCE_VALIDATED.search(output) and "ValidationError" not in output and not config_refused:
        return "ok*"
    return last_line(output) or f"exit {proc.returncode}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--reference", help="Dolma 1.2.1's dolma executable, to run the same command lines")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()

    files = sorted(p for p in args.folder.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
    rows: List[Tuple[str, str, str, str]] = []
    used_env: Dict[str, str] = {}
    for path in files:
        rel = str(path.relative_to(args.folder))
        try:
            data = load(path)
        except (yaml.YAMLError, json.JSONDecodeError) as exc:
            rows.append((rel, "-", f"not YAML/JSON: {last_line(str(exc))}", ""))
            continue
        command = command_for(data)
        if command is None:
            rows.append((rel, "-", "skip (no dolma command: fastText training or other)", ""))
            continue
        extra_env = env_for(path)
        used_env.update(extra_env)
        ours = run_ours(path, command, extra_env, args.timeout)
        ref = run_reference(args.reference, path, command, extra_env, args.timeout) if args.reference else ""
        rows.append((rel, command, ours, ref))
        print(f"{rel}: {command}: {ours}" + (f" | reference: {ref}" if ref else ""), file=sys.stderr, flush=True)

    width = max(len(r[0]) for r in rows) if rows else 4
    header = f"{'file':<{width}}  {'command':<7}  result"
    print(header + ("  | reference" if args.reference else ""))
    for rel, command, ours, ref in rows:
        print(f"{rel:<{width}}  {command:<7}  {ours}" + (f"  | {ref}" if args.reference else ""))
    tried = [r for r in rows if r[1] != "-"]
    passed = [r for r in tried if r[2] == "ok"]
    print(f"\n{len(passed)} of {len(tried)} configs validate ({len(rows) - len(tried)} skipped)")
    if used_env:
        print("environment set for the runs: " + ", ".join(f"{k}={v}" for k, v in sorted(used_env.items())))
    return 0 if len(passed) == len(tried) else 1


if __name__ == "__main__":
    sys.exit(main())
