#!/usr/bin/env python3
"""Plant known bugs in a scratch copy of the checkout and check the suite catches each.

Each entry of ``planted_bugs.toml`` names a bug, the file it goes in, the exact text it
replaces and the tests that must fail because of it. For each, a clean copy of the
committed tree is made in a temporary directory, the bug is planted, the named tests run
against the copy (its ``src`` first on the import path), and the bug counts as *caught*
only if pytest reports failing tests. A plant whose text is no longer in the file is
*stale*: the entry must be updated with the code, so that counts as a failure too.

    tools/planted_bugs.py [--only NAME ...] [--list]

Prints one line per bug and ends with one JSON line; exits 1 if any bug was missed or
stale.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = Path(__file__).with_name("planted_bugs.toml")


def _copy_tree(dest: Path) -> None:
    """The committed tree plus uncommitted changes to tracked files (what you are testing)."""
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.split(b"\0")
    for raw in files:
        if not raw:
            continue
        rel = raw.decode()
        src = ROOT / rel
        if not src.exists():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


def _run_one(bug: dict[str, object], python: str, timeout_s: float) -> tuple[str, str, float]:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dampwatch-plant-") as tmp:
        copy = Path(tmp) / "tree"
        _copy_tree(copy)
        path = copy / str(bug["file"])
        text = path.read_text(encoding="utf-8")
        old, new = str(bug["old"]), str(bug["new"])
        if text.count(old) != 1:
            return "stale", f"the text to replace occurs {text.count(old)} times", 0.0
        path.write_text(text.replace(old, new), encoding="utf-8")
        env = dict(os.environ, PYTHONPATH=str(copy / "src"), PYTHONDONTWRITEBYTECODE="1")
        tests = [str(t) for t in bug["tests"]]  # type: ignore[attr-defined]
        try:
            done = subprocess.run(
                [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                cwd=copy, env=env, capture_output=True, text=True, timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return "caught", "the tests timed out", time.monotonic() - started
        tail = (done.stdout.strip().splitlines() or [""])[-1]
        if done.returncode == 1:
            return "caught", tail, time.monotonic() - started
        if done.returncode == 0:
            return "missed", tail, time.monotonic() - started
        return "error", f"pytest exit {done.returncode}: {tail}", time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, metavar="NAME")
    parser.add_argument("--list", action="store_true", help="list the bugs and stop")
    parser.add_argument("--timeout", type=float, default=900.0, help="per bug, seconds")
    args = parser.parse_args()
    bugs = tomllib.loads(CATALOGUE.read_text(encoding="utf-8"))["bug"]
    if args.only:
        bugs = [b for b in bugs if b["name"] in args.only]
    if args.list:
        for bug in bugs:
            print(f"{bug['name']}: {bug['why']}")
        return 0
    python = sys.executable
    results: dict[str, str] = {}
    for bug in bugs:
        outcome, detail, seconds = _run_one(bug, python, args.timeout)
        results[bug["name"]] = outcome
        print(f"{outcome:<7} {bug['name']:<40} {seconds:6.1f} s  {detail}", flush=True)
    caught = sum(1 for v in results.values() if v == "caught")
    print(json.dumps({"planted": len(results), "caught": caught,
                      "not_caught": sorted(k for k, v in results.items() if v != "caught")}))
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
