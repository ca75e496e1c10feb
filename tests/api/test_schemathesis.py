"""Schemathesis against ``/openapi.json`` (issue 10, item 4), on SQLite and PostgreSQL:
every operation with generated valid and invalid requests (its examples, boundary and
coverage cases: huge integers, NUL and other odd strings; then random fuzzing). No
response may be a server error, and every response must match its documented status,
content type, headers and schema; invalid requests must be refused.

Run through the ``schemathesis`` command against the app served by uvicorn (its pytest
plugin does not run under pytest 9); its summary is printed, so the run's figures are in
the test log."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apiharness import LiveServer, write_readings

from dampwatch_core.settings import Settings

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance,negative_data_rejection"
)
#: per operation and phase: about 1,000 requests in all, some 20 s a store
MAX_EXAMPLES = 100


# every route, 100 examples each, on a shared 2-core machine: more than the default limit
@pytest.mark.timeout(600)
def test_no_server_error_and_every_response_matches_its_schema(
    live_api: LiveServer, seeded_settings: Settings, tmp_path: Path
) -> None:
    now = int(time.time())
    write_readings(
        seeded_settings, "B-2", "esp32-bbbb00000002", "bedroom", range(now - 7200, now, 300)
    )
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    report = tmp_path / "schemathesis.json"
    started = time.monotonic()
    run = subprocess.run(
        [
            cli,
            "run",
            f"{live_api.url}/openapi.json",
            "--header",
            f"Authorization: {live_api.headers['Authorization']}",
            "--checks",
            CHECKS,
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--request-timeout",
            "10",
            "--generation-database",
            "none",
            "--report",
            "json",
            "--report-json-path",
            str(report),
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=540,
        cwd=tmp_path,
    )
    took = time.monotonic() - started
    print(run.stdout[-3000:])
    print(f"schemathesis took {took:.1f} s")
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    if report.exists():
        print(json.dumps(json.loads(report.read_text()).get("summary", {}))[:2000])
