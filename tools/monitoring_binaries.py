"""Obtain the Prometheus and Alertmanager that `docker compose up` runs, for the tests.

The compose file pins the images (``prom/prometheus:vX.Y.Z``, ``prom/alertmanager:vX.Y.Z``).
This fetches the same versions into ``.tools/`` (git-ignored) and links ``prometheus``,
``promtool``, ``alertmanager`` and ``amtool`` into ``.tools/bin``; the tests use them from there
and nothing is installed system-wide.

Where to get them, in order:

1. Debian's packages, from the mirror this machine's own apt sources name (read here, never
   written into the repository), looking in the newer suites (unstable, testing and the named
   releases) through a scratch apt configuration; ``apt-get download`` + ``dpkg-deb -x``.
2. The upstream release archives on GitHub, checked against their published ``sha256sums.txt``
   (a user's Ubuntu or macOS, with no Debian mirror configured).

The exact pinned version is preferred; another patch release of the same minor is accepted with
a warning. A major.minor that differs from the pin fails with one line naming the pin to update.

    python3 tools/monitoring_binaries.py            # fetch if needed, print the versions
    python3 tools/monitoring_binaries.py --check    # only print the versions, fail if missing
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOOLS = REPO / ".tools"
BIN = TOOLS / "bin"
STAMP = TOOLS / "versions.json"
COMPOSE = REPO / "docker-compose.yml"

# Debian suites that carry newer releases than stable; searched through the machine's own mirror.
DEBIAN_SUITES = ("unstable", "testing", "forky", "trixie", "trixie-backports", "bookworm-backports")


@dataclass(frozen=True)
class Component:
    """One upstream project: its compose image, its Debian packages and the binaries we link."""

    name: str  # upstream project and release archive name
    image: str  # the compose image whose tag pins the version
    debian_packages: tuple[str, ...]
    binaries: dict[str, str]  # link name in .tools/bin -> path inside a Debian package root

    def pinned_version(self, compose_text: str) -> str:
        match = re.search(rf"image:\s*{re.escape(self.image)}:v(\d+\.\d+\.\d+)\b", compose_text)
        if not match:
            fail(f"docker-compose.yml pins no {self.image}:vX.Y.Z image")
        return match.group(1)


COMPONENTS = (
    Component("prometheus", "prom/prometheus", ("prometheus", "promtool"),
              {"prometheus": "usr/bin/prometheus", "promtool": "usr/bin/promtool"}),
    Component("alertmanager", "prom/alertmanager", ("prometheus-alertmanager",),
              {"alertmanager": "usr/bin/alertmanager", "amtool": "usr/bin/amtool"}),
)

# Debian's Alertmanager reads its default notification templates from this compiled-in
# directory (a Debian patch; upstream embeds them) and refuses every config without them.
DEBIAN_ALERTMANAGER_SHARE = b"/usr/share/prometheus/alertmanager"


def relocate_debian_alertmanager(root: Path) -> None:
    """Write ``usr/bin/alertmanager``: Debian's binary with that one path pointed at the unpacked
    copy under ``root``. The replacement has the same length (padded with slashes, which the
    kernel ignores), so no offset in the binary moves; nothing outside ``.tools`` changes.
    Where the checkout's path is too long, a symlink in a short directory under /tmp stands in."""
    share = root / "usr" / "share" / "prometheus" / "alertmanager"
    candidates = [TOOLS / "am", Path(tempfile.gettempdir()) / f".trader-am-{hashlib.sha256(bytes(share)).hexdigest()[:8]}"]
    link = next((c for c in candidates if len(bytes(c)) <= len(DEBIAN_ALERTMANAGER_SHARE)), None)
    if link is None:
        fail(f"cannot relocate Debian's alertmanager templates: no path shorter than "
             f"{DEBIAN_ALERTMANAGER_SHARE.decode()} to link {share} from")
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(os.path.relpath(share, link.parent))
    padded = bytes(link) + b"/" * (len(DEBIAN_ALERTMANAGER_SHARE) - len(bytes(link)))
    binary = (root / "usr" / "bin" / "prometheus-alertmanager").read_bytes()
    # Only the bare directory; the UI paths that start with it are left alone (tests use no UI).
    bare = re.compile(re.escape(DEBIAN_ALERTMANAGER_SHARE) + rb"(?!/)")
    patched_binary, count = bare.subn(padded, binary)
    if count != 1:
        fail(f"Debian's alertmanager binary holds its template directory {count} times, expected once: "
             "cannot relocate it")
    patched = root / "usr" / "bin" / "alertmanager"
    patched.write_bytes(patched_binary)
    patched.chmod(0o755)


