"""Record signers: extension by registration, so the store never imports a signing room.

A *signer* has ``identity() -> dict`` (stored in the record's ``signer`` field, so the
record hash covers it) and ``attest(doc, file_name, file_bytes) -> bytes`` (the signature
file written to ``signatures/<seq>_<id>.dsse.json`` once the record is committed). A
*provider* ``(kind) -> signer | None`` decides per record; vl_jupyter.signing registers one.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import VLWarning

_provider: Callable[[str], Any] | None = None


def register_signer(provider: Callable[[str], Any] | None) -> None:
    """Install ``provider`` (None removes it); the last registration wins."""
    global _provider
    _provider = provider


def signer_for(kind: str, explicit: Any = None) -> Any:
    """``explicit`` if given (False means "do not sign"), else the provider's choice."""
    if explicit is False:
        return None
    if explicit is not None:
        return explicit
    if _provider is None:
        return None
    try:
        return _provider(kind)
    except Exception as exc:  # a broken key setup must not stop evidence being written
        warnings.warn(
            f"this {kind} record is written unsigned: {type(exc).__name__}: {exc}",
            VLWarning,
            stacklevel=4,
        )
        return None


def seal(
    doc: dict[str, Any], name: str, signer: Any, encode: Callable[[dict[str, Any]], bytes]
) -> tuple[bytes, bytes | None]:
    """Seal ``doc`` with ``encode`` (which sets ``doc["hash"]`` and returns the record
    file's bytes; ``doc["signer"]`` is set first when signing) and return those bytes and
    the envelope (None when unsigned).

    A signer that fails leaves the record unsigned, with a VLWarning: a record must never
    be lost, nor a measured cell broken, because signing did not work; and a record that
    names a signer always has its envelope.
    """
    if signer is not None:
        try:
            doc["signer"] = signer.identity()
            raw = encode(doc)
            return raw, signer.attest(doc, name, raw)
        except Exception as exc:
            doc.pop("signer", None)
            warnings.warn(
                f"evidence record {doc['id']} was written unsigned: signing failed "
                f"({type(exc).__name__}: {exc})",
                VLWarning,
                stacklevel=5,
            )
    return encode(doc), None


def signatures_dir_ok(root: Path, signer: Any) -> Any:
    """``signer``, or None (with a VLWarning) when ``root/signatures`` is a link: a store
    cloned from someone else must not make us write outside it."""
    if signer is None:
        return None
    folder = root / "signatures"
    if os.path.islink(folder) or (
        folder.exists()
        and os.path.realpath(folder) != os.path.join(os.path.realpath(root), "signatures")
    ):
        warnings.warn(
            f"this record is written unsigned: {folder} is a link to "
            f"{os.path.realpath(folder)}, outside the store",
            VLWarning,
            stacklevel=5,
        )
        return None
    return signer
