"""``%vl_sync``: push evidence to MLflow / Weights & Biases from a notebook.

A thin magic over :func:`vl_jupyter.trackers.sync`: parse, call, present. A tracker that
cannot be reached is one line (a ``UsageError``), naming the target, the cause and how
many records stay pending; nothing is lost and the next ``%vl_sync`` carries on.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ._shared_magic import HelpAction, parse_line


@magics_class
class SyncMagics(Magics):
    """The tracker-sync magic; registered by ``%load_ext vl_jupyter``."""

    @magic_arguments()
    @argument("-h", "--help", action=HelpAction, help="show this help and return")
    @argument(
        "target",
        nargs="?",
        default="mlflow",
        help="a registered tracker: mlflow, wandb or mlflow,wandb (default mlflow)",
    )
    @argument("--ids", nargs="+", metavar="ID", help="only these evidence record ids")
    @argument("--force", action="store_true", help="log again into the same runs")
    @argument("--evidence-dir", help="evidence folder (default ./.venturalitica)")
    @argument("--tracking-uri", help="MLflow tracking URI (default sqlite:///mlflow.db)")
    @argument("--experiment", help="MLflow experiment (default: the notebook's name)")
    @argument("--project", help="W&B project (default: the notebook's name)")
    @argument("--offline", action="store_true", help="W&B offline, for a later `wandb sync`")
    @argument("--quiet", "-q", action="store_true", help="sync without displaying")
    @line_magic
    def vl_sync(self, line: str) -> Any:
        """Push evidence records not yet synced to MLflow and/or W&B; show the run links.

        Inside an active MLflow run (or ``wandb.run``) the evidence goes into that run;
        otherwise MLflow gets one run per evidence session and W&B one run per sync.
        Returns the SyncResult (shown as links unless ``-q``).

        Examples::

            %vl_sync mlflow
            %vl_sync mlflow,wandb --experiment credit-scoring
            %vl_sync wandb --offline -q
        """
        from ..trackers import SyncError, from_options, sync

        parsed = parse_line(self.vl_sync, line)
        if parsed is None:  # --help was shown
            return None
        args = parsed.args
        settings = from_options(
            tracking_uri=args.tracking_uri,
            experiment=args.experiment,
            project=args.project,
            offline=args.offline,
        )
        try:
            result = sync(
                args.target,
                ids=args.ids,
                force=args.force,
                evidence_dir=args.evidence_dir,
                settings=settings,
            )
        except SyncError as exc:
            raise UsageError(str(exc)) from None
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        return None if args.quiet or parsed.hidden else result