def say(message: str) -> None:
    print(f"monitoring-binaries: {message}", file=sys.stderr)


def fail(message: str) -> None:
    say(message)
    raise SystemExit(1)


def minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def upstream_version(debian_version: str) -> str:
    """``3.5.3+ds1-6`` -> ``3.5.3``; ``1:0.28.1+ds-1`` -> ``0.28.1``."""
    version = debian_version.split(":", 1)[-1]
    return re.split(r"[+~-]", version, maxsplit=1)[0]


# --- Debian ---------------------------------------------------------------------------------


def debian_mirrors() -> list[str]:
    """The Debian archive URIs this machine's apt sources already name (not security mirrors)."""
    uris: list[str] = []
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields = dict(re.findall(r"(?m)^([A-Za-z-]+):\s*(.+)$", stanza))
                if "deb" in fields.get("Types", "").split() and "debian-archive-keyring" in fields.get("Signed-By", ""):
                    uris += fields.get("URIs", "").split()
        elif path.suffix == ".list":
            for line in text.splitlines():
                parts = line.split("#", 1)[0].split()
                if len(parts) >= 3 and parts[0] == "deb":
                    uri = next(p for p in parts[1:] if not p.startswith("["))
                    uris.append(uri)
    return [u.rstrip("/") for u in dict.fromkeys(uris) if "security" not in u and u.rstrip("/").endswith("/debian")]


class ScratchApt:
    """apt-get/apt-cache against a private configuration: newer suites, no system state touched."""

    def __init__(self, root: Path, mirror: str) -> None:
        self.root = root
        (root / "etc" / "sources.list.d").mkdir(parents=True, exist_ok=True)
        (root / "etc" / "preferences.d").mkdir(parents=True, exist_ok=True)
        (root / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        (root / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        (root / "etc" / "sources.list.d" / "newer.sources").write_text(
            "Types: deb\n"
            f"URIs: {mirror}\n"
            f"Suites: {' '.join(DEBIAN_SUITES)}\n"
            "Components: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        )

    def _options(self) -> list[str]:
        r = self.root
        return [
            "-o", f"Dir::Etc={r / 'etc'}", "-o", "Dir::Etc::sourcelist=/dev/null",
            "-o", f"Dir::Etc::sourceparts={r / 'etc' / 'sources.list.d'}",
            "-o", f"Dir::Etc::preferencesparts={r / 'etc' / 'preferences.d'}",
            "-o", f"Dir::State::Lists={r / 'lists'}", "-o", f"Dir::Cache={r / 'cache'}",
            "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root",
        ]

    def run(self, tool: str, *args: str, cwd: Path | None = None) -> str:
        result = subprocess.run([tool, *self._options(), *args], capture_output=True, text=True, cwd=cwd)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)}: {result.stderr.strip().splitlines()[-1:]}")
        return result.stdout

    def versions(self, package: str) -> list[str]:
        out = self.run("apt-cache", "madison", package)
        return [line.split("|")[1].strip() for line in out.splitlines() if line.count("|") >= 2]


def choose(versions: list[str], pin: str) -> str | None:
    """The Debian version whose upstream version equals the pin, else the newest of its minor."""
    exact = [v for v in versions if upstream_version(v) == pin]
    if exact:
        return exact[0]
    same_minor = [v for v in versions if minor(upstream_version(v)) == minor(pin)]
    same_minor.sort(key=lambda v: tuple(int(x) for x in upstream_version(v).split(".")), reverse=True)
    return same_minor[0] if same_minor else None


def fetch_from_debian(component: Component, pin: str, target: Path) -> str | None:
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        return None
    mirrors = debian_mirrors()
    if not mirrors:
        return None
    with tempfile.TemporaryDirectory(prefix="apt-", dir=TOOLS) as scratch:
        apt = ScratchApt(Path(scratch), mirrors[0])
        try:
            apt.run("apt-get", "update", "-qq")
        except RuntimeError as error:
            say(f"apt-get update of the newer Debian suites failed ({error}); trying upstream")
            return None
        chosen = {p: choose(apt.versions(p), pin) for p in component.debian_packages}
        if not all(chosen.values()):
            return None
        versions = {upstream_version(v) for v in chosen.values()}
        if len(versions) != 1:
            return None
        download = Path(scratch) / "debs"
        download.mkdir()
        apt.run("apt-get", "download", "-qq", *[f"{p}={v}" for p, v in chosen.items()], cwd=download)
        for deb in sorted(download.glob("*.deb")):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True)
        if component.name == "alertmanager":
            relocate_debian_alertmanager(target)
        say(f"{component.name}: Debian " + ", ".join(f"{p} {v}" for p, v in chosen.items()))
        return versions.pop()


