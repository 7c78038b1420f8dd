"""``%vl_enforce``, ``%%vl_enforce``, ``%vl_policy`` and ``%vl_evidence``: thin magics
over ``enforce()``, ``load_policy()`` and the evidence store.

Every result is shown exactly once and returned: ``report = %vl_enforce ...`` displays
the traffic lights and keeps the Report; a bare ``%vl_enforce ...`` as a cell's last line
is shown by IPython itself (``Out[n]``, ``_``); ``-q`` or a trailing ``;`` hides it.
User mistakes (a missing DataFrame or column, a bad policy) are a one-line UsageError.
"""

from __future__ import annotations

import ast
from itertools import islice
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ..display import EvidenceView, PolicyView
from ..errors import ComplianceBlockError, EnforcementError, VLError
from ..policy import LIFECYCLE_PHASES
from ._shared_magic import (
    HelpAction,
    displayed_by_ipython,
    find_frame,
    parse_line,
    policy_source,
)

_ROLES = ("target", "prediction", "score")


@magics_class
class EnforceMagics(Magics):
    """The enforcement magics; registered by ``%load_ext vl_jupyter``."""

    @magic_arguments()
    @argument("-h", "--help", action=HelpAction, help="show this help and return")
    @argument("data", metavar="DATAFRAME", help="a DataFrame, or an expression giving one")
    @argument(
        "bindings",
        nargs="*",
        metavar="VARIABLE=COLUMN",
        help="bind a policy variable to a column, e.g. gender=Attribute9; COL1,COL2 binds "
        "an intersection",
    )
    @argument("-p", "--policy", help="policy file, or a shipped policy name (german_credit_data)")
    @argument("--target", help="column of the ground truth (or the outcome of a data audit)")
    @argument("--prediction", help="column of the model's predictions")
    @argument("--score", help="column of the model's scores/probabilities")
    @argument("--phase", choices=LIFECYCLE_PHASES, help="run only the controls of this phase")
    @argument("--strict", action="store_true", help="stop if a control cannot be evaluated")
    @argument("--name", help="a name for this audit, kept in the evidence")
    @argument("--min-group-size", type=int, help="exclude smaller groups from group metrics")
    @argument("--pos-label", help="the favourable outcome (default: the policy's)")
    @argument("--no-ci", action="store_true", help="skip the bootstrap confidence intervals")
    @argument("--review", action="store_true", help="open the human-review panel as well")
    @argument("--no-evidence", action="store_true", help="do not record evidence")
    @argument("--evidence-dir", help="evidence store (default $VL_EVIDENCE_DIR, .venturalitica)")
    @argument(
        "--baseline",
        help="compare with a run: a record id, a tag (production), previous, mlflow:<run id>",
    )
    @argument("-q", "--quiet", action="store_true", help="return the Report without showing it")
    @line_cell_magic
    def vl_enforce(self, line: str, cell: str | None = None) -> Any:
        """Check a DataFrame against a policy, show the traffic lights, return the Report.

        The DataFrame is any expression of the notebook's namespace (its blanks inside
        brackets). ``--policy`` takes a file or a shipped policy's name; as a cell magic,
        the cell body is the policy (YAML), and its text is kept in the evidence like a
        file's. One ``enforce`` evidence record is written per call.

        Examples::

            %vl_enforce df --policy german_credit_data --target class gender=gender age=age
            report = %vl_enforce X_test.assign(prediction=model.predict(X_test)) --policy model.yaml --target class
            %vl_enforce df --policy policy.yaml gender=Attribute9 age=Attribute13 --review

            %%vl_enforce df --target class
            vl-policy: 1
            controls:
              - {id: fair, metric: disparate_impact, operator: gt, threshold: 0.8,
                 inputs: {target: target, dimension: gender}}
        """
        __tracebackhide__ = True
        parsed = parse_line(self.vl_enforce, line)
        if parsed is None:  # --help was shown
            return None
        args, hidden = parsed.args, parsed.hidden
        policy = self._policy(args, cell)
        data = find_frame(self.shell, args.data)
        options = self._options(args)
        try:
            from ..enforcement import enforce

            report = enforce(data, policy, **options)
        except (ComplianceBlockError, EnforcementError) as exc:
            if exc.report is not None and not (args.quiet or hidden):
                display(exc.report)
            raise UsageError(str(exc)) from None
        except VLError as exc:
            raise UsageError(str(exc)) from None
        by_ipython = displayed_by_ipython(self.shell)
        if by_ipython and (args.quiet or hidden):
            return None  # IPython itself ignores a ';' after a line magic
        if args.review:
            display(report)
            report.review(evidence_dir=args.evidence_dir)
            return None if by_ipython else report
        if not (args.quiet or hidden or by_ipython):
            display(report)
        return report

    def _policy(self, args: Any, cell: str | None) -> Any:
        if cell is not None:
            if args.policy:
                raise UsageError(
                    "%%vl_enforce takes the policy from the cell body: drop --policy, or use "
                    "the line magic %vl_enforce"
                )
            if not cell.strip():
                raise UsageError("write the policy (YAML) in the cell body under %%vl_enforce")
            return cell
        if not args.policy:
            raise UsageError(
                "--policy FILE is required (or write the policy in the cell with %%vl_enforce)"
            )
        return policy_source(args.policy)

    def _options(self, args: Any) -> dict[str, Any]:
        options: dict[str, Any] = {role: getattr(args, role) for role in _ROLES}
        # variables go in enforce's bindings= mapping, so one named like an option
        # (name=applicant, seed=s) binds instead of setting that option
        variables: dict[str, Any] = {}
        for text in args.bindings:
            variable, sep, columns = text.partition("=")
            if not sep or not variable.isidentifier() or not columns:
                raise UsageError(
                    f"binding '{text}' must look like VARIABLE=COLUMN, e.g. gender=Attribute9"
                )
            value = columns.split(",") if "," in columns else columns
            into = options if variable in _ROLES else variables
            if into.get(variable) not in (None, value):
                raise UsageError(f"'{variable}' is bound twice ({into[variable]} and {value})")
            into[variable] = value
        options.update(
            bindings=variables,
            strict=args.strict,
            phase=args.phase,
            name=args.name,
            min_group_size=args.min_group_size,
            pos_label=_literal(args.pos_label),
            ci=not args.no_ci,
            evidence=not args.no_evidence,
            evidence_dir=args.evidence_dir,
            baseline=args.baseline,
        )
        return options

    @magic_arguments()
    @argument("-h", "--help", action=HelpAction, help="show this help and return")
    @argument("policy", metavar="FILE", help="policy file, or a shipped policy name")
    @argument("-q", "--quiet", action="store_true", help="validate and return it, show nothing")
    @line_magic
    def vl_policy(self, line: str) -> Any:
        """Validate a policy and show its controls: what is checked, on which roles, with
        which thresholds. Returns the Policy when assigned (``policy = %vl_policy FILE``).

        Example::

            %vl_policy german_credit_data
        """
        __tracebackhide__ = True
        parsed = parse_line(self.vl_policy, line)
        if parsed is None:  # --help was shown
            return None
        args, hidden = parsed.args, parsed.hidden
        from ..policy import load_policy

        try:
            policy = load_policy(policy_source(args.policy))
        except VLError as exc:
            raise UsageError(str(exc)) from None
        return self._present(policy, PolicyView(policy), args.quiet or hidden)

    @magic_arguments()
    @argument("-h", "--help", action=HelpAction, help="show this help and return")
    @argument("--last", type=int, default=10, metavar="N", help="how many records (default 10)")
    @argument("--kind", help="only this kind: enforce, telemetry, review, sync, ...")
    @argument("--dir", help="evidence store (default $VL_EVIDENCE_DIR, .venturalitica)")
    @argument(
        "--tag",
        nargs=2,
        metavar=("RECORD", "TAG"),
        help="point TAG (e.g. production) at RECORD (an id, or 'latest' enforce run)",
    )
    @argument("-q", "--quiet", action="store_true", help="return the records, show nothing")
    @line_magic
    def vl_evidence(self, line: str) -> Any:
        """List the newest evidence records (newest first). Returns the list of
        EvidenceRecord when assigned (``records = %vl_evidence --last 3``). With ``--tag``
        name a record instead (a baseline for ``%vl_enforce --baseline production``).

        Examples::

            %vl_evidence --last 5 --kind enforce
            %vl_evidence --tag latest production
        """
        __tracebackhide__ = True
        parsed = parse_line(self.vl_evidence, line)
        if parsed is None:  # --help was shown
            return None
        args, hidden = parsed.args, parsed.hidden
        if args.last < 1:
            raise UsageError(f"--last must be at least 1, got {args.last}")
        from ..enforcement import resolve_baseline
        from ..evidence import EvidenceStore, tag

        store = EvidenceStore(args.dir)
        if args.tag:
            record, name = args.tag
            try:  # an id, or 'latest' (or a tag): the way a baseline is named
                record = resolve_baseline(record, evidence_dir=store.root)[1]["id"]
                tag(record, name, root=store.root)
            except VLError as exc:
                raise UsageError(str(exc)) from None
            if not (args.quiet or hidden):
                print(f"{name} -> {record}")
            return None
        try:
            found = list(islice(store.records(kind=args.kind), args.last))
        except VLError as exc:
            raise UsageError(str(exc)) from None
        return self._present(found, EvidenceView(found, store.root), args.quiet or hidden)

    def _present(self, value: Any, view: Any, hidden: bool) -> Any:
        """Show ``view`` once; return ``value`` unless IPython would show it again."""
        by_ipython = displayed_by_ipython(self.shell)
        if not hidden:
            display(view)
        return None if by_ipython else value


def _literal(text: str | None) -> Any:
    """``1`` -> 1, ``'good'`` -> 'good', ``good`` -> 'good'."""
    if text is None:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
