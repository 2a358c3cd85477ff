"""The container image: it builds, and its HEALTHCHECK turns healthy on a fresh volume.

The image test needs a Docker daemon; where `docker info` gets no answer within seconds it
skips and says so. It is marked `docker`: `make test` leaves it out (building an image takes
minutes), `make test-docker` runs it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import tomllib
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "episode-bot:test"


def _daemon_missing() -> str | None:
    if shutil.which("docker") is None:
        return "no docker command on PATH"
    try:
        probe = subprocess.run(
            ["docker", "info", "--format", "{{json .ServerVersion}}"],
            capture_output=True, text=True, timeout=15, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return "the Docker daemon did not answer `docker info` within 15 s"
    if probe.returncode != 0:
        return "no Docker daemon answers: " + (probe.stderr.strip().splitlines() or ["?"])[-1]
    return None


@pytest.fixture(scope="module")
def image() -> str:
    reason = _daemon_missing()
    if reason is not None:
        pytest.skip(reason)
    subprocess.run(["docker", "build", "-t", IMAGE, str(ROOT)], check=True, timeout=800)
    return IMAGE


def _health(container: str) -> dict:
    out = subprocess.run(
        ["docker", "inspect", "--format", "{{json .State}}", container],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    return json.loads(out)


def test_the_image_gets_every_package_the_install_includes() -> None:
    """Runs everywhere (no Docker needed): a new top-level package must be copied too."""
    included = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (ROOT / "Dockerfile").read_text(), re.M))
    assert {pattern.rstrip("*") for pattern in included} == copied


@pytest.mark.docker
@pytest.mark.timeout(900)
def test_the_image_runs_as_non_root_and_becomes_healthy(image: str) -> None:
    name = f"episode-bot-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["docker", "run", "-d", "--name", name, "--health-interval", "2s",
         "--health-start-period", "1s", image],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        state = _health(name)
        while state.get("Health", {}).get("Status") != "healthy" and time.monotonic() < deadline:
            assert state["Running"], subprocess.run(
                ["docker", "logs", name], capture_output=True, text=True
            ).stderr
            time.sleep(1)  # polling the daemon, not timing anything
            state = _health(name)
        assert state["Health"]["Status"] == "healthy"
        user = subprocess.run(
            ["docker", "exec", name, "id", "-u"], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert user != "0"
        probe = subprocess.run(
            ["docker", "exec", name, "python", "-m", "web.healthcheck"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert probe.returncode == 0 and '"lease": "held"' in probe.stdout
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False, timeout=60)
