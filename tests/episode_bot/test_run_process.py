"""`episode-bot run` as a real process: the console adapter posts a change made by the CLI in
another process (picked up through the change counter), and SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "episode_bot.cli", "--db", str(db), *args],
        cwd=ROOT, env=_env(db), capture_output=True, text=True, check=True,
    )  # fmt: skip


def _env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_"))}
    return {**env, "PYTHONPATH": str(ROOT), "EPISODE_BOT_DB": str(db)}


def wait_until(predicate, what: str, seconds: float = 10) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_run_picks_up_cli_changes_and_stops_on_sigterm(tmp_path: Path) -> None:
    db, out = tmp_path / "bot.db", tmp_path / "run.out"
    cli(db, "show", "add", "For All Mankind", "--tz", "America/New_York", "--network", "Apple TV+")
    cli(db, "subscribe", "console:general", "For All Mankind")
    with out.open("w") as sink:
        bot = subprocess.Popen(
            [sys.executable, "-m", "episode_bot.cli", "--db", str(db), "run"],
            cwd=ROOT, env=_env(db), stdin=subprocess.DEVNULL, stdout=sink,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    try:
        wait_until(lambda: "episode-bot running" in out.read_text(), "start-up")
        assert "DISCORD_TOKEN" in out.read_text()  # says how to add a platform
        cli(db, "season", "add", "For All Mankind", "4", "--premiere", "2099-11-10",
            "--episodes", "10", "--every", "friday")  # fmt: skip
        wait_until(lambda: "[console:general]" in out.read_text(), "the announcement post")
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.wait(timeout=10)
    text = out.read_text()
    assert bot.returncode == 0, text
    assert "stopping" in text
    assert text.count("[console:general]") == 1
    status = cli(db, "status", "--json").stdout
    assert '"sent": 1' in status and "drop:2099-11-10T05:00:00Z" in status
