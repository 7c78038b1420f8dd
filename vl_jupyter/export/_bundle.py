"""The auditor's bundle: one zip with every document, the raw records, the signers'
public keys, ``VERIFY.md`` and ``verify_bundle.py`` (standard library + ``cryptography``).

Entries are sorted, dated 1980-01-01 and written with fixed permissions, so the same
evidence gives the same zip bytes. ``MANIFEST.sha256`` lists every other entry's sha256.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from ..errors import EvidenceError, ExportError
from ._select import Selection

FIXED_DATE = (1980, 1, 1, 0, 0, 0)

VERIFY_MD = """# Verifying this bundle

This zip was exported by vl_jupyter from {n_records} evidence records ({selection}).
Evidence chain head: seq {head_seq}, hash `{head_hash}`.

## 1. Check it (offline, 1 minute)

```bash
python3 -m venv /tmp/vl-verify && /tmp/vl-verify/bin/pip install cryptography
unzip -q {zip_name} -d bundle
/tmp/vl-verify/bin/python bundle/verify_bundle.py {zip_name} --trusted-keys MY_TRUSTED_KEYS
```

`verify_bundle.py` needs only Python 3.10+ and, for signatures, `cryptography`. Read it
first: it is one file of about 490 lines and imports nothing else. It checks that

- every file is the one `MANIFEST.sha256` lists (nothing added, removed or changed);
- every record under `evidence/records/` still has its own hash, and links to the record
  before it (`prev_hash`): no record was edited, removed or reordered;
- every policy text a record names (`policies/<sha256>.<ext>`) is in the bundle and
  hashes to its name;
- every signed record has a valid DSSE envelope in `evidence/signatures/`, signed by the
  Ed25519 key the record names, over an in-toto Statement whose subject is that record
  file's sha256;
- with `--trusted-keys FILE`, every signature is by a key in FILE (one
  `<base64 public key> [name]` or `<64-hex key id> [name]` a line). **Get FILE from the
  signers through another channel**, never from this bundle: `keys/signers.txt` only says
  which keys signed, and whoever made the bundle could have made those keys too.
- with `--anchor SEQ:HASH` (a chain head logged in MLflow or W&B), that record exists with
  that hash: this is what catches a rewrite of the whole chain.

It prints who signed what and exits 0 only if everything checked out; each problem names
the file.

## 2. What is in it

| path | what |
| --- | --- |
{contents}

## 3. What a signature proves, and what it does not

A valid signature proves that the holder of that private key signed exactly that record
file: the measured values, the policy snapshot, the data fingerprint, and (for a review) the
decision and the reviewer's name. It does not prove that the numbers are right, that the
data set was the real one, that the clock was right, or that the key holder is who the
key's name says: that is what the trusted-keys file you obtain yourself is for. Unsigned
records are protected by the hash chain only. See docs/audit.md of vl_jupyter.
"""

_CONTENTS = {
    "annex-iv/": "EU AI Act Annex IV documentation (HTML and PDF), gaps marked",
    "oscal/": "OSCAL 1.1.2 assessment-results and POA&M (JSON)",
    "model-card/": "CycloneDX 1.6 ML-BOM with modelCard; Hugging Face model card header",
    "evidence/records/": "the raw evidence records (the chain, from seq 1)",
    "evidence/signatures/": "DSSE envelopes, one per signed record",
    "evidence/policies/": "each enforced policy text once, named by its sha256",
    "keys/signers.txt": "public keys that signed records here (information, not trust)",
    "verify_bundle.py": "the offline verifier",
    "MANIFEST.sha256": "sha256 of every other file",
}


def signers(sel: Selection) -> bytes:
    """``keys/signers.txt``: one trusted-keys line per key that signed a bundled record."""
    seen: dict[str, str] = {}
    for rec in sel.chain:
        doc = json.loads(rec.path.read_bytes())
        s = doc.get("signer")
        if s:
            seen[s["public_key"]] = s.get("name") or ""
    lines = ["# keys that signed records in this bundle (do not trust them because they are here)"]
    lines += [f"{k} {n}".rstrip() for k, n in sorted(seen.items())]
    return ("\n".join(lines) + "\n").encode("utf-8")


def evidence_files(sel: Selection) -> dict[str, bytes]:
    """The chain's record files, their envelopes and the policy texts they name
    (``policies/<sha256>.<ext>``), as they are on disk."""
    from ..evidence import policy_text

    files: dict[str, bytes] = {}
    sig_dir = sel.store.root / "signatures"
    for rec in sel.chain:
        files[f"evidence/records/{rec.file}"] = rec.path.read_bytes()
        env = sig_dir / f"{rec.file[:-5]}.dsse.json"
        if env.exists():
            files[f"evidence/signatures/{env.name}"] = env.read_bytes()
        policy = rec.data.get("policy") if rec.kind == "enforce" else None
        name = policy.get("text_file") if isinstance(policy, dict) else None
        if name and f"evidence/{name}" not in files:  # read back verified, or ExportError
            try:
                text = policy_text(policy, sel.store.root)
            except EvidenceError as exc:
                raise ExportError(f"cannot export record {rec.id}: {exc}") from None
            files[f"evidence/{name}"] = (text or "").encode("utf-8")
    return files


def build_zip(sel: Selection, documents: dict[str, bytes], zip_name: str) -> bytes:
    from ..signing import standalone_source

    files = dict(documents)
    files.update(evidence_files(sel))
    files["keys/signers.txt"] = signers(sel)
    files["verify_bundle.py"] = standalone_source().encode("utf-8")
    contents = "\n".join(f"| `{k}` | {v} |" for k, v in _CONTENTS.items())
    head = sel.chain[-1]
    files["VERIFY.md"] = VERIFY_MD.format(
        n_records=len(sel.records),
        selection=sel.describe(),
        head_seq=head.seq,
        head_hash=head.hash,
        zip_name=zip_name,
        contents=contents,
    ).encode("utf-8")
    manifest = "".join(
        f"{hashlib.sha256(files[n]).hexdigest()}  {n}\n" for n in sorted(files)
    ).encode("utf-8")
    files["MANIFEST.sha256"] = manifest
    return write_zip(files)


def write_zip(files: dict[str, bytes]) -> bytes:
    """A deterministic zip of ``files`` (sorted, fixed dates and modes, deflated)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100755 if name.endswith(".py") else 0o100644) << 16
            info.create_system = 3  # unix, so the modes above are read
            zf.writestr(info, files[name], compresslevel=9)
    return buf.getvalue()
