"""Run a shipped notebook on a fresh kernel in a folder of its own, and read its outputs.

Every kernel test builds its client with :class:`NotebookRunner`, not ``NotebookClient``:

nbclient mimics a front end for ipywidgets' Output widget by sending a ``comm_msg`` on the
shell channel each time it captures an output, from the coroutine that reads IOPub, while
another coroutine awaits the cell's ``execute_reply`` on that same (zmq.asyncio) socket.
On a busy machine that send can swallow the socket's edge-triggered wake-up: the reply then
lies unread on the socket (``zmq.EVENTS`` says POLLIN) while the await sleeps until its
timeout, when pyzmq's closing zero-timeout poll finally finds it. Notebook 02's review cell
(an Output widget that redraws on a click) hit this in most runs beside the other test
lanes: the cell took its whole 180 s timeout and then passed. Waiting in short slices
ends each slice with that real poll, so a lost wake-up costs at most one slice.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

#: Longest a lost wake-up on the shell socket can delay a reply.
POLL_SLICE_S = 0.25


class NotebookRunner(NotebookClient):
    """``NotebookClient`` whose wait for each shell reply re-polls every POLL_SLICE_S."""

    async def async_start_new_kernel_client(self) -> Any:
        client = await super().async_start_new_kernel_client()
        _wait_in_slices(client.shell_channel)
        return client


def _wait_in_slices(channel: Any) -> None:
    get_msg = channel.get_msg

    async def get_msg_in_slices(timeout: float | None = None) -> dict[str, Any]:
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - monotonic())
            try:
                return await get_msg(
                    timeout=POLL_SLICE_S if left is None else min(POLL_SLICE_S, left)
                )
            except Empty:
                if left is not None and left <= POLL_SLICE_S:
                    raise

    channel.get_msg = get_msg_in_slices


def execute(name: str, workdir: Path, timeout: int = 180) -> nbformat.NotebookNode:
    """Copy ``notebooks/<name>`` into ``workdir`` and run it there top to bottom."""
    shutil.copy(NOTEBOOKS / name, workdir / name)
    notebook = nbformat.read(workdir / name, as_version=4)
    NotebookRunner(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
        # a kernel may send one printed line in several messages, as timing falls; a
        # stream's text is read whole, as JupyterLab shows it
        coalesce_streams=True,
    ).execute()
    return notebook


def outputs(notebook: nbformat.NotebookNode) -> list[str]:
    """Each output's HTML, plain text and stream text, in cell order."""
    texts = []
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            texts.append(
                str(data.get("text/html", ""))
                + str(data.get("text/plain", ""))
                + str(out.get("text", ""))
            )
    return texts
