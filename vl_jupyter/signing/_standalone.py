"""Check an evidence folder or an audit bundle offline: chain, anchors and signatures.

This module is copied as-is into every audit bundle as ``verify_bundle.py``, so it imports
nothing but Python's standard library and, for signatures only, ``cryptography``. The
package uses the same functions (``vl_jupyter.signing``), so what an auditor runs is what
our tests exercise. Run it as::

    python verify_bundle.py BUNDLE.zip|FOLDER [--trusted-keys FILE] [--anchor SEQ:HASH] [--json]

Exit status: 0 everything checked out, 1 something did not (each problem names the file),
2 the input could not be read at all.

Formats (see docs/audit.md):

- a record ``records/<seq>_<id>.json`` holds ``hash`` = sha256 of the canonical JSON of
  every other field, and ``prev_hash`` = the hash of the record before it; a
  ``vl_jupyter.evidence/2`` file *is* those canonical bytes, with ``,"hash":"<hex>"``
  before its last ``}``, so its hash is taken over the stored bytes (docs/evidence.md);
- a signed record holds ``signer`` = {"keyid", "public_key" (base64 raw Ed25519), "name"};
  its signature is ``signatures/<seq>_<id>.dsse.json``, a DSSE envelope whose payload is an
  in-toto Statement v1 with the record file's sha256 as subject;
- an enforce record names its policy text ``policies/<sha256>.<ext>`` in
  ``data.policy.text_file`` (one file per distinct text; older records hold ``text``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
import zipfile
from pathlib import PurePosixPath
from typing import Any

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
TEST_RESULT = "https://in-toto.io/attestation/test-result/v0.1"
GENESIS = "0" * 64
RECORD_FIELDS = ("schema", "seq", "id", "kind", "created", "session", "summary", "prev_hash")


def canonical(obj: Any) -> bytes:
    """The bytes a record hash is taken of (docs/evidence.md, "Canonical JSON")."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def record_hash(doc: dict[str, Any]) -> str:
    """sha256 hex of the canonical JSON of every field but ``hash``."""
    return hashlib.sha256(canonical({k: v for k, v in doc.items() if k != "hash"})).hexdigest()


def content_hash(raw: bytes, doc: dict[str, Any]) -> str:
    """The hash record file ``raw`` (parsed: ``doc``) has: for a /2 file in the /2 layout
    the sha256 of its stored bytes up to the hash trailer, plus ``}``; else
    :func:`record_hash`. Both agree on every file the store wrote."""
    trailer = 9 + 64 + 3  # ,"hash":" + hex + "} + newline
    if (
        doc.get("schema") == "vl_jupyter.evidence/2"
        and len(raw) > trailer
        and raw.startswith(b'{"created":"')
        and raw[-trailer : -trailer + 9] == b',"hash":"'
        and raw.endswith(b'"}\n')
    ):
        return hashlib.sha256(raw[:-trailer] + b"}").hexdigest()
    return record_hash(doc)


