"""The package builds as today's setuptools wants it: no deprecation warnings, a license expression, the Pythons
flytekit 1.16 installs on, and flytekitplugins as an implicit namespace package shared with other plugins."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_wheel_builds_without_warnings_and_declares_license_and_pythons(tmp_path):
    # Built from a copy without build/: setuptools reuses a checkout's build/lib, whose modules may be stale.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", "build", "*.egg-info", "__pycache__", ".git", "reports"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    assert "deprecat" not in (build.stdout + build.stderr).lower()
    (wheel,) = tmp_path.glob("flytekitplugins_backfill-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        text = archive.read(metadata).decode()
    assert "License-Expression: Apache-2.0" in text and "Requires-Python: >=3.9,<3.13" in text
    assert "flytekitplugins/__init__.py" not in names  # the namespace is implicit, shared with other plugins
    modules = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "flytekitplugins").rglob("*.py"))
    assert sorted(n for n in names if n.endswith(".py")) == modules  # every layer's modules, nothing stale
    requires = sorted(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Requires-Dist:"))
    assert [r for r in requires if "extra ==" not in r] == ["flytekit<2.0.0,>=1.16.0"]  # croniter only for benchmarks
