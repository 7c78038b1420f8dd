"""One error vocabulary for the whole package.

Every error a user can cause is a subclass of :class:`VLError` and carries a stable
``code`` (for programs, the CLI and the server API) and a message written as *what went
wrong and what to do*. Where the error comes from a file, ``file`` and ``line`` say where;
where it comes from a control, ``control_id`` says which.
"""

from __future__ import annotations

from typing import Any


class VLError(Exception):
    """Base class of every error vl_jupyter raises on purpose."""

    code = "VL_ERROR"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        control_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.control_id = control_id
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "")
        elif self.line:
            where = f"line {self.line}"
        parts = []
        if where:
            parts.append(where + ":")
        if self.control_id:
            parts.append(f"control '{self.control_id}':")
        parts.append(self.message)
        text = " ".join(parts)
        if self.hint:
            text += f" ({self.hint})"
        return text

    @property
    def http_status(self) -> int:
        """The HTTP status the server answers this error with (:data:`HTTP_STATUS`)."""
        return http_status(self.code)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the CLI, evidence and the server API."""
        return {
            "code": self.code,
            "message": str(self),
            "file": self.file,
            "line": self.line,
            "control_id": self.control_id,
            "hint": self.hint,
        }


class PolicyError(VLError):
    """A policy could not be read or understood."""

    code = "POLICY_INVALID"


class BindingError(VLError):
    """A role or variable could not be bound to a column of the data."""

    code = "BINDING_FAILED"


class MetricError(VLError):
    """A metric could not be computed on the bound data (the control's status is ``error``)."""

    code = "METRIC_UNDEFINED"


class MetricNotComputed(MetricError):
    """A metric key other tools use that is not computed here (the reason says why)."""

    code = "METRIC_NOT_COMPUTED"


class DataSourceError(VLError):
    """Data given as SQL text or a file path could not be opened by its engine."""

    code = "DATA_UNREADABLE"


class EvidenceError(VLError):
    """The evidence store could not be read or written."""

    code = "EVIDENCE_FAILED"


class RecordNotFoundError(EvidenceError):
    """No evidence record with that id in the store."""

    code = "RECORD_NOT_FOUND"


class EvidenceLockedError(EvidenceError):
    """Another writer held the evidence store's lock for longer than the timeout."""

    code = "EVIDENCE_LOCKED"


class EnforcementError(VLError):
    """Raised by ``enforce(..., strict=True)`` when a control could not be evaluated."""

    code = "CONTROL_ERROR"

    def __init__(self, message: str, *, report: Any = None, **kwargs: Any) -> None:
        self.report = report
        super().__init__(message, **kwargs)


class ComplianceBlockError(VLError):
    """A control in ``enforcement_mode: block`` failed; the evidence was written first."""

    code = "COMPLIANCE_BLOCKED"

    def __init__(self, message: str, *, report: Any = None, **kwargs: Any) -> None:
        self.report = report
        super().__init__(message, **kwargs)


class VLWarning(UserWarning):
    """Something was evaluated, but a reader of the evidence should know this about it."""


class SyncError(VLError):
    """Evidence could not be pushed to a tracker; the records stay pending for a later sync."""

    code = "SYNC_FAILED"

    def __init__(
        self, message: str, *, target: str, pending: list[str] | None = None, **kwargs: Any
    ) -> None:
        self.target = target
        self.pending = list(pending or [])
        super().__init__(message, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "target": self.target, "pending": self.pending}


class SigningError(VLError):
    """A signing key could not be created, read or used."""

    code = "SIGNING_FAILED"


class ExportError(VLError):
    """Evidence could not be exported (empty selection, bad option, unwritable folder)."""

    code = "EXPORT_FAILED"


class TrackerSettingsError(VLError, ValueError):
    """A tracker setting is unknown or invalid (``vl_jupyter.yaml``, ``settings=``, env).

    Also a ``ValueError``: callers written before the error family caught that.
    """

    code = "TRACKER_SETTINGS_INVALID"


class UnknownTargetError(SyncError, ValueError):
    """A sync target (``--to``, ``verify --against``, ``%vl_sync``) that is not registered.

    Also a ``ValueError``: callers written before the error family caught that.
    """

    code = "UNKNOWN_TARGET"


class TelemetryError(VLError, ValueError):
    """A monitoring option is invalid (country, PUE, sampling interval, artifact path...).

    Also a ``ValueError``: callers written before the error family caught that.
    """

    code = "TELEMETRY_INVALID"


class ReviewError(VLError, ValueError):
    """A review or sign-off cannot be recorded (no decision, unknown control, a control
    that needs none, a report that is not evidence). Also a ``ValueError``."""

    code = "REVIEW_INVALID"


#: HTTP status per error code, grouped by status as MLflow's ``mlflow/exceptions.py``
#: groups its error codes. Every code not listed is a mistake in the request: 400. The
#: server's own codes (``BAD_*``, ``*_NOT_FOUND``) are listed here too, so one table says
#: what the API answers.
HTTP_STATUS_GROUPS: dict[int, tuple[str, ...]] = {
    404: (
        RecordNotFoundError.code,
        "STORE_NOT_FOUND",
        "JOB_NOT_FOUND",
        "BASELINE_NOT_FOUND",
        "NO_EVIDENCE",
    ),
    405: ("USE_POST",),
    409: (EvidenceLockedError.code, ComplianceBlockError.code),
    502: (SyncError.code,),
    503: ("SYNC_UNAVAILABLE",),
}
HTTP_STATUS: dict[str, int] = {
    code: status for status, codes in HTTP_STATUS_GROUPS.items() for code in codes
}


def http_status(code: str) -> int:
    """The HTTP status for error ``code`` (400 unless :data:`HTTP_STATUS` says otherwise)."""
    return HTTP_STATUS.get(code, 400)


def close_matches(word: object, choices: Any, *, n: int = 3, cutoff: float = 0.6) -> list[str]:
    """The ``choices`` closest to ``word``, best first: the one engine behind every "did
    you mean" in the package (a word is cut to 100 characters: hostile input stays fast)."""
    import difflib

    return difflib.get_close_matches(str(word)[:100], [str(c) for c in choices], n, cutoff)


def did_you_mean(close: list[str], *, joiner: str = ", ", quote: bool = False) -> str:
    """``did you mean a, b?`` for the matches :func:`close_matches` found ("" for none)."""
    if not close:
        return ""
    return f"did you mean {joiner.join(repr(c) if quote else c for c in close)}?"