def keyid(public_raw: bytes) -> str:
    """A key's id and fingerprint: sha256 hex of its 32 raw Ed25519 public-key bytes."""
    return hashlib.sha256(public_raw).hexdigest()


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what the signature is computed over."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def _b64(text: str) -> bytes:
    # DSSE allows standard or URL-safe base64, with or without padding
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def verify_envelope(envelope: dict[str, Any], public_raw: bytes) -> dict[str, Any]:
    """The Statement inside ``envelope`` if one of its signatures is ``public_raw``'s.

    Raises ValueError saying what is wrong (bad type, no signature by this key, bad
    signature, payload not a Statement). Needs ``cryptography``.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if envelope.get("payloadType") != PAYLOAD_TYPE:
        raise ValueError(f"payloadType is {envelope.get('payloadType')!r}, not {PAYLOAD_TYPE}")
    try:
        payload = _b64(envelope["payload"])
    except (KeyError, TypeError, ValueError):
        raise ValueError("the envelope has no valid base64 payload") from None
    kid = keyid(public_raw)
    sigs = [s for s in envelope.get("signatures") or [] if isinstance(s, dict)]
    mine = [s for s in sigs if s.get("keyid") in (kid, None, "")]
    if not mine:
        raise ValueError(f"no signature by key {kid[:16]} in the envelope")
    key = Ed25519PublicKey.from_public_bytes(public_raw)
    for sig in mine:
        try:
            key.verify(_b64(sig.get("sig", "")), pae(PAYLOAD_TYPE, payload))
        except (InvalidSignature, ValueError):
            continue
        try:
            statement = json.loads(payload)
        except ValueError:
            raise ValueError("the signed payload is not JSON") from None
        if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
            raise ValueError(f"the signed payload is not an in-toto Statement ({STATEMENT_TYPE})")
        return statement
    raise ValueError(f"the signature by key {kid[:16]} does not match the signed payload")


class Source:
    """The files of an evidence folder or a bundle zip, by POSIX path under its root."""

    def __init__(self, files: dict[str, bytes], label: str) -> None:
        self.files = files
        self.label = label
        self.bundle: dict[str, bytes] | None = None
        self.prefix = ""  # what to put before a name in a message ("evidence/" in a zip)

    @classmethod
    def open(cls, path: str) -> Source:
        """A folder as it is on disk, or a zip (a bundle keeps the evidence under
        ``evidence/``; the whole zip stays in ``bundle`` for the manifest check)."""
        import os

        if os.path.isdir(path):
            files = {}
            # an evidence folder: only the records and their signatures are evidence
            for base, dirs, names in _walk(path, ("records", "signatures", "policies")):
                dirs.sort()
                for name in sorted(names):
                    full = os.path.join(base, name)
                    rel = os.path.relpath(full, path).replace(os.sep, "/")
                    with open(full, "rb") as fh:
                        files[rel] = fh.read()
            return cls(files, path)
        with zipfile.ZipFile(path) as zf:
            whole = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
        files = {n[len("evidence/") :]: b for n, b in whole.items() if n.startswith("evidence/")}
        src = cls(files or whole, path)
        src.bundle = whole
        src.prefix = "evidence/" if files else ""
        return src


def _walk(path: str, parts: tuple[str, ...]):
    import os

    for part in parts:
        yield from os.walk(os.path.join(path, part))


_RECORD_NAME = re.compile(r"^records/\d{8}_\d{8}T\d{12}Z-[0-9a-f]{8}\.json$")


def _problem(out: list[dict[str, Any]], code: str, file: str | None, message: str) -> None:
    out.append({"code": code, "file": file, "message": message})


def _well_formed(doc: Any) -> bool:
    """The fields the checks read exist and have their types (a forged or damaged file
    must be a finding, never a crash of the verifier)."""
    if not isinstance(doc, dict) or not all(k in doc for k in (*RECORD_FIELDS, "hash")):
        return False
    seq = doc["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        return False
    if not all(isinstance(doc[k], str) for k in ("id", "kind", "hash", "prev_hash")):
        return False
    signer = doc.get("signer")
    return signer is None or (
        isinstance(signer, dict)
        and all(isinstance(signer.get(k), str) for k in ("keyid", "public_key"))
    )


def check_chain(src: Source) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Re-derive every record hash and walk the chain. Returns (records, problems).

    ``records`` are the parsed record documents in seq order, each with ``_file`` and
    ``_sha256`` (of the file bytes) added.
    """
    problems: list[dict[str, Any]] = []
    docs: dict[int, dict[str, Any]] = {}
    names = sorted(n for n in src.files if _RECORD_NAME.match(n))
    for key in names:
        raw = src.files[key]
        stem = PurePosixPath(key).name
        name = src.prefix + key
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            _problem(problems, "truncated", name, f"{name} is not valid JSON: {exc}")
            continue
        if not _well_formed(doc):
            _problem(problems, "malformed", name, f"{name} is not an evidence record")
            continue
        if content_hash(raw, doc) != doc["hash"]:
            _problem(
                problems,
                "edited",
                name,
                f"{name} (record {doc['id']}, seq {doc['seq']}) was edited after it was "
                "written: its content does not match its hash",
            )
        if stem != f"{doc['seq']:08d}_{doc['id']}.json":
            _problem(problems, "renamed", name, f"{name} holds seq {doc['seq']} id {doc['id']}")
        if doc["seq"] in docs:
            _problem(problems, "duplicate_seq", name, f"{name} repeats seq {doc['seq']}")
            continue
        doc["_file"] = name
        doc["_sha256"] = hashlib.sha256(raw).hexdigest()
        docs[doc["seq"]] = doc
    ordered = [docs[s] for s in sorted(docs)]
    for doc in ordered:  # the chain starts at seq 1: a bundle carries it from there
        seq = doc["seq"]
        prev = docs.get(seq - 1)
        if prev is None and seq != 1:
            _problem(
                problems,
                "deleted",
                doc["_file"],
                f"the record with seq {seq - 1} (before {doc['_file']}) is missing or unreadable",
            )
        elif prev is not None and doc["prev_hash"] != prev["hash"]:
            _problem(
                problems,
                "broken_link",
                doc["_file"],
                f"{doc['_file']} does not link to seq {seq - 1}: a record was replaced or removed",
            )
        elif seq == 1 and doc["prev_hash"] != GENESIS:
            _problem(problems, "broken_link", doc["_file"], "seq 1 does not start the chain")
    return ordered, problems


_BLOB_NAME = re.compile(r"^policies/([0-9a-f]{64})\.(yaml|json|txt)$")


