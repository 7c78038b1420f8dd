"""Where the trackers are: explicit settings, environment, project config file, defaults.

Resolution order, first found wins, key by key:

1. ``settings=`` passed to :func:`vl_jupyter.sync` (the sidebar passes its own here);
2. the environment (``MLFLOW_TRACKING_URI``, ``MLFLOW_EXPERIMENT_NAME``,
   ``WANDB_PROJECT``, ``WANDB_ENTITY``, ``WANDB_MODE``, ``WANDB_DIR``), then a ``.env``
   file in the project folder for the same names;
3. the ``trackers:`` mapping of ``vl_jupyter.yaml`` in the project folder;
4. defaults: MLflow at ``sqlite:///<project>/mlflow.db``, experiment and W&B project named
   after the notebook, W&B ``offline`` unless an API key is found.

Credentials (``WANDB_API_KEY``, ``MLFLOW_TRACKING_TOKEN``, ...) are read from the
environment or ``.env`` only while a sync runs (:func:`credentials`) and are never part of
the resolved settings, the evidence or anything uploaded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import TrackerSettingsError
from ._registry import setting_keys, specs

CONFIG_FILE = "vl_jupyter.yaml"
#: Names a ``.env`` file may provide while a sync runs (credentials and endpoints only).
_CREDENTIAL_RE = re.compile(
    r"^(WANDB_[A-Z_]+|MLFLOW_[A-Z_]+|DATABRICKS_[A-Z_]+|AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|"
    r"SESSION_TOKEN|DEFAULT_REGION)|AZURE_STORAGE_[A-Z_]+|GOOGLE_APPLICATION_CREDENTIALS)$"
)
_SECRET_NAME_RE = re.compile(r"KEY|TOKEN|PASSWORD|SECRET|CREDENTIAL", re.IGNORECASE)


def find_project_dir(start: str | Path | None = None) -> Path:
    """The folder holding ``vl_jupyter.yaml`` at or above ``start`` (default: the working
    directory), stopping at a git root; ``start`` itself if none is found."""
    here = Path(start if start is not None else Path.cwd()).absolute()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
        if (folder / ".git").exists():
            break
    return here


def read_config(folder: Path) -> dict[str, Any]:
    """The ``trackers:`` mapping of ``<folder>/vl_jupyter.yaml`` ({} if absent)."""
    path = folder / CONFIG_FILE
    if not path.is_file():
        return {}
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TrackerSettingsError(f"cannot read {path}: {exc}", file=str(path)) from None
    section = doc.get("trackers", {}) if isinstance(doc, dict) else {}
    if not isinstance(section, dict):
        raise TrackerSettingsError("'trackers' must be a mapping", file=str(path))
    keys = setting_keys()
    return {k: v for k, v in section.items() if k in keys and v not in (None, "")}


def read_dotenv(folder: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of ``<folder>/.env`` (``export``, quotes and comments allowed)."""
    path = folder / ".env"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    found: dict[str, str] = {}
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            found[key] = value
    return found


def _notebook_stem() -> str | None:
    from ..telemetry import notebook_path

    path = notebook_path()
    return Path(path).stem if path else None


def has_wandb_key(env: Mapping[str, str]) -> bool:
    """Whether W&B credentials exist: ``WANDB_API_KEY`` or a ``~/.netrc`` entry."""
    if env.get("WANDB_API_KEY"):
        return True
    try:
        import netrc

        host = (env.get("WANDB_BASE_URL") or "https://api.wandb.ai").split("://")[-1]
        return netrc.netrc().authenticators(host.split("/")[0]) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def resolve_settings(
    settings: Mapping[str, Any] | None = None, project_dir: str | Path | None = None
) -> dict[str, Any]:
    """The tracker settings in force: explicit > environment (.env) > config file > defaults.

    >>> resolve_settings({"wandb_mode": "offline"})["wandb_mode"]
    'offline'
    """
    keys = setting_keys()
    explicit = {k: v for k, v in (settings or {}).items() if v not in (None, "")}
    unknown = sorted(set(explicit) - set(keys))
    if unknown:
        raise TrackerSettingsError(
            f"unknown tracker setting(s) {unknown}; known: {', '.join(keys)}"
        )
    folder = find_project_dir(project_dir)
    env = {**read_dotenv(folder), **os.environ}
    from_env = {
        k: env[name] for s in specs() for k, name in s.settings.items() if name and env.get(name)
    }
    config = read_config(folder)
    name = _notebook_stem() or folder.name or "vl_jupyter"
    defaults: dict[str, Any] = {}
    for spec in specs():
        defaults.update(spec.defaults(folder, name, env))
    resolved = {k: explicit.get(k, from_env.get(k, config.get(k, defaults.get(k)))) for k in keys}
    for spec in specs():
        if spec.validate is not None:
            spec.validate(resolved, folder)
    return resolved


#: Credential variables that are not caught by :data:`_SECRET_NAME_RE` by their name.
_CREDENTIAL_NAMES = frozenset(
    (
        "MLFLOW_TRACKING_USERNAME",
        "MLFLOW_TRACKING_AUTH",
        "MLFLOW_TRACKING_CLIENT_CERT_PATH",
        "AWS_PROFILE",
        "DATABRICKS_CONFIG_PROFILE",
    )
)


def is_credential(name: str) -> bool:
    """Whether environment variable ``name`` carries a credential (token, key, password)."""
    return bool(_SECRET_NAME_RE.search(name)) or name in _CREDENTIAL_NAMES


@contextmanager
def credentials(folder: Path, withhold: bool = False) -> Iterator[None]:
    """Make ``.env`` credentials visible to the tracker clients for the block only.

    Variables already in the environment win; the environment is restored afterwards, so
    nothing is kept in the process (or written anywhere) once the sync is done.

    ``withhold`` does the opposite: for the block, every credential variable is taken out
    of the environment (and ``.env`` is not read), so a tracker URI that came from a
    request (the sidebar's settings) never receives the server's own tokens.
    """
    if withhold:
        with scoped_env({k: None for k in os.environ if is_credential(k)}):
            yield
        return
    extra = {
        k: v
        for k, v in read_dotenv(folder).items()
        if _CREDENTIAL_RE.match(k) and k not in os.environ
    }
    with scoped_env(extra):
        yield


@contextmanager
def scoped_env(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) environment variables for the block, restoring the
    previous values after."""
    saved = {k: os.environ.get(k) for k in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def secret_values(folder: Path | None = None) -> list[str]:
    """Values of credential-like variables (environment and ``.env``), longest first.

    Used to make sure no secret ends up in an uploaded file, a tag or a param.
    """
    from ._redact import uri_secrets

    env = {**(read_dotenv(folder) if folder else {}), **os.environ}
    found = {v for k, v in env.items() if _SECRET_NAME_RE.search(k) and len(v) >= 8}
    # a password inside a URI variable (MLFLOW_TRACKING_URI=http://u:pw@host) too
    found |= {s for k, v in env.items() if "://" in v for s in uri_secrets(v) if len(s) >= 8}
    return sorted(found, key=len, reverse=True)


def from_options(
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    project: str | None = None,
    offline: bool = False,
) -> dict[str, Any]:
    """Settings from the command-line / magic options (only those given), for ``sync``."""
    given = {
        "mlflow_tracking_uri": tracking_uri,
        "mlflow_experiment": experiment,
        "wandb_project": project,
        "wandb_mode": "offline" if offline else None,
    }
    return {key: value for key, value in given.items() if value}
