"""The suite's network guard: the variables that keep tracker libraries offline, and the
patched socket calls that refuse anything beyond loopback.

A plain module (not conftest.py) so that tests/test_network_guard.py can import it by a
name that no other conftest shadows; tests/conftest.py imports it first of all.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

#: Set for the whole suite (and exported by .ci/run): no telemetry, no W&B cloud. W&B's
#: host is pointed at a closed loopback port too: a W&B thread that looks its default host
#: up despite offline mode (seen once in a full run) then fails on 127.0.0.1, not on DNS.
OFFLINE_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "WANDB_MODE": "offline",
    "WANDB_BASE_URL": "http://127.0.0.1:9",
}
os.environ.update(OFFLINE_ENV)


class NonLoopbackConnection(OSError):
    """A test tried to reach an address beyond loopback (an OSError, so client code sees
    an unreachable host, while the test itself is failed by the guard)."""


#: Every refused attempt, as text; the autouse fixture fails the test that made one.
VIOLATIONS: list[str] = []
#: the same, with the thread and call site (for the failure message)
DETAILS: list[str] = []
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def _is_loopback_host(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    text = str(host).strip("[]").split("%")[0]
    if text.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(text).is_loopback or ipaddress.ip_address(text).is_unspecified
    except ValueError:
        return False


def _refuse(what: str) -> NonLoopbackConnection:
    import threading
    import traceback

    frames = [
        f
        for f in traceback.extract_stack()[:-2]
        if not f.filename.endswith(("conftest.py", "_network.py"))
    ]
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in frames[-4:][::-1])
    VIOLATIONS.append(what)
    DETAILS.append(f"{what} (thread {threading.current_thread().name}: {where})")
    return NonLoopbackConnection(f"network guard: {what} (tests may only reach 127.0.0.1)")


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _check_address(sock: socket.socket, address: object) -> None:
    inet = sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple)
    if inet and not _is_loopback_host(address[0]):  # type: ignore[index]
        raise _refuse(f"connect to {address[0]}:{address[1]}")


def _guard_connect(self: socket.socket, address: object) -> None:
    _check_address(self, address)
    return _real_connect(self, address)


def _guard_connect_ex(self: socket.socket, address: object) -> int:
    _check_address(self, address)
    return _real_connect_ex(self, address)


def _guard_getaddrinfo(host: object, *args: object, **kwargs: object) -> list:
    # a lookup of a real name already leaves the machine (a DNS query); the machine's own
    # name resolves from /etc/hosts and is what servers bind to
    if not _is_loopback_host(host) and host != socket.gethostname():
        try:
            ipaddress.ip_address(str(host).strip("[]").split("%")[0])
        except ValueError:
            raise _refuse(f"name lookup of {host!r}") from None
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guard_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guard_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _guard_getaddrinfo  # type: ignore[assignment]
