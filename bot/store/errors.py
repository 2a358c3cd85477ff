"""What a store raises that a caller can act on, whatever the database behind it."""

from __future__ import annotations


class StoreUnavailable(Exception):
    """The database cannot take a write (or answer a read) right now: the disk is full, the
    file is locked by another process for longer than the busy timeout, an I/O error.

    Nothing was changed. The same call may succeed later, so the delivery engine keeps what it
    wanted to write and tries again; a bug (bad SQL, a missing table) is never reported as this.
    """


class FencedOut(Exception):
    """The caller's lease generation is over: another runner took the lease since.

    Raised instead of changing an outbox row, so a runner that was paused (SIGSTOP, a VM
    migration, a long GC pause) cannot overwrite the work of the one that took over.
    """
