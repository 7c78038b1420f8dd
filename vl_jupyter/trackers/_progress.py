"""A progress bar for long syncs: plain HTML in a notebook, a text bar on a terminal.

``progress=None`` shows one when there are at least :data:`AUTO_MIN` records to push;
``True`` always, ``False`` never; a callable receives ``(done, total)`` instead.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO

AUTO_MIN = 10


def _in_kernel() -> bool:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class Progress:
    """Call with ``(done, total)``; ``close()`` at the end."""

    def __init__(
        self,
        setting: bool | Callable[[int, int], None] | None,
        total: int,
        label: str,
        stream: TextIO | None = None,
    ) -> None:
        self.total, self.label = total, label
        self.callback = setting if callable(setting) else None
        show = setting if isinstance(setting, bool) else total >= AUTO_MIN
        self.stream = stream or sys.stderr
        self.handle: Any = None
        self.mode = None
        if self.callback is None and show and total:
            if _in_kernel():
                self.mode = "html"
            elif (hasattr(self.stream, "isatty") and self.stream.isatty()) or setting is True:
                self.mode = "text"

    def __call__(self, done: int) -> None:
        if self.callback is not None:
            self.callback(done, self.total)
        elif self.mode == "html":
            from IPython.display import HTML, display

            html = HTML(
                f"<div>{self.label}: <progress value='{done}' max='{self.total}'></progress>"
                f" {done}/{self.total}</div>"
            )
            if self.handle is None:
                self.handle = display(html, display_id=True)
            else:
                self.handle.update(html)
        elif self.mode == "text":
            width = 30
            filled = int(width * done / self.total) if self.total else width
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {done}/{self.total}")
            self.stream.flush()

    def close(self) -> None:
        if self.mode == "text":
            self.stream.write("\n")
            self.stream.flush()
