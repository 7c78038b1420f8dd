"""``vl-jupyter keys init|show``: the user's signing key (the CLI module only wires it)."""

from __future__ import annotations

import argparse
import os
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


def run(args: argparse.Namespace, out: TextIO) -> int:
    from . import enabled, init_key, load_key

    if args.keys_command == "init":
        name = args.name or f"{os.environ.get('USER') or 'user'}@{os.uname().nodename}"
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
    key = load_key()
    if key is None:
        print("no signing key: run `vl-jupyter keys init --name 'Your Name'`", file=out)
        return 1
    print(key.public_line(), file=out)
    print(f"# key id {key.keyid}, {key.path}", file=out)
    return 0
