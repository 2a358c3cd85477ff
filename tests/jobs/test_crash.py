"""SIGKILL in the middle of a fan-out, then a restart: no channel twice, none missed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.commands import Commands
from bot.models import ChannelRef
from bot.store import open_store
from tests.jobs.support import FAM, FAM_DROPS, OPERATOR, START

ROOT = Path(__file__).resolve().parents[2]
CHANNELS = 120
KILL_AFTER = 37


def prepare(db: Path) -> None:
    store = open_store(db)
    commands = Commands(store, FixedClock(START))
    commands.show_add(OPERATOR, FAM, tz="America/New_York")
    commands.season_add(OPERATOR, FAM, 4, premiere="2023-11-10", episodes=10, every="friday")
    for n in range(CHANNELS):
        commands.subscribe(OPERATOR, ChannelRef.parse(f"console:ch{n:03d}"), FAM)
    store.close()


def child(db: Path, posts: Path, block_after: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.jobs.crash_child", str(db), str(posts),
         FAM_DROPS[0].isoformat(), str(block_after)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def lines(posts: Path) -> list[str]:
    return posts.read_text().splitlines() if posts.exists() else []


@pytest.mark.slow
def test_sigkill_mid_fan_out_then_restart_posts_each_channel_exactly_once(
    tmp_path: Path,
) -> None:
    db, posts = tmp_path / "bot.db", tmp_path / "posts.txt"
    prepare(db)

    first = child(db, posts, KILL_AFTER)
    deadline = time.monotonic() + 15
    while len(lines(posts)) < KILL_AFTER:  # the child's readiness signal is the file itself
        assert first.poll() is None, first.stderr.read() if first.stderr else ""
        assert time.monotonic() < deadline, "the child never reached the kill point"
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    assert len(lines(posts)) == KILL_AFTER  # every later send was blocked before posting

    store = open_store(db)
    counts = store.outbox_counts()
    store.close()
    assert counts["sending"] >= 1  # killed mid-fan-out: claimed rows were left behind
    assert counts["sent"] < KILL_AFTER  # at least the last accepted post was never recorded

    second = child(db, posts, 0)
    out, err = second.communicate(timeout=20)
    assert second.returncode == 0, err
    summary = json.loads(out)
    assert summary["recovered"] == counts["sending"]
    assert summary["outbox"]["sent"] == CHANNELS
    assert summary["outbox"]["sending"] == summary["outbox"]["pending"] == 0

    posted = [line.split(" ", 1)[1] for line in lines(posts)]
    assert len(posted) == CHANNELS, "a channel was posted twice"
    assert sorted(posted) == [f"ch{n:03d}" for n in range(CHANNELS)], "a channel was missed"
