"""Memory guard: estimate what a run will allocate and refuse (exit 65) before trying.

A 1000x1000 map has a million units, and the batch rule's neighbourhood matrix is
units x units: 8 TB. Better one clear line with the estimate than an hour of
swapping or the kernel's OOM killer.
"""

from __future__ import annotations

import functools
import os
import re

from somcli.errors import DataError, UsageError

DEFAULT_SHARE = 0.75  # of the memory available when the run starts
_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


#: glibc's mallopt parameters, and what the command line sets them to (see :func:`settle`)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_FROM = 32 << 20  # blocks from this size are mapped and unmapped on their own
TRIM_FROM = 4 << 20  # free memory at the top of a heap past this goes back to the system


def settle() -> None:
    """Fixed thresholds for glibc's allocator, set by the command line before its run.

    By default glibc raises its mmap threshold to the size of each large block freed (up
    to 32 MB) and its trim threshold to twice that, so that after the first big temporary
    the heap is not trimmed until 64 MB lie free at its top: the peak of a run counts that
    garbage. Fixed thresholds (the highest mmap threshold, so no block that the heap would
    serve is mapped and faulted in again; a 4 MB trim threshold) lower the peak at the same
    speed (benchmarks/README.md, "Issue 30, fourth round"). Elsewhere than glibc this does
    nothing."""
    mallopt = getattr(_glibc(), "mallopt", None)
    if mallopt is not None:
        mallopt(M_MMAP_THRESHOLD, MMAP_FROM)
        mallopt(M_TRIM_THRESHOLD, TRIM_FROM)


def release() -> None:
    """Give memory freed by the last stage back to the system (glibc's malloc_trim; Dask
    recommends the same for its workers). Without it glibc keeps freed blocks in its
    per-thread arenas, and the peak RSS of a run counts the garbage of earlier stages:
    measured on 1M x 10, 381 MB with the threaded stages against 333 MB with trims.
    Elsewhere than glibc this does nothing."""
    trim = getattr(_glibc(), "malloc_trim", None)
    if trim is not None:
        trim(0)


@functools.cache
def _glibc():
    """glibc, loaded once (None elsewhere)."""
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6")
    except (OSError, AttributeError):
        return None


def available() -> int:
    """Bytes the kernel says are available now (MemAvailable), else free physical pages."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 40


def parse_limit(text: str | None) -> int:
    """'8G', '500M', '1.5T', '60%' (of available memory); None: 75 % of available."""
    if text is None:
        return int(DEFAULT_SHARE * available())
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?B?|%)\s*", str(text).upper())
    if not m:
        raise UsageError(f"--max-memory {text!r}: give a size like 8G or 500M, or a share like 60%")
    value, unit = float(m.group(1)), m.group(2)
    if unit == "%":
        return int(value / 100.0 * available())
    return int(value * _UNITS[unit.rstrip("B")])


def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1024 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024.0
    return f"{n:.1f} PB"


def som_estimate(n: int, d: int, units: int, itemsize: int, threads: int, chunk: int
                 ) -> dict[str, float]:
    return {
        "feature matrix": n * d * itemsize,
        "neighbourhood matrix (units x units)": 3.0 * units * units * 8,
        "distance blocks": 2.0 * threads * chunk * units * itemsize,
        "codebook and sums": 6.0 * units * d * 8,
        "per-row results": 48.0 * n,
    }


def kmeans_estimate(n: int, d: int, k: int) -> dict[str, float]:
    return {
        "feature matrix": 2.0 * n * d * 8,
        "distances to centres": 8.0 * n * k + 256.0 * 8 * k * 16,
        "per-row results": 32.0 * n,
    }


def check(parts: dict[str, float], limit: int | None, what: str) -> None:
    """Refuse a run estimated to need more than ``limit`` bytes (None: no limit)."""
    total = sum(parts.values())
    if limit is None or total <= limit:
        return
    top = sorted(parts.items(), key=lambda kv: -kv[1])[:2]
    detail = ", ".join(f"{name} {human(size)}" for name, size in top)
    raise DataError(f"{what} would need about {human(total)} ({detail}), more than "
                    f"--max-memory {human(limit)}",
                    "use a smaller --map, fewer rows or columns, or --dtype float32; or raise "
                    "--max-memory if the machine has the room")
