"""Ctrl-C as Python means it while the command runs: SIGINT raises KeyboardInterrupt, which the command answers.

``import flytekit`` installs a SIGINT handler that runs the handlers registered with flytekit and then calls
``exit(1)`` (``flytekit/core/context_manager.py``, ``main_signal_handler``): left in place, a Ctrl-C would end the
command at once, saying nothing of what ran or how to go on.

Python drops an exception raised while an object is being finalized (``Exception ignored in: ...__del__``), and a
signal can land just then; so a press is also remembered, and :func:`raise_if_interrupted`, called where the
command waits between steps (after each local run, at each status read), raises it if it was lost.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from types import FrameType
from typing import Iterator, Optional

from flytekit.core.context_manager import FlyteContextManager

_pressed = threading.Event()


def _raise_keyboard_interrupt(signum: int, frame: Optional[FrameType]) -> None:
    for handler in FlyteContextManager.signal_handlers:  # what flytekit's own handler runs first
        handler(signum, frame)
    _pressed.set()
    raise KeyboardInterrupt()


def raise_if_interrupted() -> None:
    """Raises the KeyboardInterrupt of a Ctrl-C that Python dropped (see the module's docstring)."""
    if _pressed.is_set():
        _pressed.clear()
        raise KeyboardInterrupt()


@contextlib.contextmanager
def ctrl_c_interrupts() -> Iterator[None]:
    """Within the block, SIGINT raises KeyboardInterrupt; the handler before it is put back after. Only the main
    thread can set a handler: elsewhere (a command invoked from a thread) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _pressed.clear()
    previous = signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _pressed.clear()
