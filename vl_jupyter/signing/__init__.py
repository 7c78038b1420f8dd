"""Signed evidence: Ed25519 keys, DSSE envelopes over in-toto Statements (docs/audit.md).

``vl-jupyter keys init --name "Ana Ruiz <ana@example.eu>"`` creates the user's key under
:func:`config_dir` (never in the project or its evidence). From then on every
``enforce``, ``telemetry`` (monitor) and ``review`` record written on this machine is
signed, unless ``VL_SIGN=0``: the record carries the signer's public key and key id, and
``signatures/<seq>_<id>.dsse.json`` next to ``records/`` holds the DSSE envelope whose
in-toto Statement names the record file's sha256. :func:`verify_signatures` checks them.

The store knows nothing of this room: :func:`install` registers a signer provider with
``vl_jupyter.evidence`` (done on import of ``vl_jupyter``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ._attest import PREDICATES, encode, envelope, statement
from ._keys import SigningKey, config_dir, init_key, keys_dir, load_key
from ._standalone import (
    PAYLOAD_TYPE,
    STATEMENT_TYPE,
    TEST_RESULT,
    Source,
    check_chain,
    check_signatures,
    keyid,
    load_trusted,
    pae,
    render,
    verify_envelope,
)
from ._standalone import verify as verify_offline

__all__ = [
    "PAYLOAD_TYPE",
    "PREDICATES",
    "STATEMENT_TYPE",
    "TEST_RESULT",
    "Signer",
    "SigningKey",
    "Source",
    "check_chain",
    "check_signatures",
    "config_dir",
    "enabled",
    "init_key",
    "install",
    "keyid",
    "keys_dir",
    "load_key",
    "load_trusted",
    "pae",
    "render",
    "standalone_source",
    "verify_envelope",
    "verify_offline",
    "verify_signatures",
    "verify_store_signatures",
]

_OFF = ("0", "false", "no", "off")


class Signer:
    """Signs records for the evidence store's hook (see ``vl_jupyter.evidence._hooks``)."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key

    def identity(self) -> dict[str, str]:
        return self.key.identity()

    def attest(self, doc: dict[str, Any], file_name: str, file_bytes: bytes) -> bytes:
        payload = encode(statement(doc, file_name, file_bytes))
        return encode(envelope(payload, self.key.keyid, self.key.sign)) + b"\n"


def enabled() -> bool:
    """Signing is on unless ``VL_SIGN`` is 0/false/no/off."""
    return os.environ.get("VL_SIGN", "1").strip().lower() not in _OFF


_cache: dict[tuple[str, float, str], SigningKey | None] = {}  # (path, mtime, signer name)


def _current_key() -> SigningKey | None:
    """The key to sign with now (reloaded when its file changes), or None."""
    path = Path(os.environ.get("VL_SIGNING_KEY") or keys_dir() / "signing.key").expanduser()
    try:
        stamp = (str(path), path.stat().st_mtime, os.environ.get("VL_SIGNER_NAME", ""))
    except OSError:
        if os.environ.get("VL_SIGNING_KEY"):
            return load_key()  # raises SigningError naming the missing file
        return None
    key = _cache.get(stamp)
    if key is None:
        key = load_key()
        _cache.clear()
        _cache[stamp] = key
    return key


def _provider(kind: str) -> Signer | None:
    if kind not in PREDICATES or not enabled():
        return None
    key = _current_key()
    return Signer(key) if key is not None else None


def install() -> None:
    """Register the signer provider with the evidence store (idempotent)."""
    from .. import evidence

    evidence.register_signer(_provider)


def signer_for_key(path: str | Path) -> Signer:
    """A signer for an explicit key file (a reviewer's own key)."""
    key = load_key(path)
    assert key is not None  # load_key raises for an explicit path that does not exist
    return Signer(key)


def verify_signatures(root: str | Path, trusted_keys: str | Path | None = None) -> dict[str, Any]:
    """Check every signature of the evidence folder ``root``: ``{"signed", "problems"}``.

    ``trusted_keys`` is a file of trusted public keys (see docs/audit.md); with it, a
    signature by any other key is a problem (``untrusted_key``).
    """
    # no store yet: nothing signed, nothing to check
    src = Source.open(str(root)) if Path(root).is_dir() else Source({}, str(root))
    records, _ = check_chain(src)
    trusted = None
    if trusted_keys is not None:
        trusted = load_trusted(Path(trusted_keys).read_text(encoding="utf-8"))
    signed, problems = check_signatures(src, records, trusted)
    return {"signed": signed, "problems": problems}


def verify_store_signatures(
    root: str | Path, trusted_keys: str | Path | None = None, anchors: list[str] | None = None
) -> dict[str, Any]:
    """:func:`verify_signatures` plus anchors (``SEQ:HASH``) and a printable ``text``:
    who signed what, then each problem. SigningError for an unreadable trusted-keys file."""
    from ..errors import SigningError
    from ._standalone import check_anchor, signed_line

    try:
        result = verify_signatures(root, trusted_keys)
    except (OSError, ValueError) as exc:
        raise SigningError(f"cannot read the trusted keys: {exc}", file=str(trusted_keys)) from None
    if anchors:
        src = Source.open(str(root)) if Path(root).is_dir() else Source({}, str(root))
        records, _ = check_chain(src)
        for anchor in anchors:
            result["problems"] += check_anchor(records, anchor)
    lines = [signed_line(s) for s in result["signed"]]
    if not result["signed"]:
        lines.append("  no signed records")
    lines += [f"  problem [{p['code']}] {p['message']}" for p in result["problems"]]
    state = "OK" if not result["problems"] else "FAILED"
    result["text"] = f"signatures {state}: {len(result['signed'])} signed\n" + "\n".join(lines)
    return result


def standalone_source() -> str:
    """The source of the offline verifier shipped in bundles as ``verify_bundle.py``."""
    return (Path(__file__).parent / "_standalone.py").read_text(encoding="utf-8")
