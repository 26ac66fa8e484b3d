"""Shared plumbing: paths, subprocess helpers, file locks, the skip exception."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

ORACLE_DIR = Path(__file__).resolve().parent.parent  # tests/oracle
REPO_DIR = ORACLE_DIR.parent.parent
SCENARIO_DIR = ORACLE_DIR / "scenarios"

# ctest maps this exit code to "Skipped" (SKIP_RETURN_CODE); never a pass.
EXIT_SKIP = 77


class Skip(Exception):
    """Something the suite needs is missing from this machine; the reason says what."""


class HarnessError(Exception):
    """The harness itself could not do its job (not a kernel-vs-expectation difference)."""


def default_cache_dir() -> Path:
    if "IOVAKIT_ORACLE_CACHE" in os.environ:
        return Path(os.environ["IOVAKIT_ORACLE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "iovakit-oracle"


def default_work_dir() -> Path:
    return Path(os.environ.get("IOVAKIT_ORACLE_WORK", ORACLE_DIR / "work"))


def log(msg: str) -> None:
    print(f"oracle: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], *, cwd: Path | None = None, timeout: float = 600, check: bool = True,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Runs a command, capturing output; a failure raises HarnessError with its stderr."""
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    except FileNotFoundError as e:
        raise HarnessError(f"{cmd[0]}: not installed") from e
    except subprocess.TimeoutExpired as e:
        raise HarnessError(f"{' '.join(cmd)}: timed out after {timeout:.0f} s") from e
    if check and p.returncode != 0:
        raise HarnessError(f"{' '.join(cmd)} exited {p.returncode}: {(p.stderr or p.stdout).strip()[-2000:]}")
    return p


def need_tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if not path:
        raise Skip(f"{name} is not installed (Debian package {package}; scripts/setup --oracle installs it)")
    return path


@contextlib.contextmanager
def locked(path: Path):
    """An exclusive lock on `path` (created if needed): ctest runs scenarios in
    parallel, and two of them may want the same download or DMAR dump."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def write_atomic(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    tmp.replace(path)
