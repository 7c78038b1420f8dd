"""What ``sync()`` and ``targets()`` return."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from html import escape
from typing import Any


@dataclass(frozen=True)
class SyncedRecord:
    """One evidence record logged to one tracker run."""

    record_id: str
    target: str
    location: str  # MLflow tracking URI, or W&B ``entity/project``
    run_id: str
    url: str | None


@dataclass
class SyncResult:
    """The outcome of one ``sync()``: what was logged, what was already there, the runs.

    ``runs`` holds one ``{target, run_id, url, location, records}`` per run written to;
    ``messages`` what the user should know (e.g. how to upload an offline W&B run).
    """

    synced: list[SyncedRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.synced)

    def to_dict(self) -> dict[str, Any]:
        return {
            "synced": [asdict(s) for s in self.synced],
            "skipped": list(self.skipped),
            "runs": [dict(r) for r in self.runs],
            "messages": list(self.messages),
        }

    def __str__(self) -> str:
        lines = [
            f"synced {len(self.synced)} record(s) to {len(self.runs)} run(s)"
            + (f", {len(self.skipped)} already synced" if self.skipped else "")
        ]
        for run in self.runs:
            lines.append(f"  {run['target']}: {run['url'] or run['run_id']}")
        lines.extend(self.messages)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<SyncResult synced={len(self.synced)} skipped={len(self.skipped)} "
            f"runs={len(self.runs)}>"
        )

    def _repr_html_(self) -> str:
        head = escape(str(self).splitlines()[0])
        items = []
        for run in self.runs:
            url = run.get("url")
            label = f"{escape(run['target'])} run <code>{escape(run['run_id'])}</code>"
            if url and url.startswith(("http://", "https://", "file://")):
                label = f'<a href="{escape(url)}" target="_blank">{label}</a>'
            elif url:
                label += f" <code>{escape(url)}</code>"
            items.append(f"<li>{label} ({len(run.get('records', []))} record(s))</li>")
        notes = "".join(f"<div>{escape(m)}</div>" for m in self.messages)
        return f'<div class="vl-sync"><b>{head}</b><ul>{"".join(items)}</ul>{notes}</div>'


@dataclass(frozen=True)
class TargetInfo:
    """One tracker as ``targets()`` sees it, without logging anything."""

    name: str  # "mlflow" or "wandb"
    location: str
    reachable: bool
    reason: str | None
    mode: str  # "server", "sqlite", "file", "offline", "online", "disabled"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
