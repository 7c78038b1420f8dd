"""Record signers: extension by registration, so the store never imports a signing room.

A *signer* has ``identity() -> dict`` (stored in the record's ``signer`` field, so the
record hash covers it) and ``attest(doc, file_name, file_bytes) -> bytes`` (the signature
file written to ``signatures/<seq>_<id>.dsse.json`` once the record is committed). A
*provider* ``(kind) -> signer | None`` decides per record; vl_jupyter.signing registers one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
    return _provider(kind) if _provider is not None else None
