"""Memory figures of the bench's own process (Linux `/proc`, with a portable fallback)."""

from __future__ import annotations

import os
import resource


def rss_mb() -> float:
    """Resident memory now, in MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_rss_mb() -> float:
    """This process's peak resident memory, in MB.

    `VmHWM`, not `getrusage().ru_maxrss`: Linux carries ru_maxrss across exec, so a measuring
    subprocess started by a big `python -m bench` would report the parent's size."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # kB
