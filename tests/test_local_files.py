"""`pyflyte backfill --local FILE LAUNCHPLAN` loads the user's file as `pyflyte run` would (its own package, absolute
and relative imports), never shadows or replaces another module, and says in one line why a file cannot be loaded."""

import datetime as stdlib_datetime
import importlib.util
import itertools
import sys
import textwrap
from datetime import datetime, timezone
from importlib.machinery import PathFinder
from pathlib import Path

import flows as project_flows  # tests/flows.py, imported as `flows` by conftest.py
import pytest
import rich
from click.testing import CliRunner

from flytekitplugins.backfill.command.cli import backfill
from flytekitplugins.backfill.command.local_files import PRIVATE_PREFIX, load_launch_plan

WINDOW = ["--from-date", "2024-01-01", "--to-date", "2024-01-03"]  # runs at Jan 2 and Jan 3, 00:00 UTC
RUN_DAYS = [datetime(2024, 1, d, tzinfo=timezone.utc) for d in (2, 3)]
_names = itertools.count()

FLOWS = """
from datetime import datetime
from typing import List

from flytekit import CronSchedule, LaunchPlan, task, workflow
{imports}

SEEN: List[tuple] = []


@task
def record(t: datetime) -> str:
    SEEN.append((t, {value}))
    return {value}


@workflow
def daily(t: datetime) -> str:
    return record(t=t)


lp = LaunchPlan.get_or_create(
    workflow=daily, name="{lp_name}", schedule=CronSchedule(schedule="0 0 * * *", kickoff_time_input_arg="t")
)
"""


def flows_source(imports: str = "", value: str = "'plain'") -> str:
    """A file with a daily launch plan `lp` (uniquely named: flytekit caches launch plans by name) whose task records
    each kickoff time with ``value``."""
    return FLOWS.format(imports=imports, value=value, lp_name=f"files_lp_{next(_names)}")


def write(root: Path, files: dict) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def run(path, name="lp", *extra):
    return CliRunner().invoke(backfill, ["--local", str(path), name, *WINDOW, *extra])


def module_of(file: Path):
    """The module imported from ``file``, whatever its name."""
    modules = list(sys.modules.values())
    found = [m for m in modules if getattr(m, "__file__", None) and Path(m.__file__) == file.resolve()]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(autouse=True)
def isolated(tmp_path):
    """Forgets the modules imported from this test's files and restores sys.path, so tests cannot see each other's
    packages. colorsys (stdlib) starts unimported, to show that a user's colorsys.py does not become it later."""
    path = list(sys.path)
    colorsys = sys.modules.pop("colorsys", None)
    yield
    sys.path[:] = path
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if (file and Path(file).resolve().is_relative_to(tmp_path.resolve())) or name.startswith(PRIVATE_PREFIX):
            del sys.modules[name]
    sys.modules.pop("colorsys", None)
    if colorsys is not None:
        sys.modules["colorsys"] = colorsys


def assert_ran(result, module, value):
    assert result.exit_code == 0, result.output
    assert module.SEEN == [(day, value) for day in RUN_DAYS]
    assert "2 succeeded, 0 failed, 0 not run" in result.stdout
    for day in ("2024-01-02", "2024-01-03"):
        assert f"{day}T00:00:00Z │ SUCCEEDED" in result.stdout


# 1. a file in a package is imported as the package's module --------------------------------------------------------


PACKAGES = {
    "absolute": ("pkg/flows.py", "from pkg.helpers import GREETING"),
    "relative": ("pkg/flows.py", "from .helpers import GREETING"),
    "nested, relative to the parent": ("pkg/sub/flows.py", "from ..helpers import GREETING"),
    "nested, absolute": ("pkg/sub/flows.py", "from pkg.helpers import GREETING"),
}


@pytest.mark.parametrize("where, imports", PACKAGES.values(), ids=PACKAGES.keys())
def test_a_file_importing_its_own_package_runs_like_pyflyte_run(tmp_path, monkeypatch, where, imports):
    write(tmp_path, {"pkg/__init__.py": "", "pkg/sub/__init__.py": "", "pkg/helpers.py": "GREETING = 'hi from helpers'",
                     where: flows_source(imports, value="GREETING")})  # fmt: skip
    monkeypatch.chdir(tmp_path)  # as a user would type it: pyflyte backfill --local pkg/flows.py lp
    result = run(where)
    module = sys.modules[where[:-3].replace("/", ".")]  # imported under its dotted name, as pyflyte run does
    assert_ran(result, module, "hi from helpers")
    assert module.__file__ == str(tmp_path / where)
    assert sys.modules["pkg.helpers"].__file__ == str(tmp_path / "pkg" / "helpers.py")


def test_the_project_root_goes_at_the_end_of_sys_path(tmp_path):
    write(tmp_path, {"pkg/__init__.py": "", "pkg/helpers.py": "GREETING = 'hi'\n",
                     "pkg/flows.py": flows_source("from pkg.helpers import GREETING", "GREETING")})  # fmt: skip
    before = list(sys.path)
    load_launch_plan(str(tmp_path / "pkg" / "flows.py"), "lp")
    assert sys.path == [*before, str(tmp_path)]


def test_the_same_file_loads_once_and_keeps_its_launch_plan_objects(tmp_path):
    write(tmp_path, {"pkg/__init__.py": "", "pkg/helpers.py": "GREETING = 'hi'\n",
                     "pkg/flows.py": flows_source("from .helpers import GREETING", "GREETING")})  # fmt: skip
    file = tmp_path / "pkg" / "flows.py"
    lp = load_launch_plan(str(file), "lp")
    assert load_launch_plan(str(file), "lp") is lp
    assert load_launch_plan(str(file), lp.name) is lp  # by launch plan name
    module = sys.modules["pkg.flows"]
    assert_ran(run(file), module, "hi")
    second = run(file)  # the same module again: its SEEN now holds both backfills
    assert second.exit_code == 0 and module.SEEN == [(day, "hi") for day in RUN_DAYS * 2]
    assert sys.modules["pkg.flows"] is module


