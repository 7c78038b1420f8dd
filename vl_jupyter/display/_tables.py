"""Plain-HTML views of a policy (``%vl_policy``) and of evidence records (``%vl_evidence``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._style import (
    FONT,
    MUTED,
    STATUS_STYLE,
    badge,
    banner,
    esc,
    fmt_number,
    row,
    table,
    version_label,
)

POLICY_HEADERS = ("control", "checks", "on roles", "condition", "severity", "mode", "phases")
EVIDENCE_HEADERS = ("#", "created (UTC)", "kind", "summary", "id", "session")


class PolicyView:
    """A validated policy as a table: what will be checked, on which roles, with which
    thresholds."""

    def __init__(self, policy: Any) -> None:
        self.policy = policy

    def _repr_html_(self) -> str:
        p = self.policy
        rows = []
        for c in p:
            roles = ", ".join(
                f"{esc(role)} → <code>{esc(v if isinstance(v, str) else ' × '.join(v))}</code>"
                for role, v in c.inputs.items()
            )
            params = ", ".join(f"{esc(k)}={esc(v)}" for k, v in c.params.items())
            condition = f"{esc(c.operator_symbol)} {fmt_number(c.threshold, 4)}"
            if c.warn_threshold is not None:
                condition += f' <span style="color:{MUTED}">(warn band to '
                condition += f"{fmt_number(c.warn_threshold, 4)})</span>"
            rows.append(
                row(
                    [
                        f"<b>{esc(c.id)}</b><div>{esc(c.description)}</div>",
                        f"<code>{esc(c.metric)}</code>"
                        + (f'<div style="color:{MUTED}">{params}</div>' if params else ""),
                        roles or f'<span style="color:{MUTED}">whole table</span>',
                        condition,
                        esc(c.severity),
                        esc(c.enforcement_mode),
                        esc(", ".join(c.phases) or "all"),
                    ],
                    css_class="vl-policy-control",
                    attrs=f'data-control="{esc(c.id)}"',
                )
            )
        # a policy whose controls cannot all be evaluated is not "valid": it cannot pass
        verdict = badge("error").replace("ERROR", "INCOMPLETE") if p.problems else None
        head = (
            f"{verdict or badge('pass').replace('PASS', 'VALID')} <b>{esc(p.title)}</b> "
            f'<span style="color:{MUTED}">{esc(version_label(p.version))} · {len(p)} controls · '
            f"{esc(p.dialect)} · {esc(p.source)} · sha256 <code>{esc(p.sha256[:12])}</code>"
            "</span>"
        )
        warnings = "".join(
            f'<div class="vl-warning" style="color:{STATUS_STYLE["warn"].colour}">'
            f"{STATUS_STYLE['warn'].icon} {esc(w)}</div>"
            for w in p.warnings
        )
        status = "error" if p.problems else "warn" if p.warnings else "pass"
        return (
            f'<div class="vl-policy" style="{FONT}">'
            f"{banner(status, head + warnings, css_class='vl-policy-header')}"
            f"{table('vl-policy-table', POLICY_HEADERS, rows)}</div>"
        )

    def __repr__(self) -> str:
        p = self.policy
        verdict = f"{len(p.problems)} cannot be evaluated" if p.problems else "valid"
        lines = [f"{p.title} v{p.version}: {len(p)} controls ({verdict})"]
        for c in p:
            condition = f"{c.operator_symbol} {fmt_number(c.threshold, 4)}"
            lines.append(f"  {c.id}: {c.metric} {condition}")
        return "\n".join(lines)


class EvidenceView:
    """The newest evidence records of a store, newest first."""

    def __init__(self, records: list[Any], root: Path) -> None:
        self.records = records
        self.root = root

    def _repr_html_(self) -> str:
        if not self.records:
            return banner(
                "skipped",
                f"no evidence records yet in <code>{esc(self.root)}</code>",
                css_class="vl-evidence",
            )
        rows = [
            row(
                [
                    str(r.seq),
                    esc(r.created.strftime("%Y-%m-%d %H:%M:%S")),
                    f"<b>{esc(r.kind)}</b>",
                    _summary(r.summary),
                    f"<code>{esc(r.id)}</code>",
                    f'<code style="color:{MUTED}">{esc(r.session)}</code>',
                ],
                css_class=f"vl-evidence-record vl-kind-{esc(r.kind)}",
            )
            for r in self.records
        ]
        head = f"{len(self.records)} newest evidence records in <code>{esc(self.root)}</code>"
        return (
            f'<div class="vl-evidence" style="{FONT}">{head}'
            f"{table('vl-evidence-table', EVIDENCE_HEADERS, rows)}</div>"
        )

    def __repr__(self) -> str:
        if not self.records:
            return f"no evidence records yet in {self.root}"
        return "\n".join(
            f"{r.seq} {r.created:%Y-%m-%d %H:%M:%S} {r.kind} {r.id}" for r in self.records
        )


def _summary(summary: Mapping[str, Any]) -> str:
    parts = []
    status = summary.get("status")
    if status in STATUS_STYLE:
        parts.append(badge(status))
    for key in ("name", "policy_title", "score", "control_id", "decision", "reviewer", "report_id"):
        value = summary.get(key)
        if value is None:
            continue
        shown = f"{value:.0%}" if key == "score" and isinstance(value, float) else value
        parts.append(f'<span style="color:{MUTED}">{esc(key)}</span> {esc(shown)}')
    return " ".join(parts)
