"""The interactive review panel (ipywidgets + plotly), on top of :mod:`._record`.

Two outputs are shown: a plain-HTML review summary (its own output, updated in place as
decisions are recorded: it is what a saved, exported or reopened notebook keeps, since a
widget's fallback is not shown without its state) and the panel itself. Every widget
is an attribute, so the panel can be driven from code (and is, in the tests)::

    panel = report.review()
    panel.controls.value = "approvals-by-age"
    panel.reviewer.value = "A. Auditor"
    panel.decision.value = "needs_work"
    panel.save.click()
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from IPython import get_ipython
from IPython.display import display

from ..display import MUTED, REPORT_HEADERS, STATUS_STYLE, control_row, esc, table
from ..errors import ReviewError
from ._record import DECISIONS, REVIEWABLE, latest_decisions, record_review, reviews
from ._signoff import SIGNOFFS, latest_signoff, sign_off
from ._summary import summary_html

if TYPE_CHECKING:
    from ..enforcement import Report
    from ..evidence import EvidenceRecord

_NEEDS_REVIEW = "needs review"


class ReviewPanel:
    """Review ``report``: filter controls by status, chart one, record a decision.

    ``reviewer`` pre-fills the name (default ``$VL_REVIEWER``); ``evidence_dir`` is the
    store holding the report (default ``$VL_EVIDENCE_DIR`` or ``./.venturalitica``);
    ``show=False`` builds the panel without displaying it.
    """

    def __init__(
        self,
        report: Report,
        *,
        reviewer: str | None = None,
        evidence_dir: str | Path | None = None,
        show: bool = True,
    ) -> None:
        self.report = report
        self.evidence_dir = evidence_dir
        self.records: list[EvidenceRecord] = []
        self.figure: Any = None
        self._summary: Any = None
        self._shown_in: int | None = None
        counts = report.counts
        needs = sum(counts[s] for s in REVIEWABLE)
        options = [(f"{_NEEDS_REVIEW} ({needs})", _NEEDS_REVIEW), (f"all ({len(report)})", "all")]
        options += [(f"{STATUS_STYLE[s].icon} {s} ({n})", s) for s, n in counts.items() if n]
        self.filter = widgets.ToggleButtons(
            options=options, value=_NEEDS_REVIEW if needs else "all", description="show"
        )
        self.controls = widgets.Select(options=[], rows=min(8, max(3, len(report))))
        self.detail = widgets.HTML()
        self.chart = widgets.Output()
        self.reviewer = widgets.Text(
            value=reviewer if reviewer is not None else os.environ.get("VL_REVIEWER", ""),
            description="reviewer",
            placeholder="your name",
        )
        self.decision = widgets.RadioButtons(
            options=[(words, key) for key, words in DECISIONS.items()],
            value=None,
            description="decision",
        )
        self.justification = widgets.Textarea(
            description="why",
            placeholder="justification (required to accept a risk)",
            layout=widgets.Layout(width="60%"),
        )
        self.save = widgets.Button(description="Record decision", button_style="primary")
        self.message = widgets.HTML()
        self.signoff = widgets.RadioButtons(
            options=[(words, key) for key, words in SIGNOFFS.items()],
            value=None,
            description="report",
        )
        self.signoff_why = widgets.Textarea(
            description="why",
            placeholder="justification (required to reject the report)",
            layout=widgets.Layout(width="60%"),
        )
        self.sign = widgets.Button(description="Sign off report", button_style="info")
        self._outcome: _Note | None = None
        self.widget = widgets.VBox(
            [
                widgets.HTML(f"<b>Review</b> of <code>{esc(report.evidence_id)}</code>"),
                self.filter,
                self.controls,
                self.detail,
                self.chart,
                widgets.HTML("<b>Decision</b> (EU AI Act Art. 14 human oversight)"),
                self.reviewer,
                self.decision,
                self.justification,
                widgets.HBox([self.save, self.message]),
                widgets.HTML("<b>Sign-off</b> of the whole report"),
                self.signoff,
                self.signoff_why,
                self.sign,
            ]
        )
        self.filter.observe(lambda _: self._refilter(), names="value")
        self.controls.observe(lambda _: self._select(), names="value")
        self.save.on_click(lambda _: self.record())
        self.sign.on_click(lambda _: self.sign_off())
        self._existing = reviews(report, evidence_dir) if report.evidence_id else []
        self._refilter()
        self._refresh_summary()
        if show:
            self.show()

    # -- actions -------------------------------------------------------------------
    def record(self) -> EvidenceRecord | None:
        """Record the decision in the form; show what happened under the button."""
        control_id = self.controls.value
        try:
            if control_id is None:
                raise ReviewError("select a control first")
            if self.decision.value is None:
                raise ReviewError("choose a decision: " + ", ".join(DECISIONS.values()))
            rec = record_review(
                self.report,
                control_id,
                self.decision.value,
                reviewer=self.reviewer.value,
                justification=self.justification.value,
                evidence_dir=self.evidence_dir,
            )
        except ValueError as exc:
            self._say("fail", str(exc))
            return None
        self.records.insert(0, rec)
        self._say("pass", f"recorded: {DECISIONS[rec.data['decision']]} on {control_id} ({rec.id})")
        self.justification.value = ""
        self.decision.value = None
        self._refresh_summary()
        self._refilter()
        return rec

    def sign_off(self) -> EvidenceRecord | None:
        """Record the whole report's sign-off in the form; say what happened."""
        try:
            if self.signoff.value is None:
                raise ReviewError("choose a sign-off: " + ", ".join(SIGNOFFS.values()))
            rec = sign_off(
                self.report,
                self.signoff.value,
                reviewer=self.reviewer.value,
                justification=self.signoff_why.value,
                evidence_dir=self.evidence_dir,
            )
        except ValueError as exc:
            self._say("fail", str(exc))
            return None
        self.records.insert(0, rec)
        self._say(
            "pass", f"report {rec.data['decision_label']} by {rec.data['reviewer']} ({rec.id})"
        )
        self.signoff.value = None
        self.signoff_why.value = ""
        self._refresh_summary()
        return rec

    @property
    def outcome(self) -> _Note | None:
        """What the last action did, as a note that shows as HTML and as text (a cell's
        last line ``panel.outcome``, instead of the raw HTML of ``panel.message.value``)."""
        return self._outcome

    def show(self) -> None:
        """Display the HTML summary (its own output) and the panel.

        The panel's plain-text fallback says what it is: a saved or exported notebook
        without widget state shows that sentence, not ``VBox(children=...)``."""
        self._summary = display(self._summary_bundle(), raw=True, display_id=True)
        bundle = self.widget._repr_mimebundle_() or {}
        bundle["text/plain"] = (
            "Review panel (interactive: needs a running kernel). "
            "The decisions are in the review summary above and in the evidence store."
        )
        display(bundle, raw=True)
        shell = get_ipython()
        self._shown_in = getattr(shell, "execution_count", None)

    def summary_html(self) -> str:
        return summary_html(self.report, self.records + self._existing)

    def _ipython_display_(self) -> None:
        # ``report.review()`` as a cell's last line: already shown by the call itself
        shell = get_ipython()
        if self._shown_in is None or self._shown_in != getattr(shell, "execution_count", None):
            self.show()

    # -- internals -----------------------------------------------------------------
    def _refilter(self) -> None:
        wanted = self.filter.value
        decided = latest_decisions(self.records + self._existing)
        options = []
        for r in self.report:
            keep = wanted == "all" or r.status == wanted
            keep = keep or (wanted == _NEEDS_REVIEW and r.status in REVIEWABLE)
            if keep:
                s = STATUS_STYLE[r.status]
                mark = (
                    f"  [{DECISIONS[decided[r.control_id].data['decision']]}]"
                    if (r.control_id in decided)
                    else ""
                )
                options.append((f"{s.icon} {s.word}  {r.control_id}{mark}", r.control_id))
        current = self.controls.value
        self.controls.options = options
        ids = [v for _, v in options]
        self.controls.value = current if current in ids else (ids[0] if ids else None)
        self._select()

    def _select(self) -> None:
        control_id = self.controls.value
        if control_id is None:
            self.detail.value = f'<span style="color:{MUTED}">no control with this status</span>'
            self._enable(False)
            return
        result = self.report[control_id]
        self.detail.value = table("vl-report-table", REPORT_HEADERS, [control_row(result)])
        reviewable = result.status in REVIEWABLE
        self._enable(reviewable)
        if not reviewable:
            self.message.value = _Note(
                "skipped", f"{control_id} is {result.status}: nothing to decide"
            )._repr_html_()
        elif self.message.value.startswith('<span class="vl-note vl-note-skipped"'):
            self.message.value = ""
        self._draw(result)

    def _enable(self, on: bool) -> None:
        for w in (self.decision, self.justification, self.save):
            w.disabled = not on

    def _draw(self, result: Any) -> None:
        from ._chart import control_figure

        self.figure = control_figure(result)
        self.chart.clear_output(wait=True)
        if get_ipython() is None:
            return  # no front end to draw on (driven from code)
        import plotly.io as pio

        bundle = {
            "application/vnd.plotly.v1+json": json.loads(pio.to_json(self.figure, validate=False)),
            "text/plain": f"<per-group chart of {result.control_id}>",
        }
        with self.chart:
            display(bundle, raw=True)

    def _say(self, status: str, text: str) -> None:
        self._outcome = _Note(status, text)
        self.message.value = self._outcome._repr_html_()

    def _refresh_summary(self) -> None:
        html = self.summary_html()
        if self._summary is not None:
            self._summary.update(self._summary_bundle(html), raw=True)

    def _summary_bundle(self, html: str | None = None) -> dict[str, str]:
        decided = latest_decisions(self.records + self._existing)
        lines = [f"review of {self.report.evidence_id}:"] + [
            f"  {r.control_id} ({r.status}): "
            + (
                f"{decided[r.control_id].data['decision_label']} by "
                f"{decided[r.control_id].data['reviewer']}"
                if r.control_id in decided
                else "no decision yet"
            )
            for r in self.report
            if r.status in REVIEWABLE
        ]
        signoff = latest_signoff(self.records + self._existing)
        lines.append(
            f"  report sign-off: {signoff.data['decision_label']} by {signoff.data['reviewer']}"
            if signoff
            else "  report sign-off: not yet signed"
        )
        return {"text/html": html or self.summary_html(), "text/plain": "\n".join(lines)}


class _Note:
    """One line saying what an action did: HTML with its status icon, or plain text."""

    def __init__(self, status: str, text: str) -> None:
        self.status = status
        self.text = text

    def _repr_html_(self) -> str:
        s = STATUS_STYLE[self.status]
        return (
            f'<span class="vl-note vl-note-{self.status}" style="color:{s.colour}">{s.icon} '
            f"{esc(self.text)}</span>"
        )

    def __repr__(self) -> str:
        return f"{STATUS_STYLE[self.status].icon} {self.text}"
