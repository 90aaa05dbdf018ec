"""Puts our `backfill` command into pyflyte without taking flytekit's single `flytekit.configuration.plugin` slot.

pyflyte adds its built-in `backfill` and then calls ``get_plugin().configure_pyflyte_cli(main)`` on whichever
plugin holds that slot (flytekit's default, or another product's). When flytekit's plugin module is imported, we
wrap that plugin: our wrapper runs the original's hook first, then adds our command under the same name. Nothing is
imported early, so ``import flytekit`` pays nothing for it.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from types import ModuleType
from typing import Any, Optional, Sequence

PLUGIN_MODULE = "flytekit.configuration.plugin"


def install() -> None:
    """Wraps the pyflyte plugin now if flytekit's plugin module is loaded, else right after it loads."""
    if PLUGIN_MODULE in sys.modules:
        wrap_plugin(sys.modules[PLUGIN_MODULE])
    elif not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport())


def wrap_plugin(module: ModuleType) -> None:
    """Replaces the module's current plugin with one whose pyflyte hook also installs our command."""
    config = getattr(module, "_GLOBAL_CONFIG", None)
    if not isinstance(config, dict) or getattr(config.get("plugin"), "_backfill_command_added", False):
        return
    original = config["plugin"]

    def configure_pyflyte_cli(main: Any) -> Any:
        main = original.configure_pyflyte_cli(main) or main
        from .cli import backfill  # imported only when pyflyte builds its command group

        main.add_command(backfill)
        return main

    if isinstance(original, type):
        members = {"configure_pyflyte_cli": staticmethod(configure_pyflyte_cli), "_backfill_command_added": True}
        config["plugin"] = type(f"Backfill{original.__name__}", (original,), members)
    else:
        config["plugin"] = _Delegate(original, configure_pyflyte_cli)


class _Delegate:
    """Wraps a plugin that is an object rather than a class."""

    _backfill_command_added = True

    def __init__(self, original: Any, configure_pyflyte_cli: Any):
        self._original = original
        self.configure_pyflyte_cli = configure_pyflyte_cli

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class _AfterImport(importlib.abc.MetaPathFinder):
    """A one-shot import hook: lets flytekit's plugin module load as usual, then wraps its plugin."""

    def find_spec(self, fullname: str, path: Optional[Sequence[str]], target: Any = None) -> Any:
        if fullname != PLUGIN_MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            load(module)
            wrap_plugin(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec
