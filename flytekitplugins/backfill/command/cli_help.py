"""How `pyflyte backfill --help` is laid out (issue 10, #20): the options in panels, the window first, and the
rich-click settings that keep the help readable at 80 columns.

The panels are attached to the command itself (rich-click 1.9's ``panels=``), not keyed by a command path in
rich-click's global OPTION_GROUPS, so they show however the command is reached: ``pyflyte backfill`` (added by a
pyflyte plugin hook) or ``python -m flytekitplugins.backfill``. Every option must be in exactly one panel; an option
left out would fall into rich-click's catch-all "Options" panel at the end (tests/test_cli_help.py catches that).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from rich_click import RichOptionPanel

from ..core.request import BACKEND, EXECUTION, OUTPUT, PANELS, WINDOW
from .options import declared as declared_options

# One line shown under a panel's title, where it needs one. Which options a panel holds is declared with each option
# (core/request.py, command/options.py); the panels come in core.request.PANELS's order, window first.
NOTES: Dict[str, str] = {
    WINDOW: "Give two of --from-date, --to-date and --backfill-window. Naive dates are UTC.",
    EXECUTION: "As pyflyte run has them, on the backfill's execution (not used with --local).",
    BACKEND: "The Flyte backend the backfill is registered and run on (not used with --local).",
}


def _panels() -> Tuple[Tuple[str, Optional[str], Tuple[str, ...]], ...]:
    """(title, note or None, the options in the order shown, each by its first long flag)."""
    flags = [(declared.panel, declared.flag.split("/")[0]) for _, declared in declared_options()]
    flags.append((OUTPUT, "--help"))
    return tuple((title, NOTES.get(title), tuple(flag for panel, flag in flags if panel == title)) for title in PANELS)


PANELS_SHOWN = _panels()

# Merged over the caller's rich-click settings (pyflyte's, or the defaults) for this command only.
HELP_CONFIG: Dict[str, Any] = {
    # No metavar column with ranges: INTEGER RANGE [0<=x<=4294967295] took the width the flag names needed.
    "options_table_column_types": ["opt_long", "opt_short", "metavar_short", "help"],
    # "--fail-fast / --no-fail-fast" and "--max-parallelism, --concurrency" wrap at the space, never inside a flag.
    "delimiter_comma": ", ",
    "delimiter_slash": " / ",
    "text_paragraph_linebreaks": "\n\n",  # the description's paragraphs stay paragraphs
    "padding_helptext_first_line": (0, 0, 1, 0),  # a blank line after the first one too
}


def option_panels() -> List[RichOptionPanel]:
    """The panels of the command's options, in the order shown."""
    return [RichOptionPanel(title, options=list(options), help=help) for title, help, options in PANELS_SHOWN]
