"""`-c/--config` as pyflyte takes it (issue 17 #3): `python -m flytekitplugins.backfill -c FILE` and `pyflyte -c FILE
backfill` reach the backend the file names, with no FLYTECTL_CONFIG or FLYTE_PLATFORM_* in the environment."""

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from test_command_driver import LP_NAME, START, flyte  # noqa: F401
from test_signals import BIN

WINDOW = ["--from-date", START.isoformat(), "--to-date", (START + dt.timedelta(hours=3)).isoformat()]


def bare_env(tmp_path):
    """No Flyte settings at all: a fresh HOME, no FLYTE* or FLYTECTL* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLYTE", "_FLYTECTL"))}
    return {**env, "HOME": str(tmp_path), "PATH": BIN + os.pathsep + env.get("PATH", "")}


@pytest.mark.parametrize("command", [
    [sys.executable, "-m", "flytekitplugins.backfill", "-c", "{config}"],
    [sys.executable, "-m", "flytekitplugins.backfill", "--config", "{config}"],
    ["pyflyte", "-c", "{config}", "backfill"],
], ids=["python -m -c", "python -m --config", "pyflyte -c"])  # fmt: skip
def test_the_config_file_names_the_backend(flyte, tmp_path, command):
    args = [word.format(config=flyte.config_file) for word in command]
    result = subprocess.run([*args, LP_NAME, *WINDOW, "--dry-run", "--output", "json"], env=bare_env(tmp_path),
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["launch_plan"] == {"name": LP_NAME, "version": "v1"}  # fetched from the backend the file names


def test_without_it_the_command_does_not_find_that_backend(flyte, tmp_path):
    result = subprocess.run([sys.executable, "-m", "flytekitplugins.backfill", LP_NAME, *WINDOW, "--dry-run"],
                            env=bare_env(tmp_path), capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 1 and "not answering" in result.stderr


def test_the_file_given_wins_over_flytectl_config(flyte, tmp_path):
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("admin:\n  endpoint: dns:///127.0.0.1:1\n  insecure: true\n")
    env = {**bare_env(tmp_path), "FLYTECTL_CONFIG": str(wrong)}
    base = [sys.executable, "-m", "flytekitplugins.backfill", LP_NAME, *WINDOW, "--dry-run", "--output", "json"]
    without = subprocess.run(base, env=env, capture_output=True, text=True, timeout=120)
    assert without.returncode == 1 and "127.0.0.1:1" in without.stderr  # FLYTECTL_CONFIG names the backend...
    given = subprocess.run([*base, "-c", flyte.config_file], env=env, capture_output=True, text=True, timeout=120)
    assert given.returncode == 0, given.stderr  # ...unless -c names another
