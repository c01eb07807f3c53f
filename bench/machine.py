"""The line every bench script prints first: what the figures were measured on."""
import os
import platform


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


def describe() -> str:
    load = ", load %.1f" % os.getloadavg()[0] if hasattr(os, "getloadavg") else ""
    return (f"machine: {_cpu()}, {os.cpu_count()} cores, {_memory()}, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}{load}")
