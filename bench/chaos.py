"""Fault loops (`make chaos`, not part of `make test`): "every drop posted once" against the
real `episode-bot run` process and the fake Discord server, with the fake's nonce memory OFF
(as if Discord had forgotten every nonce), so only fencing, kept results and the
find-before-resend rule stand between a fault and a duplicate.

Each trial gets a fresh database with one drop due now to N channels; the fake's
`on_message` hook injects the fault at a random point of the fan-out (after k posts):

* kill:  SIGKILL `run` (answers slowed by a random 0-300 ms, so posts are accepted but not
         yet recorded), restart it at once; in half the trials the restarted one is killed
         again at a random moment (start-up, recovery, fan-out) and restarted.
* pause: SIGSTOP `run` (A); once its lease is stale a second `run` (B) takes over; SIGCONT A
         while B is mid fan-out or after it finished. A must exit (code 3) without posting.
* disk:  the database lives on a small tmpfs; fill it to the last byte mid fan-out, free it
         a few seconds later. Results are kept, nothing is sent meanwhile.

Counted on the fake, per channel: duplicates (posts beyond the first) and lost (none), and
from the database: rows not `sent`, and the time from the fault clearing (restart, CONT,
disk freed) until every row is `sent` (target: within a minute).

    python -m bench.chaos [--only kill|pause|disk] [--kill-trials 50] [--pause-trials 10]
                          [--disk-trials 5] [--seed N] [--logs DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.fanout import prepare_drops
from fakes.discord_api import FakeDiscord

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "chaos-token-not-secret"
TENANT = "900000000000000001"
LEASE_SECONDS = 4  # the lease's stale time in the pause loop (the default 30 s works alike)
SETTLE_TIMEOUT = 60.0  # every row must be `sent` within this of the fault clearing


@dataclass
class LoopFigures:
    name: str
    trials: int = 0
    faults: int = 0
    posts: int = 0
    duplicates: int = 0
    lost: int = 0
    not_sent: int = 0
    unchecked: int = 0
    worst_settle_s: float = 0.0
    exit_codes: Counter[int] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.exit_codes.items()))
        return (
            f"{self.name}: {self.trials} trials, {self.faults} faults, {self.posts} posts; "
            f"duplicates {self.duplicates}, lost {self.lost}, rows not sent {self.not_sent}, "
            f"unchecked resends {self.unchecked}; slowest settle {self.worst_settle_s:.1f} s "
            f"after the fault cleared (limit {SETTLE_TIMEOUT:.0f} s); exit codes {{{codes}}}"
        )


class Bot:
    """One `episode-bot run` process talking to the fake."""

    def __init__(self, db: Path, api: FakeDiscord, log: Path, lease_seconds: float = 30) -> None:
        self.db, self.api, self.log, self.lease_seconds = db, api, log, lease_seconds
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> Bot:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_"))}
        env.update({
            "PYTHONPATH": str(ROOT),
            "EPISODE_BOT_DB": str(self.db),
            "EPISODE_BOT_LEASE_SECONDS": str(self.lease_seconds),
            "EPISODE_BOT_WEB_PORT": "0",  # two runners at once (the pause loop): no port clash
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_APPLICATION_ID": str(self.api.application_id),
            "DISCORD_API_BASE": self.api.base_url,
        })  # fmt: skip
        with self.log.open("a") as sink:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "episode_bot.cli", "run",
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink,
            )  # fmt: skip
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    async def wait(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.signal(signal.SIGKILL)
            await self.proc.wait()
            return -999  # did not exit by itself

    async def stop(self) -> int:
        self.signal(signal.SIGTERM)
        return await self.wait()


class Trial:
    """One fresh database, one drop due now to `channels` channels of the fake."""

    def __init__(self, api: FakeDiscord, workdir: Path, number: int, channels: int) -> None:
        self.api = api
        self.db = workdir / f"trial{number}.db"
        self.log = workdir / f"trial{number}.log"
        base = 100_000_000_000_000_000 + number * 10_000
        self.channels = [str(base + n) for n in range(channels)]
        self.mine = set(self.channels)
        self.posts = 0
        self.triggers: list[tuple[int, Any]] = []  # (after this many posts, callback)

    def prepare(self) -> None:
        drop_at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
        prepare_drops(
            self.db, "discord", [("Chaos Show", [(TENANT, c) for c in self.channels])], drop_at
        )

    def on_message(self, message: dict[str, Any]) -> None:
        if message["channel_id"] not in self.mine:
            return
        self.posts += 1
        for after, callback in list(self.triggers):
            if self.posts >= after:
                self.triggers.remove((after, callback))
                callback()

    def at_post(self, after: int, callback: Any) -> None:
        self.triggers.append((after, callback))

    def states(self) -> Counter[str]:
        conn = sqlite3.connect(self.db, timeout=5)
        try:
            return Counter(
                dict(conn.execute("SELECT state, COUNT(*) FROM notifications GROUP BY state"))
            )
        finally:
            conn.close()

    def unchecked(self) -> int:
        conn = sqlite3.connect(self.db, timeout=30)
        try:
            query = "SELECT COUNT(*) FROM notifications WHERE unchecked_resend = 1"
            return conn.execute(query).fetchone()[0]
        finally:
            conn.close()

    async def settle(self, since: float) -> float | None:
        """Seconds from `since` until every row is `sent`; None if not within the limit."""
        while time.monotonic() - since < SETTLE_TIMEOUT:
            with contextlib.suppress(sqlite3.OperationalError):
                # In a thread: the fake Discord shares this event loop and must keep answering.
                states = await asyncio.to_thread(self.states)
                if states["sent"] == len(self.channels) and sum(states.values()) == len(
                    self.channels
                ):
                    return time.monotonic() - since
            await asyncio.sleep(0.1)
        return None

    def count(self, figures: LoopFigures) -> None:
        per_channel = [self.api.message_count(c) for c in self.channels]
        figures.trials += 1
        figures.posts += sum(per_channel)
        figures.duplicates += sum(max(0, n - 1) for n in per_channel)
        figures.lost += sum(1 for n in per_channel if n == 0)
        with contextlib.suppress(sqlite3.OperationalError):
            states = self.states()
            figures.not_sent += len(self.channels) - states["sent"]
            figures.unchecked += self.unchecked()


async def _settled(trial: Trial, figures: LoopFigures, since: float, label: str) -> None:
    took = await trial.settle(since)
    if took is None:
        figures.notes.append(f"{label}: not every row sent within {SETTLE_TIMEOUT:.0f} s")
        figures.worst_settle_s = max(figures.worst_settle_s, SETTLE_TIMEOUT)
    else:
        figures.worst_settle_s = max(figures.worst_settle_s, took)


async def kill_loop(
    api: FakeDiscord, workdir: Path, trials: int, rng: random.Random
) -> LoopFigures:
    figures = LoopFigures("SIGKILL at random points")
    for number in range(trials):
        trial = Trial(api, workdir, number, channels=40)
        trial.prepare()
        api.on_message = trial.on_message
        api.answer_delay = rng.uniform(0.0, 0.3)
        first = await Bot(trial.db, api, trial.log).start()
        killed = asyncio.Event()

        def kill(bot: Bot = first, done: asyncio.Event = killed) -> None:
            bot.signal(signal.SIGKILL)  # inside the fake's handler: mid fan-out, posts in flight
            done.set()

        trial.at_post(rng.randint(1, len(trial.channels) - 1), kill)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(killed.wait(), 60)
        figures.exit_codes[await first.wait()] += 1
        figures.faults += 1
        api.answer_delay = 0.0
        restarted = await Bot(trial.db, api, trial.log).start()
        if rng.random() < 0.5:  # and again, anywhere in start-up, recovery or the fan-out
            await asyncio.sleep(rng.uniform(0.2, 3.0))
            restarted.signal(signal.SIGKILL)
            figures.exit_codes[await restarted.wait()] += 1
            figures.faults += 1
            restarted = await Bot(trial.db, api, trial.log).start()
        await _settled(trial, figures, time.monotonic(), f"kill trial {number}")
        figures.exit_codes[await restarted.stop()] += 1
        trial.count(figures)
    return figures


async def pause_loop(
    api: FakeDiscord, workdir: Path, trials: int, rng: random.Random
) -> LoopFigures:
    figures = LoopFigures(f"SIGSTOP/SIGCONT across a takeover (lease {LEASE_SECONDS} s)")
    for number in range(trials):
        trial = Trial(api, workdir, 1000 + number, channels=60)
        trial.prepare()
        api.on_message = trial.on_message
        api.answer_delay = rng.uniform(0.0, 0.1)
        paused = await Bot(trial.db, api, trial.log, LEASE_SECONDS).start()
        stopped = asyncio.Event()

        def stop(bot: Bot = paused, done: asyncio.Event = stopped) -> None:
            bot.signal(signal.SIGSTOP)
            done.set()

        k = rng.randint(1, len(trial.channels) // 2)
        trial.at_post(k, stop)
        await asyncio.wait_for(stopped.wait(), 60)
        figures.faults += 1
        await asyncio.sleep(LEASE_SECONDS + 1.5)  # its heartbeat goes stale
        successor = await Bot(trial.db, api, trial.log, LEASE_SECONDS).start()
        resumed_at: list[float] = []

        def resume(bot: Bot = paused, at: list[float] = resumed_at) -> None:
            bot.signal(signal.SIGCONT)
            at.append(time.monotonic())

        successor_exit = asyncio.ensure_future(successor.wait(SETTLE_TIMEOUT * 2))
        if rng.random() < 0.6:  # wake it up while the successor is mid fan-out
            trial.at_post(trial.posts + rng.randint(1, 10), resume)
        settled = asyncio.ensure_future(trial.settle(time.monotonic()))
        await asyncio.wait({settled, successor_exit}, return_when=asyncio.FIRST_COMPLETED)
        if successor_exit.done():
            # The successor could not start: the paused runner was stopped inside a write
            # transaction and holds SQLite's write lock until it resumes (or dies).
            figures.exit_codes[successor_exit.result()] += 1
            figures.notes.append(
                f"pause trial {number}: paused inside a write transaction; the successor "
                f"exited {successor_exit.result()} (database locked), the runner resumed"
            )
            settled.cancel()
            resume()
            await _settled(trial, figures, time.monotonic(), f"pause trial {number}")
            figures.exit_codes[await paused.stop()] += 1
            trial.count(figures)
            continue
        took = await settled
        if not resumed_at:  # or after the successor finished
            resume()
        if took is None:
            figures.notes.append(f"pause trial {number}: not every row sent within the limit")
        figures.worst_settle_s = max(figures.worst_settle_s, took or SETTLE_TIMEOUT)
        figures.exit_codes[await paused.wait()] += 1  # expected: 3, the lease is over
        successor.signal(signal.SIGTERM)
        figures.exit_codes[await successor_exit] += 1
        trial.count(figures)
    return figures


@contextlib.contextmanager
def small_tmpfs(size_mb: int = 16) -> Any:
    """A tmpfs of `size_mb`, or None where mounting is not allowed."""
    mountpoint = Path(tempfile.mkdtemp(prefix="episode-bot-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(mountpoint)],
        capture_output=True,
    ).returncode == 0  # fmt: skip
    try:
        yield mountpoint if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", str(mountpoint)], check=False)
        mountpoint.rmdir()


def fill(directory: Path) -> Path:
    """Write zeros until the filesystem refuses (ENOSPC): the disk is full to the last byte."""
    filler = directory / "filler"
    chunk = b"\0" * (1 << 16)
    with filler.open("wb", buffering=0) as sink:
        with contextlib.suppress(OSError):
            while True:
                sink.write(chunk)
        with contextlib.suppress(OSError):
            while True:
                sink.write(b"\0")
    return filler


async def disk_loop(
    api: FakeDiscord, workdir: Path, trials: int, rng: random.Random
) -> LoopFigures:
    figures = LoopFigures("database disk full mid fan-out (tmpfs), freed 3-6 s later")
    with small_tmpfs() as disk:
        if disk is None:
            figures.notes.append("skipped: this machine does not allow mounting a tmpfs")
            return figures
        for number in range(trials):
            trial = Trial(api, disk, 2000 + number, channels=200)
            trial.log = workdir / f"disk{number}.log"
            trial.prepare()
            api.on_message = trial.on_message
            api.answer_delay = 0.0
            bot = await Bot(trial.db, api, trial.log).start()
            full = asyncio.Event()
            fillers: list[Path] = []
            posts_at_fill: list[int] = []

            def fill_disk(
                done: asyncio.Event = full,
                made: list[Path] = fillers,
                seen: list[int] = posts_at_fill,
                current: Trial = trial,
            ) -> None:
                made.append(fill(disk))
                seen.append(current.posts)
                done.set()

            trial.at_post(rng.randint(10, len(trial.channels) // 2), fill_disk)
            await asyncio.wait_for(full.wait(), 60)
            figures.faults += 1
            await asyncio.sleep(rng.uniform(3.0, 6.0))
            while_full = trial.posts - posts_at_fill[0]
            fillers[0].unlink()  # freed
            await _settled(trial, figures, time.monotonic(), f"disk trial {number}")
            figures.notes.append(
                f"trial {number}: {while_full} post(s) accepted after the disk filled "
                "(in flight, or before the first refused write)"
            )
            figures.exit_codes[await bot.stop()] += 1
            trial.count(figures)
            for leftover in disk.iterdir():
                leftover.unlink()
    return figures


async def main_async(args: argparse.Namespace) -> list[LoopFigures]:
    rng = random.Random(args.seed)
    results = []
    with tempfile.TemporaryDirectory(prefix="episode-bot-chaos-") as tmp:
        workdir = Path(args.logs or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        async with FakeDiscord(token=TOKEN, global_limit=None, remember_nonces=False) as api:
            api.record_requests = False
            loops = {
                "kill": lambda: kill_loop(api, workdir, args.kill_trials, rng),
                "pause": lambda: pause_loop(api, workdir, args.pause_trials, rng),
                "disk": lambda: disk_loop(api, workdir, args.disk_trials, rng),
            }
            for name, loop in loops.items():
                if args.only in (None, name):
                    started = time.monotonic()
                    figures = await loop()
                    figures.notes.append(f"loop took {time.monotonic() - started:.0f} s")
                    print(figures.line(), flush=True)
                    for note in figures.notes:
                        print(f"  {note}", flush=True)
                    results.append(figures)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["kill", "pause", "disk"])
    parser.add_argument("--kill-trials", type=int, default=50)
    parser.add_argument("--pause-trials", type=int, default=10)
    parser.add_argument("--disk-trials", type=int, default=5)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--logs", help="keep the databases and the bots' logs in this directory")
    results = asyncio.run(main_async(parser.parse_args()))
    bad = any(f.duplicates or f.lost or f.not_sent for f in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
