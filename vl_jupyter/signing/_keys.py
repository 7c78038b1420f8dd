"""Ed25519 signing keys in the user's config folder, never in the project or its evidence.

Layout under :func:`config_dir` (``$VL_CONFIG_DIR``, else the platform's user config
folder for ``vl-jupyter``, e.g. ``~/.config/vl-jupyter`` on Linux)::

    keys/signing.key     PKCS#8 PEM private key, mode 0600 (the folder is 0700)
    keys/signing.json    {"name", "keyid", "public_key", "created"}: who the key speaks for

The key id (also the fingerprint shown to people) is the sha256 hex of the 32 raw public-key
bytes; ``public_key`` is those bytes in base64. Both go into every record the key signs.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SigningError
from ._standalone import keyid as _keyid

KEY_FILE = "signing.key"
META_FILE = "signing.json"


def config_dir() -> Path:
    """``$VL_CONFIG_DIR`` if set, else the user config folder (platformdirs when present)."""
    env = os.environ.get("VL_CONFIG_DIR")
    if env:
        return Path(env).expanduser().absolute()
    return _user_config_dir(os.environ.get("XDG_CONFIG_HOME"), os.environ.get("HOME"))


@functools.lru_cache(maxsize=8)
def _user_config_dir(xdg_config_home: str | None, home: str | None) -> Path:
    """The user config folder for these values of the variables it depends on (cached:
    every signed record looks for the key here, and platformdirs re-derives it each call)."""
    try:
        from platformdirs import user_config_dir
    except ImportError:  # platformdirs comes with jupyter_core; this is a fallback
        base = xdg_config_home or str(Path.home() / ".config")
        return Path(base) / "vl-jupyter"
    return Path(user_config_dir("vl-jupyter", appauthor=False))


def keys_dir() -> Path:
    return config_dir() / "keys"


@dataclass(frozen=True)
class SigningKey:
    """A private key loaded for signing, and the identity it speaks for."""

    name: str
    keyid: str
    public_key: str  # base64 of the 32 raw bytes
    path: Path
    _private: Any

    def identity(self) -> dict[str, str]:
        """What goes into a signed record's ``signer`` field (hashed with the record)."""
        return {
            "algorithm": "ed25519",
            "keyid": self.keyid,
            "public_key": self.public_key,
            "name": self.name,
        }

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def public_line(self) -> str:
        """One line of a trusted-keys file: ``<base64 public key> <name>``."""
        return f"{self.public_key} {self.name}".rstrip()


def project_root(start: Path | None = None) -> Path | None:
    """The project the working directory belongs to: the nearest folder (itself or
    above) with ``.git``, ``pyproject.toml`` or ``.venturalitica``; never ``$HOME`` or /."""
    here = (start or Path.cwd()).absolute()
    stop = {Path.home().absolute(), Path(here.anchor)}
    for folder in (here, *here.parents):
        if folder in stop:
            return None
        if any((folder / m).exists() for m in (".git", "pyproject.toml", ".venturalitica")):
            return folder
    return None


def _check_outside(folder: Path) -> None:
    """Refuse a key folder inside the evidence folder or the current project."""
    evidence = Path(os.environ.get("VL_EVIDENCE_DIR") or Path.cwd() / ".venturalitica")
    roots = [("the evidence folder", evidence.absolute())]
    project = project_root()
    if project is not None:
        roots.append(("the current project", project))
    for what, root in roots:
        if folder == root or root in folder.parents:
            raise SigningError(
                f"refusing to keep a signing key in {folder}: it lies inside {what} "
                f"{root}, where it would be committed or exported",
                hint="set VL_CONFIG_DIR to a folder outside the project",
            )


def init_key(name: str, *, force: bool = False) -> SigningKey:
    """Create the user's Ed25519 signing key for ``name`` (a person or a CI identity).

    Raises SigningError if a key exists (unless ``force``), ``name`` is empty, or the
    config folder lies inside the project or the evidence folder.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    name = (name or "").strip()
    if not name:
        raise SigningError("a key needs a name: who signs with it (e.g. 'Ana Ruiz <ana@x.eu>')")
    folder = keys_dir()
    _check_outside(folder)
    key_path = folder / KEY_FILE
    if key_path.exists() and not force:
        raise SigningError(
            f"a signing key already exists at {key_path}",
            hint="use it, or pass --force to replace it; records it signed stay verifiable "
            "with the public key they carry",
        )
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    tmp = folder / f".{KEY_FILE}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, pem)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, key_path)
    meta = {
        "name": name,
        "keyid": _keyid(raw),
        "public_key": base64.b64encode(raw).decode("ascii"),
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return load_key()  # type: ignore[return-value]


def load_key(path: str | Path | None = None) -> SigningKey | None:
    """The signing key at ``path`` (default ``$VL_SIGNING_KEY``, else the config folder's),
    or None when there is none. SigningError for a key that is unreadable or readable by
    others (mode wider than 0600)."""
    env = os.environ.get("VL_SIGNING_KEY")
    key_path = Path(path or env or keys_dir() / KEY_FILE).expanduser()
    if not key_path.exists():
        if path or env:
            raise SigningError(f"no signing key at {key_path}")
        return None
    mode = stat.S_IMODE(key_path.stat().st_mode)
    if mode & 0o077:
        raise SigningError(
            f"the signing key {key_path} is readable by others (mode {mode:o})",
            hint=f"chmod 600 {key_path}",
        )
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        private = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningError(f"cannot read the signing key: {exc}", file=str(key_path)) from None
    if not isinstance(private, Ed25519PrivateKey):
        raise SigningError("the signing key is not an Ed25519 key", file=str(key_path))
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    meta_path = key_path.with_name(META_FILE)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    name = os.environ.get("VL_SIGNER_NAME") or meta.get("name") or ""
    return SigningKey(
        name=str(name),
        keyid=_keyid(raw),
        public_key=base64.b64encode(raw).decode("ascii"),
        path=key_path,
        _private=private,
    )
