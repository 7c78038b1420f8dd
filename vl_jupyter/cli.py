"""``vl-jupyter``: the same engine as a command-line gate for CI.

    vl-jupyter enforce --data loans.csv --policy policy.yaml --target class --bind gender=sex
    vl-jupyter enforce --sql "SELECT * FROM 'preds/*.parquet'" --policy policy.yaml
    vl-jupyter verify
    vl-jupyter policy policy.yaml
    vl-jupyter metrics
    vl-jupyter sync --to mlflow
    vl-jupyter keys init --name "Ana Ruiz <ana@example.eu>"
    vl-jupyter export --format bundle --out audit/
    vl-jupyter compare latest production
    vl-jupyter tag <record id> production
    vl-jupyter history --control approvals-by-age

Exit codes of ``enforce``: 0 the report passed, 1 a control failed, 2 a control could not
be evaluated or the input was unusable (bad policy, missing file or column). ``sync``
exits 0 when everything pending was pushed, 2 when a tracker could not be used.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .display import STATUS_STYLE
from .enforcement import Status
from .errors import (
    ComplianceBlockError,
    EnforcementError,
    VLError,
    close_matches,
    did_you_mean,
)
from .policy import operator_symbol

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
#: Control characters (C0 but newline and tab, DEL, C1) and bidirectional overrides: in a
#: policy title, a control id or a file name they could repaint a failing line green.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _safe(text: object) -> str:
    """``text`` (user-controlled: policy, data, evidence, tracker text) with every terminal
    control character shown as an escape (``\\x1b``) instead of acting on the terminal."""
    return _UNSAFE.sub(lambda m: ascii(m.group(0))[1:-1], str(text))


class _Parser(argparse.ArgumentParser):
    """argparse that answers a misspelled option (``--polcy``) with the closest ones
    (Python 3.11's argparse only says "unrecognized arguments" or that ``--policy`` is
    missing)."""

    def parse_known_args(self, args=None, namespace=None):
        self._seen = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str):
        options = _long_options(self)
        for token in getattr(self, "_seen", []):
            name = token.split("=", 1)[0]
            if name.startswith("--") and name not in options:
                close = close_matches(name, sorted(options), n=2, cutoff=0.75)
                if close:
                    message = f"unknown option {name} ({did_you_mean(close, joiner=' or ')})"
                    break
        super().error(message)


def _long_options(parser: argparse.ArgumentParser) -> set[str]:
    """Every ``--option`` of ``parser`` and of its sub-commands."""
    found: set[str] = set()
    for action in parser._actions:
        found.update(s for s in action.option_strings if s.startswith("--"))
        choices = getattr(action, "choices", None)
        if isinstance(choices, dict):  # sub-commands (other choices are value lists)
            for sub in choices.values():
                if isinstance(sub, argparse.ArgumentParser):
                    found |= _long_options(sub)
    return found


def _policy_arg(value: str) -> str:
    """A policy file, or the name of a shipped example policy (``german_credit_data``)."""
    from . import datasets

    path = Path(value).expanduser()
    root = datasets.policy_path("german_credit_data").parent
    shipped = sorted(p.stem for p in root.glob("*.yaml"))
    if path.is_file():
        return value
    if value in shipped:  # a name may hold a dot (loan.oscal)
        return str(datasets.policy_path(value))
    if any(sep in value for sep in "/\\") or path.suffix:
        return value
    try:
        return str(datasets.policy_path(value))
    except FileNotFoundError:
        from .errors import PolicyError

        close = close_matches(value, shipped, n=2, cutoff=0.6)
        hint = did_you_mean(close, joiner=" or ", quote=True) + " " if close else ""
        raise PolicyError(
            f"no policy file or shipped policy named '{value}' ({hint}shipped policies: "
            f"{', '.join(shipped)})"
        ) from None


def _parser() -> argparse.ArgumentParser:
    from .trackers import targets_hint, tracker_names

    parser = _Parser(prog="vl-jupyter", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("enforce", help="evaluate a policy on a data file")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--data",
        help="a .csv or .parquet file, or a glob of them (read by DuckDB where installed, "
        "never loaded into pandas)",
    )
    source.add_argument(
        "--sql", help="a DuckDB query giving the rows, e.g. \"SELECT * FROM 'preds/*.parquet'\""
    )
    run.add_argument(
        "--policy",
        required=True,
        help="a policy file (any supported dialect) or a shipped policy's name",
    )
    run.add_argument("--target", help="column of the ground truth")
    run.add_argument("--prediction", help="column of the model's predictions")
    run.add_argument("--score", help="column of the model's scores (probabilities)")
    run.add_argument(
        "--bind",
        action="append",
        default=[],
        metavar="VAR=COLUMN",
        help="bind a policy variable to a column; repeat; COL1,COL2 for an intersection",
    )
    run.add_argument("--phase", help="lifecycle phase: skip controls of other phases")
    run.add_argument("--pos-label", help="the favourable label (default 1)")
    run.add_argument("--min-group-size", type=int, help="exclude smaller groups")
    run.add_argument("--no-ci", action="store_true", help="skip confidence intervals")
    run.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    run.add_argument("--strict", action="store_true", help="exit 2 on the first error")
    run.add_argument("--name", help="a name for this run in the evidence")
    run.add_argument("--evidence-dir", help="evidence folder (default ./.venturalitica)")
    run.add_argument("--json", action="store_true", help="print the report as JSON")
    run.add_argument(
        "--baseline", help="compare with a record id, a tag, 'previous' or mlflow:<run id>"
    )
    run.add_argument(
        "--fail-on-regression",
        choices=("warning", "critical", "emergency"),
        help="exit 1 on a regression at this level or above (not explained by noise)",
    )

    check = commands.add_parser("verify", help="check the evidence store for tampering")
    check.add_argument("--evidence-dir", help="evidence folder (default ./.venturalitica)")
    check.add_argument(
        "--against",
        choices=tracker_names(),
        help="also check the head hashes the tracker keeps (catches a rewritten chain)",
    )
    check.add_argument("--tracking-uri", help="MLflow tracking URI (for --against mlflow)")
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.add_argument(
        "--trusted-keys", metavar="FILE", help="fail on a signature by a key not in FILE"
    )
    check.add_argument(
        "--anchor",
        action="append",
        default=[],
        metavar="SEQ:HASH",
        help="a head logged elsewhere (MLflow/W&B): that record must exist with that hash",
    )
    check.add_argument(
        "--full",
        action="store_true",
        help="re-hash every record, ignoring the checkpoint of the last clean verify",
    )

    from .export import add_cli as _add_export_cli
    from .signing.cli import add_cli as _add_keys_cli

    _add_keys_cli(commands)
    _add_export_cli(commands)

    show = commands.add_parser(
        "policy",
        help="validate a policy and list its controls and warnings "
        "(exit 2 if a control cannot be evaluated)",
    )
    show.add_argument("path")
    show.add_argument(
        "--strict", action="store_true", help="refuse the file at its first unevaluable control"
    )

    commands.add_parser("metrics", help="list the metric keys a policy may use")

    push = commands.add_parser("sync", help="push evidence to MLflow and/or W&B")
    push.add_argument("--to", default="mlflow", help=targets_hint())
    push.add_argument("--ids", nargs="+", metavar="ID", help="only these evidence records")
    push.add_argument("--force", action="store_true", help="log again into the same runs")
    push.add_argument("--evidence-dir", help="evidence folder (default ./.venturalitica)")
    push.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite:///mlflow.db)")
    push.add_argument("--experiment", help="MLflow experiment name")
    push.add_argument("--project", help="W&B project name")
    push.add_argument("--offline", action="store_true", help="W&B offline (wandb sync later)")
    push.add_argument("--no-progress", action="store_true", help="no progress bar")
    push.add_argument("--json", action="store_true", help="print the result as JSON")
    diff = commands.add_parser("compare", help="compare two enforce runs, control by control")
    diff.add_argument("current", help="record id, tag, or 'latest'")
    diff.add_argument("baseline", help="record id, tag, 'previous' or mlflow:<run id>")
    diff.add_argument(
        "--fail-on",
        choices=("warning", "critical", "emergency"),
        default="critical",
        help="exit 1 on a regression at this level or above (default critical)",
    )
    diff.add_argument("--evidence-dir", help="evidence folder (default ./.venturalitica)")
    diff.add_argument("--json", action="store_true", help="print the comparison as JSON")

    name = commands.add_parser("tag", help="name an evidence record (e.g. production)")
    name.add_argument("record", help="record id, or 'latest' (the newest enforce run)")
    name.add_argument("tag")
    name.add_argument("--evidence-dir", help="evidence folder (default ./.venturalitica)")

    past = commands.add_parser("history", help="a control's values across enforce runs")
    past.add_argument("--control", action="append", help="control id (repeat for several)")
    past.add_argument("--policy", help="policy title, source path or sha256")
    past.add_argument("--notebook", help="notebook or script (a path suffix)")
    past.add_argument("--last", type=int, help="only the newest N runs")
    past.add_argument("--evidence-dir", help="evidence folder (default ./.venturalitica)")
    past.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        return {
            "enforce": _enforce,
            "verify": _verify,
            "policy": _policy,
            "metrics": _metrics,
            "sync": _sync,
            "keys": _keys,
            "export": _export,
            "compare": _compare,
            "tag": _tag,
            "history": _history,
        }[args.command](args, out)
    except VLError as exc:
        print(f"error: {_safe(exc)}", file=sys.stderr)
        return EXIT_ERROR


def _read_data(path: str):
    """The data for ``enforce``: the path itself when DuckDB can count it where it lies
    (the file never goes through pandas), else the file read into pandas."""
    import glob

    import pandas as pd

    from .errors import BindingError

    file = Path(path)
    if not file.is_file() and not (glob.has_magic(path) and glob.glob(path)):
        raise BindingError(f"no data file {path}")
    if file.suffix.lower() in (".csv", ".parquet", ".pq") or glob.has_magic(path):
        try:
            import duckdb  # noqa: F401
            import narwhals  # noqa: F401
        except ImportError:
            pass
        else:
            return path
    suffix = file.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(file)
    if suffix in (".parquet", ".pq"):
        try:
            return pd.read_parquet(file)
        except ImportError:
            raise BindingError(
                "reading parquet needs pyarrow", hint="pip install 'vl-jupyter[parquet]'"
            ) from None
    raise BindingError(f"cannot read {path}: use a .csv or .parquet file")


def _label(text: str | None):
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def _enforce(args: argparse.Namespace, out: TextIO) -> int:
    from . import enforce

    bindings: dict[str, str | list[str]] = {}
    for item in args.bind:
        variable, sep, column = item.partition("=")
        if not sep or not variable or not column:
            print(f"error: --bind expects VAR=COLUMN, got {item!r}", file=sys.stderr)
            return EXIT_ERROR
        columns = column.split(",")
        bindings[variable] = columns if len(columns) > 1 else column
    policy = _policy_arg(args.policy)
    data = args.sql if args.sql is not None else _read_data(args.data)
    try:
        report = enforce(
            data,
            policy,
            target=args.target,
            prediction=args.prediction,
            score=args.score,
            phase=args.phase,
            pos_label=_label(args.pos_label),
            min_group_size=args.min_group_size,
            ci=not args.no_ci,
            seed=args.seed,
            strict=args.strict,
            name=args.name,
            evidence_dir=args.evidence_dir,
            baseline=args.baseline,
            bindings=bindings,
        )
    except (ComplianceBlockError, EnforcementError) as exc:
        report = exc.report
        print(f"error: {_safe(exc)}", file=sys.stderr)
    if args.json:
        json.dump(report.to_dict(), out, indent=2, default=str)
        out.write("\n")
    else:
        _print_table(report, out)
        if report.comparison is not None:
            _print_comparison(report.comparison, out)
    if any(r.status == Status.ERROR for r in report) or not report.evaluated:
        return EXIT_ERROR
    if args.fail_on_regression and _regressed(report.comparison, args.fail_on_regression):
        return EXIT_FAILED
    return EXIT_PASSED if report.passed else EXIT_FAILED


def _regressed(comparison, level: str) -> bool:
    """A regression at ``level`` or above that sampling noise does not explain."""
    from .policy import alert_rank

    return comparison is not None and any(
        alert_rank(c.level) >= alert_rank(level) and c.significant is not False for c in comparison
    )


def _print_comparison(comparison, out: TextIO) -> None:
    base = comparison.baseline
    print(
        f"against {base.get('label')} ({base.get('id') or base.get('mlflow_run')}): "
        f"worst alert {comparison.worst_level}",
        file=out,
    )
    for c in comparison:
        now = "—" if c.value is None else f"{c.value:.4g}"
        then = "—" if c.baseline_value is None else f"{c.baseline_value:.4g}"
        rel = "" if c.relative_change is None else f" ({c.relative_change:+.1%})"
        p = "not tested" if c.p_value is None else f"p={c.p_value:.3g}"
        print(
            f"  {c.control_id:28} {then:>10} -> {now:<10} {c.direction:9}{rel:10} {p:12} {c.level}",
            file=out,
        )
    for cid in comparison.added:
        print(f"  {cid:28} new control", file=out)
    for cid in comparison.removed:
        print(f"  {cid:28} no longer checked", file=out)


def _record_or_latest(spec: str, root: str | None) -> str:
    """The record id ``spec`` names: an id, a tag, ``latest`` or ``previous``."""
    from .enforcement import resolve_baseline

    return resolve_baseline(spec, evidence_dir=root)[1]["id"]


def _compare(args: argparse.Namespace, out: TextIO) -> int:
    from .enforcement import compare_reports, resolve_baseline

    current, _ = resolve_baseline(
        _record_or_latest(args.current, args.evidence_dir), evidence_dir=args.evidence_dir
    )
    base, info = resolve_baseline(args.baseline, current=current, evidence_dir=args.evidence_dir)
    comparison = compare_reports(current, base, baseline_info=info)
    if args.json:
        json.dump(comparison.to_dict(), out, indent=2, default=str)
        out.write("\n")
    else:
        _print_comparison(comparison, out)
    return EXIT_FAILED if _regressed(comparison, args.fail_on) else EXIT_PASSED


def _tag(args: argparse.Namespace, out: TextIO) -> int:
    from .evidence import tag

    record = _record_or_latest(args.record, args.evidence_dir)
    tag(record, args.tag, root=args.evidence_dir)
    print(f"{args.tag} -> {record}", file=out)
    return EXIT_PASSED


def _history(args: argparse.Namespace, out: TextIO) -> int:
    from .evidence import history

    frame = history(
        args.control, policy=args.policy, notebook=args.notebook, root=args.evidence_dir,
        limit=args.last,
    )  # fmt: skip
    columns = ["created", "control_id", "value", "ci_low", "ci_high", "status", "threshold"]
    columns += ["record_id", "git_commit", "tags"]
    if args.csv:
        frame[columns].to_csv(out, index=False)
    else:
        print(frame[columns].to_string(index=False) if len(frame) else "no runs", file=out)
    return EXIT_PASSED


def _paint(status: str, text: str, out: TextIO) -> str:
    if hasattr(out, "isatty") and out.isatty():
        return f"\033[{STATUS_STYLE[status].ansi}m{text}\033[0m"
    return text


def _print_table(report, out: TextIO) -> None:
    policy = report.policy
    print(
        f"{_safe(policy.get('title'))} v{_safe(policy.get('version'))}  "
        f"{_paint(report.status, report.status.upper(), out)}  score {report.score:.0%}  "
        f"({report.data.get('rows')} rows)",
        file=out,
    )
    for r in [*report, *report.skipped]:  # skipped controls are listed, not results
        value = "—" if r.actual_value is None else f"{r.actual_value:.4g}"
        if r.ci:
            value += f" [{r.ci[0]:.3g}, {r.ci[1]:.3g}]"
        status = _paint(r.status, f"{STATUS_STYLE[r.status].icon} {r.status.upper():7}", out)
        print(
            f"  {status} {_safe(r.control_id):28} {_safe(r.metric_key):26} {value:24} "
            f"{_safe(operator_symbol(r.operator))} "
            f"{'—' if r.threshold is None else f'{r.threshold:g}'}",
            file=out,
        )
        if r.reason:
            print(f"            {_safe(r.reason)}", file=out)
    if report.evidence_id:
        print(f"evidence: {report.evidence_id}", file=out)


def _verify(args: argparse.Namespace, out: TextIO) -> int:
    """Chain and index (the evidence room), the tracker's heads (``--against``, the
    trackers room), then ``--anchor`` heads and signatures (the signing room)."""
    from .evidence import EvidenceStore
    from .signing import verify_store_signatures

    store = EvidenceStore(args.evidence_dir)
    result = store.verify(full=args.full)
    anchors = None
    if args.against:
        from .trackers import check_anchors, from_options

        settings = from_options(tracking_uri=args.tracking_uri)
        anchors = check_anchors(args.against, args.evidence_dir, settings)
    signatures = verify_store_signatures(store.root, args.trusted_keys, args.anchor)
    ok = result.ok and not signatures["problems"]
    if args.json:
        doc = result.to_dict()
        doc["ok"] = ok
        doc["problems"] += signatures["problems"]  # chain first, then signatures/anchors
        doc["signed"] = signatures["signed"]
        if anchors is not None:
            doc["against"] = anchors.to_dict()
        json.dump(doc, out, indent=2)
        out.write("\n")
    else:
        print(_safe(result), file=out)
        if anchors is not None:
            print(_safe(anchors), file=out)
        print(_safe(signatures["text"]), file=out)
    if anchors is not None and not anchors.anchors and not ok:
        return EXIT_FAILED
    if anchors is not None and not anchors.anchors:
        return EXIT_ERROR  # nothing to hold the store against: not a pass
    return EXIT_PASSED if ok and (anchors is None or anchors.ok) else EXIT_FAILED


def _keys(args: argparse.Namespace, out: TextIO) -> int:
    from .signing.cli import run

    return run(args, out)


def _export(args: argparse.Namespace, out: TextIO) -> int:
    from .export.cli import run

    return run(args, out)


def _policy(args: argparse.Namespace, out: TextIO) -> int:
    """List what a policy will check; exit 2 when a control cannot be evaluated (each is
    an error result at enforce time) so a CI step catches it before the data arrives."""
    import warnings as _warnings

    from .errors import VLWarning
    from .policy import load_policy

    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", VLWarning)  # listed below, once each
        policy = load_policy(Path(_policy_arg(args.path)), strict=args.strict)
    t = _safe  # policy text never acts on the terminal
    print(
        f"{t(policy.title)} v{t(policy.version)} ({policy.dialect}, {len(policy)} controls, "
        f"{len(policy.problems)} cannot be evaluated, sha256 {policy.sha256[:12]})",
        file=out,
    )
    for c in policy:
        inputs = ", ".join(
            f"{role}={v if isinstance(v, str) else '+'.join(v)}" for role, v in c.inputs.items()
        )
        threshold = "—" if c.threshold is None else f"{c.threshold:g}"
        flag = "ERROR " if c.problem else ""
        print(
            t(
                f"  {flag}{c.id:28} {c.metric or '—':26} {c.operator_symbol or '—'} {threshold}  "
                f"[{c.severity}, {c.enforcement_mode}] {inputs}"
            ),
            file=out,
        )
    for warning in policy.warnings:
        print(f"warning: {t(warning)}", file=out)
    return EXIT_ERROR if policy.problems else EXIT_PASSED


def _metrics(args: argparse.Namespace, out: TextIO) -> int:
    from .metrics import CATALOGUE

    for key in sorted(CATALOGUE):
        spec = CATALOGUE[key]
        print(f"{key:32} {spec.category:13} {spec.summary}", file=out)
    return EXIT_PASSED


def _sync(args: argparse.Namespace, out: TextIO) -> int:
    from .errors import SyncError
    from .trackers import from_options, sync

    settings = from_options(
        tracking_uri=args.tracking_uri,
        experiment=args.experiment,
        project=args.project,
        offline=args.offline,
    )
    try:
        result = sync(
            args.to,
            ids=args.ids,
            force=args.force,
            evidence_dir=args.evidence_dir,
            settings=settings,
            progress=False if args.no_progress else None,
        )
    except SyncError as exc:
        if args.json:
            json.dump({"error": exc.to_dict()}, out, indent=2)
            out.write("\n")
        print(f"error: {_safe(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except ValueError as exc:
        print(f"error: {_safe(exc)}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        json.dump(result.to_dict(), out, indent=2)
        out.write("\n")
    else:
        print(_safe(result), file=out)
    return EXIT_PASSED


if __name__ == "__main__":
    raise SystemExit(main())