# --- upstream release archives ---------------------------------------------------------------


def fetch_from_upstream(component: Component, pin: str, target: Path) -> str:
    system = platform.system().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
    if system not in ("linux", "darwin") or arch is None:
        fail(f"no {component.name} release archive for {platform.system()} {platform.machine()}: install "
             f"{component.name} {pin} yourself and link its binaries into {BIN}")
    base = f"https://github.com/prometheus/{component.name}/releases/download/v{pin}"
    archive = f"{component.name}-{pin}.{system}-{arch}.tar.gz"
    try:
        with urllib.request.urlopen(f"{base}/sha256sums.txt", timeout=60) as response:
            sums = dict(line.split()[::-1] for line in response.read().decode().splitlines() if line.strip())
        with urllib.request.urlopen(f"{base}/{archive}", timeout=300) as response:
            data = response.read()
    except OSError as error:
        fail(f"cannot download {base}/{archive} ({error}) and no Debian mirror has {component.name} {minor(pin)}.x")
    digest = hashlib.sha256(data).hexdigest()
    if sums.get(archive) != digest:
        fail(f"{archive}: sha256 {digest} does not match the published sha256sums.txt")
    with tempfile.TemporaryDirectory(dir=TOOLS) as scratch:
        path = Path(scratch) / archive
        path.write_bytes(data)
        with tarfile.open(path) as tar:
            tar.extractall(target, filter="data")
    inner = target / f"{component.name}-{pin}.{system}-{arch}"
    (target / "usr" / "bin").mkdir(parents=True, exist_ok=True)
    for link, inside in component.binaries.items():
        shutil.move(str(inner / link), str(target / inside))
    say(f"{component.name}: upstream {archive} (sha256 verified)")
    return pin


# --- versions ---------------------------------------------------------------------------------


def reported_version(binary: Path) -> str:
    result = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30)
    match = re.search(r"version (\d+\.\d+\.\d+)", result.stdout + result.stderr)
    if not match:
        fail(f"{binary} --version printed no version")
    return match.group(1)


def installed() -> dict[str, str]:
    try:
        return json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return {}


def obtain(component: Component, pin: str) -> str:
    stamp = installed()
    target = TOOLS / f"{component.name}-root"
    if stamp.get(component.name) and minor(stamp[component.name]) == minor(pin) and \
            all((BIN / link).exists() for link in component.binaries):
        if (target / "usr" / "bin" / "prometheus-alertmanager").exists():
            relocate_debian_alertmanager(target)  # the checkout may have moved since
        return stamp[component.name]
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    version = fetch_from_debian(component, pin, target) or fetch_from_upstream(component, pin, target)
    BIN.mkdir(parents=True, exist_ok=True)
    for link, inside in component.binaries.items():
        (BIN / link).unlink(missing_ok=True)
        (BIN / link).symlink_to(os.path.relpath(target / inside, BIN))
    stamp[component.name] = version
    STAMP.write_text(json.dumps(stamp, indent=2) + "\n")
    return version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="do not download; fail if a binary is missing")
    args = parser.parse_args(argv)
    TOOLS.mkdir(exist_ok=True)
    compose = COMPOSE.read_text()
    for component in COMPONENTS:
        pin = component.pinned_version(compose)
        if not args.check:
            obtain(component, pin)
        for link in component.binaries:
            if not (BIN / link).exists():
                fail(f"{BIN / link} is missing: run ./run-tests.sh (or python3 tools/monitoring_binaries.py)")
            version = reported_version(BIN / link)
            print(f"{link} {version}  (compose pins {component.image}:v{pin})")
            if minor(version) != minor(pin):
                fail(f"{link} is {version} but docker-compose.yml pins {component.image}:v{pin}: "
                     f"update the {component.image} pin to v{version} or obtain {minor(pin)}.x")
            if version != pin:
                say(f"warning: {link} {version} is not the pinned patch release: update {component.image} to v{version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
