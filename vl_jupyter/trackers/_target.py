"""What the sync engine needs from a tracker, and the helpers both trackers share."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from ..evidence import EvidenceRecord

PROBE_TIMEOUT_S = 3.0
REQUEST_TIMEOUT_S = 5


class Unavailable(Exception):
    """The tracker cannot be used now (missing, unreachable, refusing); the text says why."""


@dataclass
class Group:
    """Records that go to one run: ``run_id`` None means a new run."""

    records: list[EvidenceRecord]
    run_id: str | None = None
    name: str | None = None
    sessions: list[str] = field(default_factory=list)


def probe_http(url: str, path: str = "", timeout: float = PROBE_TIMEOUT_S) -> None:
    """GET ``url + path``; raise Unavailable naming the cause unless it answers < 500.

    A ``user:password@`` in ``url`` is sent as HTTP basic auth, as the tracker clients
    do (urllib would otherwise read ``user:password@host`` as the host).
    """
    parts = urlsplit(url)
    request: urllib.request.Request | str = url.rstrip("/") + path
    if parts.username is not None or parts.password is not None:
        import base64

        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = host + (f":{parts.port}" if parts.port else "")
        bare = parts._replace(netloc=netloc).geturl().rstrip("/") + path
        token = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
        request = urllib.request.Request(
            bare, headers={"Authorization": "Basic " + base64.b64encode(token.encode()).decode()}
        )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read(256)
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise Unavailable(
                f"refused: HTTP {exc.code} {exc.reason} (check the credentials)"
            ) from None
        if exc.code >= 500:
            raise Unavailable(f"server error: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
        raise Unavailable(unreachable(where, reason)) from None


def probe_tcp(url: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Open (and close) a TCP connection to the host of ``url``."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "", port), timeout=timeout).close()
    except OSError as exc:
        raise Unavailable(unreachable(f"{parts.hostname}:{port}", exc)) from None


def unreachable(where: str, reason: object) -> str:
    """One plain sentence for a failed connection (no ``[Errno 111]``)."""
    import errno

    code = getattr(reason, "errno", None)
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return f"no answer from {where} within {PROBE_TIMEOUT_S:g} s"
    if isinstance(reason, socket.gaierror):
        return f"the host name of {where} does not resolve"
    if code == errno.ECONNREFUSED:
        return f"nothing is listening at {where} (connection refused)"
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return f"{where} cannot be reached from this machine (no route)"
    text = getattr(reason, "strerror", None) or str(reason)
    return f"{where} is unreachable ({text})"


def describe(exc: BaseException) -> str:
    """One line for an exception raised by a tracker client (no traceback, no secrets:
    a URI quoted in it is redacted)."""
    from ._redact import redact

    text = redact(str(exc).strip().splitlines()[0]) if str(exc).strip() else ""
    if len(text) > 300:
        text = text[:300] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_id_of(run: Any) -> str | None:
    """The id of an MLflow ``Run``/``ActiveRun``, a W&B run, or a plain id string."""
    if run is None:
        return None
    if isinstance(run, str):
        return run
    info = getattr(run, "info", None)
    if info is not None and getattr(info, "run_id", None):
        return info.run_id
    return getattr(run, "id", None)
