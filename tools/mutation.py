#!/usr/bin/env python3
"""Mutation testing of DampWatch's pure modules with mutmut.

For each group (a set of pure modules and the tests that guard them) a clean copy of
the tracked tree is made in a temporary directory, mutmut mutates the modules there and
runs the group's tests against every mutant. A *surviving* mutant is a change to the code
that no test noticed: either a missing test, or a change that makes no difference
(an "equivalent" mutant; those are listed in docs/testing.md).

    tools/mutation.py [GROUP ...] [--show]

Prints killed/survived per group (and with --show each survivor's diff), then one JSON
line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from planted_bugs import _copy_tree

GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "clocks": (
        ["src/alerting/cases/clocks.py", "src/alerting/cases/calendar.py"],
        ["tests/alerting/test_clocks.py"],
    ),
    "messages": (["src/alerting/messages/"], ["tests/alerting/test_messages_pure.py"]),
    "contract": (
        ["src/dampwatch_core/contract.py"],
        ["tests/core/test_contract.py", "tests/core/test_contract_edges.py"],
    ),
    "physics": (
        [
            "src/backend/risk/psychrometrics.py",
            "src/backend/risk/surfaces.py",
            "src/backend/risk/mould.py",
        ],
        ["tests/risk/test_physics.py", "tests/risk/test_surfaces.py",
         "tests/risk/test_mould_edges.py", "tests/risk/test_psychrometric_edges.py"],
    ),
}


def _config(sources: list[str], tests: list[str]) -> str:
    quoted = lambda items: ", ".join(f'"{i}"' for i in items)  # noqa: E731
    return (
        "\n[tool.mutmut]\n"
        f"source_paths = [{quoted(sources)}]\n"
        'also_copy = ["src/", "tests/"]\n'
        f"pytest_add_cli_args_test_selection = [{quoted(tests)}]\n"
    )


def run_group(name: str, show: bool) -> dict[str, object]:
    sources, tests = GROUPS[name]
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"dampwatch-mutation-{name}-") as tmp:
        tree = Path(tmp)
        _copy_tree(tree)
        pyproject = tree / "pyproject.toml"
        pyproject.write_text(pyproject.read_text() + _config(sources, tests))
        env = dict(os.environ, PYTHONPATH="src")
        subprocess.run([mutmut, "run"], cwd=tree, env=env, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        listed = subprocess.run([mutmut, "results", "--all", "true"], cwd=tree, env=env,
                                capture_output=True, text=True, check=False).stdout
        status: dict[str, str] = {}
        for line in listed.splitlines():
            match = re.match(r"\s*(\S+): (\w[\w ]*)$", line)
            if match:
                status[match.group(1)] = match.group(2)
        survivors = sorted(k for k, v in status.items() if v == "survived")
        if show:
            for mutant in survivors:
                diff = subprocess.run([mutmut, "show", mutant], cwd=tree, env=env,
                                      capture_output=True, text=True, check=False).stdout
                lines = [ln for ln in diff.splitlines()
                         if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
                print(f"  survived {mutant}\n    " + "\n    ".join(lines))
    killed = sum(1 for v in status.values() if v == "killed")
    total = len(status)
    return {
        "group": name,
        "mutants": total,
        "killed": killed,
        "survived": len(survivors),
        "other": total - killed - len(survivors),
        "score": round(killed / total, 3) if total else None,
        "seconds": round(time.monotonic() - started, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", choices=[*GROUPS, []], default=[])
    parser.add_argument("--show", action="store_true", help="print each survivor's diff")
    args = parser.parse_args()
    results = []
    for name in args.groups or list(GROUPS):
        result = run_group(name, args.show)
        results.append(result)
        print(f"{name:<10} {result['killed']}/{result['mutants']} killed, "
              f"{result['survived']} survived, {result['other']} other "
              f"(score {result['score']}), {result['seconds']} s", flush=True)
    print(json.dumps({"mutation": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
