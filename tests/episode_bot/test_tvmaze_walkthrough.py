"""README "Follow a show from TVmaze", as a user without the network tries it: the fake
TVmaze runs as a program (`python -m fakes.tvmaze`) and `TVMAZE_API_BASE` points at it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from episode_bot.cli import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_tvmaze_program() -> Iterator[str]:
    """The fake as README starts it; its first line names the base URL once it listens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "fakes.tvmaze", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "TVMAZE_API_BASE=" in first, first
        yield first.strip().rpartition("TVMAZE_API_BASE=")[2]
    finally:
        process.terminate()
        process.wait(10)


def test_the_readme_import_works_against_the_fake_program(
    cli_dir, monkeypatch, fake_tvmaze_program
):
    monkeypatch.setenv("TVMAZE_API_BASE", fake_tvmaze_program)
    runner = CliRunner()
    result = runner.invoke(cli, ["show", "import", "For All Mankind", "--tz", "America/New_York"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "Imported For All Mankind (Apple TV+) from TVmaze (tvmaze:36947)"
    )
    schedule = runner.invoke(cli, ["schedule", "For All Mankind", "--season", "4"])
    assert "S4E1   Fri 13 Oct 2023 00:00 EDT" in schedule.output  # as first announced
    # README shows the lines the fake gives, so a user trying it sees what README says.
    readme = (ROOT / "README.md").read_text()
    s4e1 = next(line for line in schedule.output.splitlines() if "S4E1" in line)
    assert f"# {s4e1}\n" in readme
    imported = result.output.splitlines()[0]
    assert f"# {imported}\n" in readme
