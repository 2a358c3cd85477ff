"""Databases the bot did not expect: a missing directory, a file that is not SQLite, a newer
schema, a read-only file or directory. Each is one line on stderr with exit 2, naming the
file, and the file is left exactly as it was."""

from __future__ import annotations

import ctypes
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.store.sqlite import MIGRATIONS
from episode_bot.cli import cli

FAM = "For All Mankind"


@pytest.fixture
def invoke(cli_dir):
    def run(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return run


def one_line_error(result, *words: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0]
    return lines[0]


# ----------------------------------------------------------------------------- item 2


def test_db_in_a_missing_directory_is_refused_and_nothing_is_created(invoke, tmp_path):
    target = tmp_path / "typo" / "nested" / "episode-bot.db"
    result = invoke("--db", str(target), "show", "list")
    one_line_error(result, str(target.parent), "does not exist")
    assert not (tmp_path / "typo").exists()


def test_env_db_in_a_missing_directory_is_refused(invoke, tmp_path, monkeypatch):
    target = tmp_path / "nowhere" / "bot.db"
    monkeypatch.setenv("EPISODE_BOT_DB", str(target))
    one_line_error(invoke("shows"), str(target.parent))
    assert not target.parent.exists()


def test_db_in_an_existing_directory_creates_only_the_file(invoke, tmp_path):
    target = tmp_path / "fresh.db"
    assert invoke("--db", str(target), "shows").exit_code == 0
    assert target.is_file()
    # Closed cleanly: no -wal/-shm left beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.db"]


# ----------------------------------------------------------------------------- item 8


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\xff garbage \x13" * 100,
        b"SQLite format 3\x00" + b"\x10\x00\x01\x01",  # a truncated header
        b"# my notes\nnot a database at all\n",
    ],
    ids=["garbage", "truncated", "text"],
)
@pytest.mark.parametrize("command", [["shows"], ["show", "add", FAM], ["status"]])
def test_a_file_that_is_not_sqlite_is_refused_and_never_written(invoke, tmp_path, content, command):
    target = tmp_path / "notes.db"
    target.write_bytes(content)
    result = invoke("--db", str(target), *command)
    one_line_error(result, str(target), "not an episode-bot database")
    assert target.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def test_another_programs_sqlite_file_is_refused_and_never_written(invoke, tmp_path):
    target = tmp_path / "places.sqlite"
    with sqlite3.connect(target) as conn:
        conn.execute("CREATE TABLE bookmarks (url TEXT)")
    conn.close()
    before = target.read_bytes()
    one_line_error(invoke("--db", str(target), "show", "add", FAM), "not an episode-bot database")
    assert target.read_bytes() == before


# ----------------------------------------------------------------------------- item 9


def test_a_newer_schema_is_refused_with_the_known_versions_and_nothing_changes(invoke, tmp_path):
    target = tmp_path / "future.db"
    assert invoke("--db", str(target), "show", "add", FAM).exit_code == 0
    newer = len(MIGRATIONS) + 1
    with sqlite3.connect(target) as conn:
        conn.execute(f"PRAGMA user_version = {newer}")
    conn.close()
    before = target.read_bytes()
    for command in (["shows"], ["show", "add", "Foundation"]):
        line = one_line_error(invoke("--db", str(target), *command), str(target))
        assert f"schema version {newer}" in line
        assert f"1 to {len(MIGRATIONS)}" in line
    assert target.read_bytes() == before


# ----------------------------------------------------------------------------- item 10


def _cli_env(target: Path) -> dict[str, str]:
    env = {**os.environ, "EPISODE_BOT_DB": str(target)}
    for key in ("DISCORD_TOKEN", "SLACK_BOT_TOKEN"):
        env.pop(key, None)
    return env


@pytest.fixture
def read_only_db(tmp_path) -> Iterator[Path]:
    """A database with one show, in a directory made read-only with the file."""
    folder = tmp_path / "ro"
    folder.mkdir()
    target = folder / "episode-bot.db"
    subprocess.run(
        [sys.executable, "-m", "episode_bot", "show", "add", FAM],
        cwd=folder, env=_cli_env(target), check=True, capture_output=True,
    )  # fmt: skip
    target.chmod(0o444)
    folder.chmod(0o555)
    yield target
    folder.chmod(0o755)


def _without_file_capabilities() -> None:
    """Root ignores file modes through three capabilities; drop them from the child's
    bounding set (PR_CAPBSET_DROP) so that it meets the modes as any other user would."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
        if libc.prctl(24, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


def run_without_write_access(target: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "episode_bot", *args],
        cwd=target.parent, env=_cli_env(target), capture_output=True, text=True,
        preexec_fn=_without_file_capabilities,
    )  # fmt: skip


def test_read_only_database_reads_work_and_writes_get_one_line(read_only_db):
    before = read_only_db.read_bytes()
    listed = run_without_write_access(read_only_db, "shows")
    assert listed.returncode == 0, listed.stderr
    assert FAM in listed.stdout
    assert run_without_write_access(read_only_db, "status").returncode == 0
    assert run_without_write_access(read_only_db, "schedule", FAM).returncode == 0

    added = run_without_write_access(read_only_db, "show", "add", "Foundation")
    assert added.returncode == 2, added.stderr
    lines = added.stderr.strip().splitlines()
    assert len(lines) == 1 and "read-only" in lines[0] and str(read_only_db) in lines[0]
    assert "Traceback" not in added.stderr

    assert read_only_db.read_bytes() == before
    assert sorted(p.name for p in read_only_db.parent.iterdir()) == ["episode-bot.db"]
    assert stat.S_IMODE(read_only_db.stat().st_mode) == 0o444


def test_a_read_only_database_a_writer_left_unreadable_is_one_line(read_only_db):
    # A writer's -wal beside the file, and a directory where no -shm can be made.
    folder = read_only_db.parent
    folder.chmod(0o755)
    (folder / "episode-bot.db-wal").write_bytes(b"")
    folder.chmod(0o555)
    result = run_without_write_access(read_only_db, "shows")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(read_only_db) in lines[0], result.stderr
    assert "not an episode-bot database" not in lines[0]
