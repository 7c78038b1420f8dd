"""One redaction for every place a tracker URI is shown or stored.

A tracking URI may carry a secret: ``http://user:secret@host``, ``postgresql://u:p@h/db``,
``https://host/?token=...``. The URI itself is needed to connect, but what is shown
(SyncError text, the notebook, the CLI, the sidebar API) and what is stored (the ledger's
``location`` in ``index.jsonl`` and the hash-chained record, run links) is always
:func:`redact` of it, so a secret never reaches a screen, a log or the evidence.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
#: Query parameters whose value is a secret (``?token=``, ``&api_key=``, ``sig=``, ...).
_SECRET_PARAM_RE = re.compile(
    r"(token|key|secret|passw|pwd|auth|sig|credential|session)", re.IGNORECASE
)
#: A URI inside free text (an exception message, a log line).
_URI_RE = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s\"<>`]+")


def redact_uri(uri: str) -> str:
    """``uri`` with the password of its userinfo and secret query values replaced by
    ``***``; anything that does not parse as a URI is returned unchanged.

    >>> redact_uri("http://alice:s3cret@mlflow.example:5000/?token=abc&x=1")
    'http://alice:***@mlflow.example:5000/?token=***&x=1'
    """
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hostport}" if colon else f"{userinfo}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_PARAM_RE.search(k) for k, _v in pairs):
            query = urlencode(
                [(k, MASK if _SECRET_PARAM_RE.search(k) else v) for k, v in pairs], safe="*"
            )
    if (netloc, query) == (parts.netloc, parts.query):
        return uri
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact(text: str) -> str:
    """``text`` with every URI in it passed through :func:`redact_uri` (for messages
    that quote a URI, such as a tracker client's exception)."""
    if "://" not in text:
        return text
    return _URI_RE.sub(lambda m: redact_uri(m.group(0)), text)


def uri_secrets(uri: str) -> list[str]:
    """The secret parts of ``uri`` (userinfo password, secret query values), so a bundle
    can scrub them from uploaded text as it does credential variables."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return []
    found = []
    if parts.password:
        found.append(parts.password)
    found += [v for k, v in parse_qsl(parts.query) if _SECRET_PARAM_RE.search(k) and v]
    return found
