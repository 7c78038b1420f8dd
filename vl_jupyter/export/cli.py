"""``vl-jupyter export``: the CLI door into :func:`vl_jupyter.export.export`."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from . import export


def run(args: argparse.Namespace, out: TextIO) -> int:
    result = export(
        args.format,
        args.out,
        evidence_dir=args.evidence_dir,
        session=args.session,
        since=args.since,
        policy=args.policy,
        model=args.model,
    )
    if args.json:
        json.dump(result.to_dict(), out, indent=2)
        out.write("\n")
    else:
        print(str(result), file=out)
    return 0
