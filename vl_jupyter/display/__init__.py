"""The visual language shared by every inline display (reports, telemetry, reviews).

One source of truth for the status colours, icons and words, and for the small HTML
pieces built from them. Everything here is plain HTML with inline styles: no script, no
``<style>`` block, so it survives saving, nbconvert export, GitHub and nbviewer, and
colour is never the only signal (every status also has an icon and a word).

The model (``Report``, ``Comparison``) does not import this room: :func:`install`
registers the views with it and with IPython's display formatter (the package root
calls it on import).
"""

from ._groups import GroupBar, group_bars, html_bars, wilson
from ._install import install
from ._report import REPORT_HEADERS, control_row, report_html
from ._style import (
    FONT,
    MUTED,
    RULE,
    STATUS_STYLE,
    TEXT,
    StatusStyle,
    badge,
    banner,
    esc,
    fmt_number,
    row,
    table,
    version_label,
)
from ._tables import EvidenceView, PolicyView
from ._trend import LEVEL_STYLE, Trend, comparison_html, level_badge

__all__ = [
    "FONT",
    "LEVEL_STYLE",
    "MUTED",
    "REPORT_HEADERS",
    "RULE",
    "STATUS_STYLE",
    "TEXT",
    "EvidenceView",
    "GroupBar",
    "PolicyView",
    "StatusStyle",
    "Trend",
    "badge",
    "banner",
    "comparison_html",
    "control_row",
    "esc",
    "fmt_number",
    "group_bars",
    "html_bars",
    "install",
    "level_badge",
    "report_html",
    "row",
    "table",
    "version_label",
    "wilson",
]
