#!/usr/bin/env bash
# DampWatch: set up everything on a Debian machine, then run it.
#   ./setup.sh run    the local stack with a simulated estate and the dashboard
#   ./setup.sh test   the whole test suite (what CI runs)
set -euo pipefail
cd "$(dirname "$0")"
mode="${1:-run}"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# System packages: Mosquitto, InfluxDB 1.x and PostgreSQL from Debian, Python's venv.
need=()
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null || need+=(mosquitto)
command -v mosquitto_sub >/dev/null || need+=(mosquitto-clients)
command -v influxd >/dev/null || need+=(influxdb)
# PostgreSQL's initdb/pg_ctl: the tests start their own cluster in a temp dir
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)   # the dashboard's browser tests
# Node and npm install the dashboard's front-end packages (GOV.UK Frontend, uPlot, ...)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
# WeasyPrint (the evidence pack's PDF) lays out text with Pango and HarfBuzz
ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so' || need+=(libpango-1.0-0)
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so' || need+=(libpangoft2-1.0-0)
ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset.so' || need+=(libharfbuzz-subset0)
[ -n "$(fc-list 2>/dev/null | head -n 1)" ] || need+=(fonts-dejavu-core)
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing ${need[*]} with apt-get"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "setup: DampWatch needs Python 3.11 or newer (found $(python3 --version))" >&2; exit 1; }

# Python packages, in a virtual environment in the checkout.
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
# Exactly the versions in requirements.lock, each checked against its hash; then the
# project itself without resolving again (see "Dependencies" in the README).
.venv/bin/python -m pip install -q --require-hashes -r requirements.lock
.venv/bin/python -m pip install -q --no-deps -e .
.venv/bin/python -m pip check >/dev/null || {
  .venv/bin/python -m pip check >&2
  echo "setup: requirements.lock does not satisfy pyproject.toml: regenerate it (README, Dependencies)" >&2
  exit 1; }

# The dashboard's front-end packages, exactly as package-lock.json pins them; again only
# when the lock changed (a stamp of the installed lock is kept in node_modules).
dash=src/backend/dashboard
if ! cmp -s "$dash/package-lock.json" "$dash/node_modules/.dampwatch-installed-lock" 2>/dev/null; then
  echo "setup: installing the dashboard's front-end packages with npm ci"
  (cd "$dash" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$dash/package-lock.json" "$dash/node_modules/.dampwatch-installed-lock"
fi

case "$mode" in
  run)
    shift || true
    exec .venv/bin/dampwatch up --estate examples/estates/demo.toml "$@"
    ;;
  test)
    shift || true
    .venv/bin/ruff check .
    .venv/bin/mypy
    exec .venv/bin/pytest "$@"
    ;;
  *)
    echo "usage: ./setup.sh run|test" >&2; exit 2 ;;
esac
