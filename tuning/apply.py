"""``--apply V``: write one number into a threshold line, check it, reload; or leave the file as it was.

Only the characters of the number change (the span ``rules.Threshold`` found in the file; the
value as the user wrote it, so writing the old text back gives the original bytes). Then, in
order: ``promtool check rules FILE``, ``promtool test rules prometheus/tests/<family>_test.yml``
(the family is the rule file's name), and with ``reload`` ``POST /-/reload``. The first failure
puts the original bytes back and raises ``ApplyRefused`` with one line saying what failed.

A promtool test that asserts the old number (a summary reading "above the 10% limit", or a case
just under the old threshold that the new one crosses) fails for a new value: ``--apply`` then
refuses, which is right: update that test in the same change, then apply.

    result = apply_value(threshold, "0.12", tests_dir=Path("prometheus/tests"), promtool="promtool")
    print(result)   # one line
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import TuningError
from .prom_api import PrometheusAPI
from .rules import Threshold
from .timeparse import parse_number

__all__ = ["ApplyRefused", "Applied", "apply_value"]


class ApplyRefused(TuningError):
    """A check failed; the rule file holds its original bytes again."""


@dataclass(frozen=True)
class Applied:
    threshold: Threshold
    old: str
    new: str
    checks: tuple[str, ...]

    def __str__(self) -> str:
        t = self.threshold
        if self.old == self.new:
            return f"{t.selector} is already {self.new} in {t.rule.path}:{t.line}: nothing changed"
        return (f"applied {t.selector} = {self.new} in {t.rule.path}:{t.line} (was {self.old}); "
                + "; ".join(self.checks))


def _write(path: Path, data: bytes) -> None:
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _run(argv: list[str]) -> tuple[bool, str]:
    """(passed, one line about the first failure) for a promtool command."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, str(error)
    if done.returncode == 0:
        return True, ""
    lines = [line.strip() for line in (done.stdout + "\n" + done.stderr).splitlines() if line.strip()]
    cases = [line.rstrip(", ") for line in lines if line.startswith(("expr:", "alertname:"))]
    if cases:  # promtool test rules: one "expr:" / "alertname:" line per failing check
        return False, f"{len(cases)} failing, first {cases[0]}"[:240]
    after = [line for line in lines if line != "FAILED:" and not line.startswith("Checking ")]
    return False, (after or [f"exit status {done.returncode}"])[0][:240]


def apply_value(threshold: Threshold, value_text: str, *, tests_dir: Path, promtool: str,
                reload: PrometheusAPI | None = None) -> Applied:
    value_text = value_text.strip()
    parse_number(value_text, "--apply")
    path = threshold.rule.path
    original = path.read_bytes()
    text = original.decode("utf-8")
    current = text[threshold.start:threshold.end]
    if current != threshold.text:
        raise TuningError(f"{path}:{threshold.line}: the threshold reads {current!r}, expected {threshold.text!r} "
                          "(the file changed while the tool ran); nothing written")
    if float(current) == float(value_text):
        return Applied(threshold, current, current, ())
    updated = (text[:threshold.start] + value_text + text[threshold.end:]).encode("utf-8")
    checks: list[str] = []
    family_test = tests_dir / f"{path.stem}_test.yml"
    steps: list[tuple[str, list[str]]] = [("promtool check rules", [promtool, "check", "rules", str(path)])]
    if family_test.is_file():
        steps.append((f"promtool test rules {family_test}", [promtool, "test", "rules", str(family_test)]))
    _write(path, updated)
    try:
        for what, argv in steps:
            ok, detail = _run(argv)
            if not ok:
                raise ApplyRefused(f"not applied: {what} failed ({detail}); {path} left as it was")
            checks.append(f"{what}: ok")
        if reload is not None:
            try:
                reload.reload()
            except TuningError as error:
                raise ApplyRefused(f"not applied: {error}; {path} left as it was") from None
            checks.append(f"Prometheus at {reload.url} reloaded")
    except BaseException:
        _write(path, original)
        raise
    return Applied(threshold, current, value_text, tuple(checks))