def check_blobs(src: Source, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each policy text a record names (``data.policy.text_file``, written once per text
    as ``policies/<sha256>.<ext>``) is present and hashes to its name; older records that
    hold the text inline need nothing. The record's hash covers the name, so a text that
    hashes right is the one the record committed to."""
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()  # each blob once, however many records name it
    for doc in records:
        data = doc.get("data")
        policy = data.get("policy") if isinstance(data, dict) else None
        if not isinstance(policy, dict) or "text_file" not in policy:
            continue
        name = policy["text_file"]
        if isinstance(name, str) and name in seen:
            continue
        seen.add(str(name))
        match = _BLOB_NAME.match(name) if isinstance(name, str) else None
        if match is None:
            msg = f"{doc['_file']} names {name!r} as its policy text: not a blob name"
            _problem(problems, "blob_missing", doc["_file"], msg)
            continue
        shown = src.prefix + name
        raw = src.files.get(name)
        if raw is None:
            msg = f"{shown}, the policy text of {doc['_file']}, is missing"
            _problem(problems, "blob_missing", shown, msg)
        elif hashlib.sha256(raw).hexdigest() != match[1]:
            msg = f"{shown} (the policy text of {doc['_file']}) was altered: its bytes do "
            _problem(problems, "blob_edited", shown, msg + "not hash to its name")
    return problems


def load_trusted(text: str) -> dict[str, str]:
    """A trusted-keys file: one key a line, ``<base64 raw Ed25519 public key> [name]`` or
    ``<64-hex key id> [name]``; ``#`` starts a comment. Returns keyid -> name."""
    trusted: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        token, _, name = line.partition(" ")
        if len(token) == 64 and all(c in "0123456789abcdef" for c in token):
            trusted[token] = name.strip()
            continue
        try:
            raw = _b64(token)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise ValueError(f"trusted-keys line {n}: not a public key or key id: {token[:20]!r}")
        trusted[keyid(raw)] = name.strip()
    return trusted


def check_signatures(
    src: Source, records: list[dict[str, Any]], trusted: dict[str, str] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Check every signed record's DSSE envelope. Returns (signed, problems).

    ``signed`` lists ``{file, record_id, kind, keyid, name, result, trusted}`` per valid
    signature. A record that names a signer without an envelope, an envelope without its
    record, a bad signature, a subject that is not the record file's sha256, or (with
    ``trusted``) a key not in the trusted set, is a problem.
    """
    problems: list[dict[str, Any]] = []
    signed: list[dict[str, Any]] = []
    by_stem = {PurePosixPath(d["_file"]).stem: d for d in records}
    envelopes = {
        PurePosixPath(n).name[: -len(".dsse.json")]: src.prefix + n
        for n in src.files
        if n.startswith("signatures/") and n.endswith(".dsse.json")
    }
    for stem in sorted(set(envelopes) - set(by_stem)):
        _problem(problems, "orphan_signature", envelopes[stem], "a signature without its record")
    for doc in records:
        stem = PurePosixPath(doc["_file"]).stem
        signer = doc.get("signer")
        env_name = envelopes.get(stem)
        if signer is None:
            if env_name:
                _problem(problems, "unexpected_signature", env_name, "the record names no signer")
            continue
        if env_name is None:
            _problem(
                problems,
                "signature_missing",
                doc["_file"],
                f"{doc['_file']} was signed by {signer.get('name') or '?'} "
                f"(key {str(signer.get('keyid'))[:16]}) but its signature file is missing",
            )
            continue
        try:
            public_raw = _b64(signer["public_key"])
            if keyid(public_raw) != signer.get("keyid"):
                raise ValueError("the record's key id is not its public key's fingerprint")
            envelope = json.loads(src.files[env_name[len(src.prefix) :]])
            statement = verify_envelope(envelope, public_raw)
            digests = [
                (s.get("digest") or {}).get("sha256") for s in statement.get("subject") or []
            ]
            if doc["_sha256"] not in digests:
                raise ValueError(
                    "the signed statement is about other bytes (its subject is not this "
                    "record file's sha256)"
                )
        except ImportError:
            _problem(
                problems, "no_crypto", env_name, "pip install cryptography to check signatures"
            )
            continue
        except (KeyError, TypeError, ValueError) as exc:
            _problem(problems, "bad_signature", env_name, f"{env_name}: {exc}")
            continue
        kid = signer["keyid"]
        is_trusted = None if trusted is None else kid in trusted
        if trusted is not None and not is_trusted:
            _problem(
                problems,
                "untrusted_key",
                env_name,
                f"{doc['_file']} is signed by key {kid[:16]} ({signer.get('name') or 'no name'}),"
                " which is not in the trusted keys",
            )
        signed.append(
            {
                "file": doc["_file"],
                "record_id": doc["id"],
                "kind": doc["kind"],
                "keyid": kid,
                "name": signer.get("name") or "",
                "result": (statement.get("predicate") or {}).get("result"),
                "trusted": is_trusted,
                # the verifier's own name for the key: what to believe, not the record's claim
                "trusted_as": (trusted or {}).get(kid) or None,
            }
        )
    return signed, problems


def check_anchor(records: list[dict[str, Any]], anchor: str) -> list[dict[str, Any]]:
    """``SEQ:HASH`` logged elsewhere (a tracker): that record must exist with that hash."""
    seq_text, _, want = anchor.partition(":")
    problems: list[dict[str, Any]] = []
    match = [d for d in records if str(d["seq"]) == seq_text.strip()]
    if not match:
        _problem(problems, "anchor_missing", None, f"no record with seq {seq_text} (anchor)")
    elif match[0]["hash"] != want.strip():
        _problem(
            problems,
            "anchor_mismatch",
            match[0]["_file"],
            f"seq {seq_text} has hash {match[0]['hash'][:16]}, the anchor says {want[:16]}: "
            "the chain was rewritten",
        )
    return problems


def check_manifest(src: Source, manifest_text: bytes) -> list[dict[str, Any]]:
    """A bundle's ``MANIFEST.sha256`` (``<sha256>  <path>`` lines) against its files."""
    problems: list[dict[str, Any]] = []
    listed = set()
    for line in manifest_text.decode("utf-8").splitlines():
        digest, _, name = line.partition("  ")
        listed.add(name)
        data = src.files.get(name)
        if data is None:
            _problem(problems, "manifest_missing", name, f"{name} is listed but missing")
        elif hashlib.sha256(data).hexdigest() != digest:
            _problem(problems, "manifest_mismatch", name, f"{name} differs from the manifest")
    for name in sorted(set(src.files) - listed - {"MANIFEST.sha256"}):
        _problem(problems, "manifest_extra", name, f"{name} is not listed in the manifest")
    return problems


def verify(
    path: str, trusted_text: str | None = None, anchors: list[str] | None = None
) -> dict[str, Any]:
    """Everything above for one folder or bundle; ``ok`` False when any problem."""
    src = Source.open(path)
    manifest_problems: list[dict[str, Any]] = []
    if src.bundle is not None:
        manifest = src.bundle.get("MANIFEST.sha256")
        if manifest is None:
            _problem(manifest_problems, "manifest_missing", "MANIFEST.sha256", "no manifest")
        else:
            manifest_problems = check_manifest(Source(src.bundle, path), manifest)
    records, problems = check_chain(src)
    problems += check_blobs(src, records)
    trusted = load_trusted(trusted_text) if trusted_text is not None else None
    signed, sig_problems = check_signatures(src, records, trusted)
    for anchor in anchors or []:
        problems += check_anchor(records, anchor)
    problems += sig_problems + manifest_problems
    if not records:
        _problem(problems, "empty", None, "no evidence records found")
    head = records[-1] if records else None
    return {
        "ok": not problems,
        "source": path,
        "checked": len(records),
        "signed": signed,
        "unsigned": [d["_file"] for d in records if d.get("signer") is None],
        "head": [head["seq"], head["hash"]] if head else None,
        "problems": problems,
    }


def signed_line(s: dict[str, Any]) -> str:
    """One entry of ``signed`` (see :func:`check_signatures`) as the line both this script
    and ``vl-jupyter verify --signatures`` print for it."""
    trust = {True: "trusted", False: "NOT TRUSTED", None: "key not checked"}[s["trusted"]]
    if s.get("trusted_as"):
        trust += f" as {s['trusted_as']}"
    return (
        f"  signed {s['kind']} {s['record_id']} by {s['name'] or '?'} "
        f"(key {s['keyid'][:16]}, {trust}): {s['result']}"
    )


def render(result: dict[str, Any]) -> str:
    """The human-readable report ``main`` prints."""
    state = "OK" if result["ok"] else "FAILED"
    lines = [f"{state}: {result['checked']} records in {result['source']}"]
    if result["head"]:
        lines.append(f"  head: seq {result['head'][0]} hash {result['head'][1]}")
    lines += [signed_line(s) for s in result["signed"]]
    if result["unsigned"]:
        lines.append(f"  unsigned: {len(result['unsigned'])} records")
    for p in result["problems"]:
        lines.append(f"  problem [{p['code']}] {p['message']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Verify a vl_jupyter audit bundle offline.")
    parser.add_argument("path", help="the bundle .zip or an evidence folder")
    parser.add_argument("--trusted-keys", help="file of trusted public keys, one a line")
    parser.add_argument("--anchor", action="append", default=[], help="SEQ:HASH logged elsewhere")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        trusted_text = None
        if args.trusted_keys:
            with open(args.trusted_keys, encoding="utf-8") as fh:
                trusted_text = fh.read()
        result = verify(args.path, trusted_text, args.anchor)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
