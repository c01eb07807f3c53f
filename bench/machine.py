"""The line every bench script prints first: what the figures were measured on."""
import os
import platform
import subprocess
from pathlib import Path


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next(line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def _memory() -> str:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return "memory unknown"
    return f"{pages * size / 2**30:.0f} GiB"


def _commit() -> str:
    """The code measured: the checked-out commit, marked when files differ from it."""
    here = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "-C", here, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", here, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "commit unknown"
    return f"commit {commit}{' with changes' if dirty else ''}"


def describe() -> str:
    load = ", load %.1f" % os.getloadavg()[0] if hasattr(os, "getloadavg") else ""
    return (f"machine: {_cpu()}, {os.cpu_count()} cores, {_memory()}, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}{load}; {_commit()}")
