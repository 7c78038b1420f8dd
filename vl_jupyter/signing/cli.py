"""``vl-jupyter keys init|show``: the user's signing key (the CLI module only wires it)."""

from __future__ import annotations

import argparse
import os
import platform
from typing import Any, TextIO


def add_cli(commands: Any) -> None:
    keys = commands.add_parser("keys", help="create or show your evidence signing key")
    sub = keys.add_subparsers(dest="keys_command", required=True)
    init = sub.add_parser("init", help="create an Ed25519 key under your config folder")
    init.add_argument(
        "--name",
        help="who signs with it, e.g. 'Ana Ruiz <ana@example.eu>' (default: $USER@host)",
    )
    init.add_argument("--force", action="store_true", help="replace an existing key")
    sub.add_parser("show", help="print your public key as a trusted-keys line")
    pred = sub.add_parser(
        "predicate", help="print a record's in-toto test-result predicate (for cosign attest-blob)"
    )
    pred.add_argument("record", help="a record file, records/<seq>_<id>.json")


def run(args: argparse.Namespace, out: TextIO) -> int:
    from . import enabled, init_key, load_key

    if args.keys_command == "init":
        name = args.name or f"{os.environ.get('USER') or 'user'}@{platform.node() or 'host'}"
        key = init_key(name, force=args.force)
        print(f"created {key.path} (mode 0600) for {key.name}", file=out)
        print(f"key id {key.keyid}", file=out)
        state = "signed" if enabled() else "NOT signed (VL_SIGN is off)"
        print(
            f"enforce, monitor and review records written as this user are now {state}; "
            "give this line to whoever verifies them (a trusted-keys file):",
            file=out,
        )
        print(key.public_line(), file=out)
        return 0
    if args.keys_command == "predicate":
        return _predicate(args.record, out)
    current = load_key()
    if current is None:
        print("no signing key: run `vl-jupyter keys init --name 'Your Name'`", file=out)
        return 1
    print(current.public_line(), file=out)
    print(f"# key id {current.keyid}, {current.path}", file=out)
    return 0


def _predicate(path: str, out: TextIO) -> int:
    """The predicate our own envelope would carry, for signing with another tool."""
    import json
    from pathlib import Path

    from ..errors import SigningError
    from ._attest import PREDICATES

    try:
        doc = json.loads(Path(path).read_bytes())
        kind = doc["kind"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SigningError(f"not an evidence record: {exc}", file=path) from None
    if kind not in PREDICATES:
        raise SigningError(
            f"a {kind} record has no test-result predicate (only {', '.join(PREDICATES)})",
            file=path,
        )
    json.dump(PREDICATES[kind](doc.get("data") or {}), out, indent=2, sort_keys=True)
    out.write("\n")
    return 0
