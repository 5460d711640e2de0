#!/usr/bin/env bash
# Installs what the tests need and runs them all: the README's test command, and what CI runs.
#
# 1. Prometheus + promtool and Alertmanager + amtool of the versions docker-compose.yml pins,
#    fetched into .tools/ (git-ignored) by tools/monitoring_binaries.py; nothing system-wide.
# 2. A virtual environment in .venv with the project and its test extras.
# 3. pytest over tests/, on two workers (pytest-xdist) when the machine has two cores or more;
#    arguments go to pytest after that default, so they override it (`./run-tests.sh -n 0` runs
#    in one process, e.g. for --pdb). "No tests collected" counts as a failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

say() { printf 'run-tests: %s\n' "$*" >&2; }

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  say "$python is missing or older than 3.11: install Python 3.11 or newer (or set PYTHON=/path/to/python3.11)"
  exit 1
fi
if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  if command -v apt-get >/dev/null 2>&1; then
    $([ "$(id -u)" -ne 0 ] && echo sudo) apt-get install -y -qq python3-venv >/dev/null
  else
    say "$python has no venv module: install python3-venv"
    exit 1
  fi
fi

# Prints the versions the tests run on; fails in one line when they differ from the compose pins.
"$python" tools/monitoring_binaries.py

if [ ! -x .venv/bin/python ]; then "$python" -m venv .venv; fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

# Two workers, not one per core: each test starting Prometheus, Alertmanager and a trader
# already keeps a core busy, and more workers only make their start-up deadlines tighter.
cores=$("$python" -c 'import os; print(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)')
if [ "$cores" -ge 2 ]; then
  say "pytest on 2 workers ($cores cores; -n 0 for one process)"
  set -- -n 2 "$@"
fi

set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  say "pytest collected no tests: that is a failure"
  exit 1
fi
exit "$status"
