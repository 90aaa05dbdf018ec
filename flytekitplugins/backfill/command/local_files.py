"""Finding and importing the user's Python file that `pyflyte backfill --local FILE LAUNCHPLAN` names, and the launch
plan in it.

A file is imported the way ``pyflyte run`` finds it: the project root is the first directory above the file without an
``__init__.py``, and the file is imported under its dotted name from there (``pkg/flows.py`` is ``pkg.flows``), so its
absolute (``from pkg.helpers import x``) and relative (``from .helpers import x``) imports both work.

Loading a file never shadows or replaces another module:

- the project root is *appended* to ``sys.path``, never put in front, so a ``datetime.py`` or ``rich.py`` next to the
  file cannot hide the standard library or an installed package from anyone, the file itself included;
- if the file's dotted name is taken (its top-level name is already imported, or importable, from somewhere else, as
  for a top-level ``datetime.py``), the file is loaded on its own under a private name made from its path
  (``_backfill_local_datetime_<digest>``), and ``sys.modules['datetime']`` stays the standard library's module. A
  file in a package named like another module (``rich/flows.py``) loads that way too, if it does not import its own
  package; if it does, the import error says the package's name is taken.

Either way the module stays in ``sys.modules``, so loading the same file again returns the same module, and the same
launch plan objects.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Optional, Tuple

from flytekit.core.launch_plan import LaunchPlan

from ..core.errors import MissingLaunchPlanError

PRIVATE_PREFIX = "_backfill_local_"


class LaunchPlanFileError(MissingLaunchPlanError):
    """The file that should define the launch plan cannot be imported (a syntax error, a failed import inside it)."""


def load_launch_plan(path: str, name: str) -> LaunchPlan:
    """The launch plan called ``name`` (its variable name or its launch plan name) in the Python file at ``path``."""
    file = Path(path)
    if file.is_dir():
        raise MissingLaunchPlanError(f"{path} is a directory: give the Python file that defines the launch plan")
    if not file.is_file():
        raise MissingLaunchPlanError(f"no such file {path!r}: give the Python file that defines the launch plan")
    if file.suffix != ".py":
        raise MissingLaunchPlanError(
            f"{path} is not a Python file: give the .py file that defines the launch plan {name!r}"
        )
    module = _import_file(file, shown_as=path)
    found = getattr(module, name, None)
    if isinstance(found, LaunchPlan):
        return found
    plans = {v.name: v for v in vars(module).values() if isinstance(v, LaunchPlan)}
    if name in plans:
        return plans[name]
    defined = sorted(
        variable if plan.name == variable else f"{variable} (named {plan.name})"
        for variable, plan in vars(module).items()
        if isinstance(plan, LaunchPlan)
    )
    raise MissingLaunchPlanError(f"{path} defines no launch plan {name!r}; it defines {', '.join(defined) or 'none'}")


def _import_file(file: Path, shown_as: Optional[str] = None) -> ModuleType:
    """The module of the Python file ``file``: the one already imported from it, else a fresh import (see the module's
    docstring for the name it gets). An error inside the file becomes a one-line :class:`LaunchPlanFileError`."""
    file = file.resolve()
    shown_as = shown_as or str(file)
    root = project_root(file)
    dotted = dotted_name(file, root)
    if dotted is not None and not _taken(dotted, root, file):
        name = dotted
    else:  # loaded on its own; its directory is still appended to sys.path, for the modules next to it
        root, name = file.parent, private_name(file)
    loaded = sys.modules.get(name)
    if loaded is not None and _is_from(loaded, file):
        return loaded
    added = str(root) not in sys.path
    if added:
        sys.path.append(str(root))  # at the end: whatever else is importable keeps winning
    importlib.invalidate_caches()  # the file, or its package, may be newer than the import system's directory caches
    try:
        return importlib.import_module(name) if name == dotted else _exec_file(file, name)
    except (Exception, SystemExit) as e:  # the user's code can raise anything while it is imported
        if added:
            sys.path.remove(str(root))
        hint = ""
        if dotted is not None and "." in dotted and name != dotted and isinstance(e, ImportError):
            package = dotted.split(".")[0]
            hint = f" (its package {package!r} has another module's name, so the file was loaded on its own)"
        raise LaunchPlanFileError(f"could not import {shown_as}: {type(e).__name__}: {_first_line(e)}{hint}") from e


def project_root(file: Path) -> Path:
    """The first directory above ``file`` that is not a package (has no ``__init__.py``)."""
    directory = file.parent
    while (directory / "__init__.py").is_file() and directory.parent != directory:
        directory = directory.parent
    return directory


def dotted_name(file: Path, root: Path) -> Optional[str]:
    """``file``'s module name relative to ``root`` (``pkg/flows.py`` -> ``pkg.flows``, ``pkg/__init__.py`` -> ``pkg``),
    or None when a part of its path cannot be a module name (it holds a dot, as in ``flows.v2.py``)."""
    parts = list(file.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    if any(not part or "." in part for part in parts):
        return None
    return ".".join(parts)


def private_name(file: Path) -> str:
    """A module name only this file gets: its stem made safe, and a digest of its path."""
    digest = hashlib.sha256(str(file).encode()).hexdigest()[:12]
    return f"{PRIVATE_PREFIX}{re.sub(r'[^0-9A-Za-z_]', '_', file.stem)}_{digest}"


def _taken(dotted: str, root: Path, file: Path) -> bool:
    """Whether importing ``dotted`` from ``root`` would clash with another module: its top-level name is imported, or
    importable from ``sys.path``, from somewhere other than ``root``; or ``dotted`` itself is another file's module."""
    existing = sys.modules.get(dotted)
    if existing is not None and not _is_from(existing, file):
        return True
    top = dotted.split(".")[0]
    ours = (root / top, root / f"{top}.py")
    module = sys.modules.get(top)
    if module is not None:
        return not _lives_at(module, ours)
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):  # a broken entry on sys.path or in sys.modules: treat the name as taken
        return True
    if spec is None:
        return False
    origin = spec.origin if spec.origin not in (None, "namespace") else None
    places = [Path(origin).parent if origin and Path(origin).name == "__init__.py" else origin]
    places += list(spec.submodule_search_locations or [])
    return not any(place is not None and _same(Path(place), ours) for place in places)


def _lives_at(module: ModuleType, places: Tuple[Path, ...]) -> bool:
    """Whether ``module`` (a package or a plain module) was imported from one of ``places``."""
    locations = list(getattr(module, "__path__", None) or [])
    file = getattr(module, "__file__", None)
    if file:
        locations.append(Path(file).parent if Path(file).name == "__init__.py" else file)
    return any(_same(Path(location), places) for location in locations)


def _same(path: Path, places: Tuple[Path, ...]) -> bool:
    try:
        resolved = path.resolve()
    except OSError:
        return False
    return any(resolved == place.resolve() for place in places)


def _is_from(module: ModuleType, file: Path) -> bool:
    """Whether ``module`` was imported from ``file`` (a resolved path)."""
    origin = getattr(module, "__file__", None)
    return bool(origin) and _same(Path(origin), (file,))


def _exec_file(file: Path, name: str) -> ModuleType:
    """Imports ``file`` as the module ``name``; on an error, ``name`` is not left half-imported in ``sys.modules``."""
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"Python cannot load {file.name} as a module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before running it: dataclasses and pickling look their module up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else "(no message)"
