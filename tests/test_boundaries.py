"""The import boundaries of docs/architecture.md, enforced on every Python file of the repository.

- The trading core (``trader/``) knows nothing of Prometheus: no module but ``trader/__main__.py``
  imports ``exporters`` or ``prometheus_client``.
- ``exporters/`` reads the trader only through its documented contract: the events, the bus, the
  snapshot, the vocabulary (and ``trader.__version__``).
- Every other top-level package (``alertmanager/``, ``stacklog/``, ``deploy/container/``, and any
  service added later: ``doctor/``, ``chat/``, ``reports/``, ``tuning/``...) never imports
  ``trader`` or ``exporters``: it talks to the trader's HTTP APIs or reads its documented files.
  The rule is over folders, so a new one is covered the day it appears.

Only the development side (tests, tools, benchmarks) may reach into the core.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.trader import REPO_ROOT

CORE = "trader"
ADAPTER = "exporters"
ADAPTER_MAY_IMPORT = {"trader", "trader.events", "trader.bus", "trader.snapshot", "trader.vocabulary"}
DEVELOPMENT = {"tests", "tools", "benchmarks"}  # may import anything
_SKIPPED = {"__pycache__", "node_modules", "build", "dist"}


def imported_modules(source: str, module: str) -> list[tuple[int, str]]:
    """(line, module) for every import in ``source``, the source of ``module`` ("pkg.sub");
    relative imports are resolved, ``from pkg import name`` yields ``pkg.name``."""
    found = []
    package = module.rsplit(".", 1)[0] if "." in module else module
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parent + ([base] if base else []))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _python_files() -> list[Path]:
    files = []
    for path in REPO_ROOT.rglob("*.py"):
        parts = path.relative_to(REPO_ROOT).parts
        if any(part.startswith(".") or part in _SKIPPED for part in parts):
            continue
        files.append(path)
    return sorted(files)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def boundary_violations(path: Path, source: str) -> list[str]:
    """What ``path`` (a file of the repository, with ``source``) imports across a boundary."""
    relative = path.relative_to(REPO_ROOT).as_posix()
    top = relative.split("/", 1)[0]
    problems = []
    for line, name in imported_modules(source, _module_name(path)):
        where = f"{relative}:{line} imports {name}"
        if top == CORE and relative != "trader/__main__.py":
            if _within(name, ADAPTER) or _within(name, "prometheus_client"):
                problems.append(f"{where}: the trading core knows nothing of Prometheus "
                                "(only trader/__main__.py wires the exporters)")
        elif top == ADAPTER:
            if _within(name, CORE) and name not in ADAPTER_MAY_IMPORT and name.rsplit(".", 1)[0] not in ADAPTER_MAY_IMPORT:
                problems.append(f"{where}: exporters read the trader through {sorted(ADAPTER_MAY_IMPORT)} only")
        elif top not in DEVELOPMENT and top not in (CORE, ADAPTER):
            if _within(name, CORE) or _within(name, ADAPTER):
                problems.append(f"{where}: a service outside the core uses the trader's HTTP APIs and files, "
                                "never its modules")
    return problems


def test_no_import_crosses_a_boundary() -> None:
    files = _python_files()
    assert any(p.parts[-2:] == ("alertmanager", "render.py") for p in files)  # the walk sees the services
    problems = [problem for path in files for problem in boundary_violations(path, path.read_text())]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path, source, crossing", [
    ("trader/engine.py", "from exporters.http import start_metrics_server\n", True),
    ("trader/feeds/okx.py", "from ..vocabulary import SIDES\nimport prometheus_client\n", True),
    ("trader/__main__.py", "from exporters.http import start_metrics_server\n", False),
    ("exporters/execution.py", "from trader.broker import Order\n", True),
    ("exporters/execution.py", "from trader import snapshot\nfrom trader.vocabulary import SIDES\nimport trader\n", False),
    ("exporters/http.py", "from .registry import build_registry\n", False),
    ("doctor/checks.py", "from trader.config import load_config\n", True),  # a service that does not exist yet
    ("alertmanager/render.py", "import exporters.catalogue\n", True),
    ("deploy/container/stack_init.py", "from stacklog import configure_logging\n", False),
    ("tests/test_x.py", "from trader.broker import Order\n", False),
])
def test_the_check_sees_a_crossing(path: str, source: str, crossing: bool) -> None:
    assert bool(boundary_violations(REPO_ROOT / path, source)) is crossing
