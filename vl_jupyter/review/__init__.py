"""Human review of a Report (EU AI Act Article 14, human oversight).

A reviewer records a decision on each control that did not pass: accept the risk (with a
justification), reject, or send back as needing work; then signs the whole report off
(approve, reject, needs work). Each decision is one ``review``
record in the evidence store, linked to the report's ``enforce`` record by
``report_id`` and sharing its evidence session.

>>> import vl_jupyter as vl
>>> df = vl.datasets.load_german_credit(derived=True)
>>> report = vl.enforce(df, vl.datasets.policy_path("german_credit_data"),
...                     target="class", gender="gender", age="age", ci=False)
>>> rec = record_review(report, "approvals-by-age", "needs_work",
...                     reviewer="A. Auditor", justification="reweigh first")
>>> rec.kind, rec.session == report.session
('review', True)

``vl.review(report)``, ``report.review()`` (or ``%vl_enforce ... --review``) open the same thing as an
ipywidgets panel; ipywidgets and plotly are imported only then.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from ..enforcement import register_view
from ._record import DECISIONS, REVIEWABLE, record_review, reviews
from ._signoff import SIGNOFFS, latest_signoff, sign_off
from ._summary import summary_html

if TYPE_CHECKING:
    from ..enforcement import Report
    from ._widget import ReviewPanel

__all__ = [
    "DECISIONS",
    "REVIEWABLE",
    "SIGNOFFS",
    "ReviewPanel",
    "latest_signoff",
    "open_review",
    "record_review",
    "reviews",
    "sign_off",
    "summary_html",
]


def open_review(report: Report, **kwargs: Any) -> ReviewPanel:
    """Open the review panel for ``report``; see :class:`ReviewPanel` for the options."""
    from ._widget import ReviewPanel

    return ReviewPanel(report, **kwargs)


# Report.review() asks the model's view registry for the panel, so the enforcement room
# never imports this one (the dependency points one way: review -> enforcement).
register_view("review", open_review)


def __getattr__(name: str) -> Any:
    if name == "ReviewPanel":  # imports ipywidgets: only on demand
        from ._widget import ReviewPanel

        return ReviewPanel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _ReviewModule(types.ModuleType):
    """``vl_jupyter.review`` is also callable: ``vl.review(report)`` opens the panel, so
    the report model need not import its review room (``report.review()`` is an alias)."""

    def __call__(self, report: Report, **kwargs: Any) -> ReviewPanel:
        return open_review(report, **kwargs)


sys.modules[__name__].__class__ = _ReviewModule