def test_a_missing_launch_plan_names_the_ones_the_file_defines(tmp_path):
    write(tmp_path, {"flows_here.py": flows_source()})
    result = run(tmp_path / "flows_here.py", "nope")
    lp_name = module_of(tmp_path / "flows_here.py").lp.name
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: {tmp_path / 'flows_here.py'} defines no launch plan 'nope'; it defines lp (named {lp_name})"
    ]


# 2. the user's file never shadows or replaces another module ---------------------------------------------------------


def test_a_file_named_datetime_gets_the_real_datetime_and_leaves_it_alone(tmp_path):
    """The file does `from datetime import datetime` itself: it must get the standard library's class."""
    value = "next_to_it.VALUE + ':' + datetime.now().isoformat()[:2]"  # the real datetime class: now() is a year
    write(tmp_path, {"datetime.py": flows_source("import next_to_it", value), "next_to_it.py": "VALUE = 'sibling'\n"})
    file = tmp_path / "datetime.py"
    result = run(file)
    module = module_of(file)
    assert_ran(result, module, "sibling:20")
    assert sys.modules["datetime"] is stdlib_datetime and module is not stdlib_datetime
    assert module.__name__.startswith(PRIVATE_PREFIX)
    assert PathFinder.find_spec("datetime").origin == stdlib_datetime.__file__  # nothing shadows it for a later import
    assert load_launch_plan(str(file), "lp") is module.lp  # and a private name is reused too


COLLIDING = {
    "datetime": lambda: stdlib_datetime.__file__,  # stdlib, imported
    "rich": lambda: rich.__file__,  # installed, imported
    "flows": lambda: project_flows.__file__,  # this project's module, imported from another directory
    "colorsys": lambda: importlib.util.find_spec("colorsys").origin,  # stdlib, not imported yet
}


@pytest.mark.parametrize("name", COLLIDING)
def test_a_file_named_like_another_module_runs_without_replacing_it(tmp_path, name):
    """The task imports the name at run time: it gets the real module, not the user's file."""
    real = COLLIDING[name]()
    write(tmp_path, {f"{name}.py": flows_source("import importlib", f"importlib.import_module('{name}').__file__")})
    result = run(tmp_path / f"{name}.py")
    assert_ran(result, module_of(tmp_path / f"{name}.py"), real)
    assert sys.modules[name].__file__ == real
    assert PathFinder.find_spec(name) is None or PathFinder.find_spec(name).origin == real


# 3. a file that cannot be loaded: one line, exit code 2 --------------------------------------------------------------


def test_a_file_that_is_not_python_is_refused(tmp_path):
    write(tmp_path, {"notes.txt": "lp = 'not a launch plan'\n"})
    result = run(tmp_path / "notes.txt")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: {tmp_path / 'notes.txt'} is not a Python file: give the .py file that defines the launch plan 'lp'"
    ]


def test_a_directory_is_refused(tmp_path):
    write(tmp_path, {"pkg/__init__.py": ""})
    result = run(tmp_path / "pkg")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: {tmp_path / 'pkg'} is a directory: give the Python file that defines the launch plan"
    ]


BROKEN = {
    "syntax error": ("def broken(:\n", "SyntaxError: invalid syntax (flows.py, line 2)"),
    "missing module": ("import no_such_module_xyz\n", "ModuleNotFoundError: No module named 'no_such_module_xyz'"),
    "error at import": ("raise RuntimeError('no config\\nsecond line')\n", "RuntimeError: no config"),
    "exit at import": ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
}  # fmt: skip


@pytest.mark.parametrize("body, cause", BROKEN.values(), ids=BROKEN.keys())
def test_a_file_that_fails_to_import_says_so_in_one_line(tmp_path, monkeypatch, body, cause):
    write(tmp_path, {"pkg/__init__.py": "", "pkg/flows.py": "from datetime import datetime\n" + body})
    monkeypatch.chdir(tmp_path)
    path = list(sys.path)
    result = run("pkg/flows.py")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [f"Error: could not import pkg/flows.py: {cause}"]
    assert "pkg.flows" not in sys.modules and sys.path == path  # nothing half-loaded is left behind


def test_a_broken_file_under_a_private_name_fails_the_same_way_twice(tmp_path):
    """Nothing half-imported is kept under the private name, to be mistaken for the loaded file next time."""
    write(tmp_path, {"datetime.py": "from datetime import datetime\nraise RuntimeError('no config')\n"})
    for _ in range(2):
        result = run(tmp_path / "datetime.py")
        assert result.exit_code == 2
        line = f"Error: could not import {tmp_path / 'datetime.py'}: RuntimeError: no config"
        assert result.stderr.splitlines() == [line]
    assert not [name for name in sys.modules if name.startswith(PRIVATE_PREFIX)]
    assert sys.modules["datetime"] is stdlib_datetime


def test_a_package_named_like_another_module_says_why_its_imports_fail(tmp_path):
    write(tmp_path, {"rich/__init__.py": "", "rich/helpers.py": "GREETING = 'hi'\n",
                     "rich/flows.py": flows_source("from .helpers import GREETING", "GREETING")})  # fmt: skip
    result = run(tmp_path / "rich" / "flows.py")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert "could not import" in line and "its package 'rich' has another module's name" in line
    assert sys.modules["rich"] is rich
