#!/usr/bin/env bash
# Installs what the tests need and runs them all: the README's test command, and what CI runs.
#
# 1. Debian's prometheus and prometheus-alertmanager packages, when promtool, amtool, prometheus
#    or prometheus-alertmanager is missing (their system services are kept from starting: the
#    tests start their own instances on free ports).
# 2. A virtual environment in .venv with the project and its test extras.
# 3. pytest over tests/; "no tests collected" counts as a failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

say() { printf 'run-tests: %s\n' "$*" >&2; }

missing=()
for binary in promtool amtool prometheus prometheus-alertmanager; do
  command -v "$binary" >/dev/null 2>&1 || missing+=("$binary")
done

if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null 2>&1; then
    say "missing ${missing[*]} and no apt-get here: install Prometheus >= 2.42 (prometheus, promtool) and Alertmanager >= 0.25 (prometheus-alertmanager, amtool) and put them on PATH"
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  say "installing Debian's prometheus and prometheus-alertmanager (missing: ${missing[*]})"
  # A policy-rc.d that answers 101 tells the packages' maintainer scripts not to start services.
  created_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    created_policy="yes"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    prometheus prometheus-alertmanager >/dev/null
  if [ -n "$created_policy" ]; then $sudo rm -f /usr/sbin/policy-rc.d; fi
  # Where systemd runs anyway, make sure nothing is left listening on 9090/9093.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
    $sudo systemctl stop prometheus prometheus-alertmanager 2>/dev/null || true
  fi
fi

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

if [ ! -x .venv/bin/python ]; then "$python" -m venv .venv; fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  say "pytest collected no tests: that is a failure"
  exit 1
fi
exit "$status"
