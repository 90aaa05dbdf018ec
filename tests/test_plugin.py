"""The package is a flytekit plugin: ``import flytekit`` alone adds the method, and the example demo works."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_python(code, cwd=ROOT, **kwargs):
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300, **kwargs)


def test_import_flytekit_alone_adds_backfill_through_the_entry_point(tmp_path):
    code = (
        "import sys, flytekit\n"
        "from flytekit import LaunchPlan\n"
        "from flytekit.remote.entities import FlyteLaunchPlan\n"
        "print(hasattr(LaunchPlan, 'backfill'), hasattr(FlyteLaunchPlan, 'backfill'),"
        " 'flytekitplugins.backfill' in sys.modules)\n"
    )
    out = run_python(code, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "True"]


def test_entry_point_is_declared_in_the_flytekit_plugins_group():
    from importlib.metadata import entry_points

    (ours,) = [ep for ep in entry_points(group="flytekit.plugins") if ep.name == "backfill"]
    assert ours.value == "flytekitplugins.backfill"


def test_namespace_package_has_no_init():
    import flytekitplugins

    assert getattr(flytekitplugins, "__file__", None) is None  # PEP 420 namespace, shared with other plugins


def test_demo_script_backfills_the_example_locally(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "backfill_locally.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "REPORT_DIR": str(tmp_path / "reports")},
    )
    assert out.returncode == 0, out.stderr
    assert "7 runs of cron '0 8 * * *' in UTC" in out.stdout
    ran = (tmp_path / "reports" / "runs.log").read_text().splitlines()
    assert [line.split()[0] for line in ran] == [f"2024-03-0{d}T08:00:00+00:00" for d in range(2, 9)]
    assert sorted(p.name for p in (tmp_path / "reports").glob("sales-*")) == [
        f"sales-emea-2024-03-0{d}.txt" for d in range(1, 8)
    ]


def test_readme_demo_command_runs_a_real_local_backfill(tmp_path):
    """`make demo` runs this command (see the Makefile); every run writes its report."""
    makefile = (ROOT / "Makefile").read_text()
    assert "pyflyte backfill --local examples/daily_report.py daily_report_lp" in makefile
    pyflyte = Path(sys.executable).parent / "pyflyte"
    out = subprocess.run(
        [str(pyflyte), "backfill", "--local", str(ROOT / "examples" / "daily_report.py"), "daily_report_lp",
         "--from-date", "2024-03-01T08:00:00Z", "--to-date", "2024-03-08T08:00:00Z"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "7 succeeded, 0 failed, 0 not run" in out.stdout
    assert sorted(p.name for p in (tmp_path / "reports").glob("sales-*")) == [
        f"sales-emea-2024-03-0{d}.txt" for d in range(1, 8)
    ]
