"""A fingerprint of a DataFrame: schema, row count and a content hash.

The hash is SHA-256 over each column's name, dtype and values, in column order. Numeric,
boolean and datetime columns are hashed from their memory buffers (about 1.8 GB/s here;
SHA-256 has CPU instructions where BLAKE2b, at 0.9 GB/s, has none). Categorical columns
are hashed as their categories (pandas' per-value hash) and codes. Text columns are
hashed the same way, from their sorted dictionary encoding: the distinct values (pandas'
per-value hash) and one small integer code per row. That encoding is the one the metrics
build for a text group column anyway, so when ``enforce`` passes its ``Statistics`` the
column is factorized once for both, instead of once for the metrics and once more
(a per-row string hash) for the fingerprint. Two frames with the same fingerprint hold the
same values in the same order under the same column names and dtypes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

HASH_METHOD = (
    "sha256 over column name, dtype and values (text columns: pandas hash of the sorted "
    "distinct values, then one code per row)"
)


def fingerprint(
    frame: pd.DataFrame, encoded: Callable[[Any], Any] | None = None
) -> dict[str, object]:
    """Schema, rows and content hash of ``frame``.

    ``encoded`` maps a column name to its ``metrics`` encoding (``Statistics.encoded``);
    without it, text columns are encoded here. Either way the digest is the same.
    """
    from ..metrics import Statistics

    if encoded is None:
        encoded = Statistics(frame).encoded
    duplicated = set(frame.columns[frame.columns.duplicated()])
    shared = _prefetch(frame, encoded, duplicated)
    content = hashlib.sha256()
    schema = hashlib.sha256()
    columns = []
    for position, name in enumerate(frame.columns):
        series = frame.iloc[:, position]  # by position: a duplicated name is two columns
        header = f"{name}\x00{series.dtype}\x00".encode()
        schema.update(header)
        content.update(header)
        if name in duplicated:  # the shared encodings are by name: encode this one alone
            encode = lambda s=series: Statistics(s.to_frame("c")).encoded("c")  # noqa: E731
        else:
            encode = lambda name=name: _take(shared, name, encoded)  # noqa: E731
        for chunk in _column_bytes(series, encode):
            content.update(chunk)
        columns.append({"name": str(name), "dtype": str(series.dtype)})
    return {
        "rows": len(frame),
        "columns": columns,
        "schema_hash": schema.hexdigest(),
        "content_hash": content.hexdigest(),
        "hash_method": HASH_METHOD,
        "fingerprint_of": "values (the frame was in memory)",
    }


def _prefetch(
    frame: pd.DataFrame, encoded: Callable[[Any], Any], duplicated: set
) -> dict[Any, Any]:
    """The shared encodings of the text columns, asked for last column first.

    The metrics (in the calling thread) encode their group columns in the policy's
    order, which usually follows the frame's; starting from the other end, this thread
    encodes other columns meanwhile instead of waiting for the one the metrics are on.
    The encoders release the GIL (Arrow's dictionary encoding, integer hashing), so two
    columns are encoded at once. A failure is kept, and raised where the column is hashed.
    """
    shared: dict[Any, Any] = {}
    for position in reversed(range(frame.shape[1])):
        name = frame.columns[position]
        if name in duplicated or not _is_text(frame.dtypes.iloc[position]):
            continue
        try:
            shared[name] = encoded(name)
        except Exception as exc:  # re-raised where the column is hashed
            shared[name] = exc
    return shared


def _take(shared: dict[Any, Any], name: Any, encoded: Callable[[Any], Any]) -> Any:
    value = shared[name] if name in shared else encoded(name)
    if isinstance(value, Exception):
        raise value
    return value


def _is_text(dtype: Any) -> bool:
    """Hashed from an encoding: neither categorical nor a numpy number, bool or time."""
    if isinstance(dtype, pd.CategoricalDtype):
        return False
    return not (isinstance(dtype, np.dtype) and dtype.kind in "biufcmM")


def _column_bytes(series: pd.Series, encode: Callable[[], Any]) -> list[bytes | memoryview]:
    """The bytes hashed for one column, as zero-copy byte views where possible (hashed in
    order, which gives the same digest as hashing their concatenation)."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = pd.util.hash_pandas_object(pd.Series(dtype.categories), index=False)
        return [_raw(categories.to_numpy()), _raw(series.array.codes)]
    if not _is_text(dtype):
        return [_raw(series.to_numpy())]
    try:
        enc = encode()
        labels = list(enc.labels[:-1] if enc.n_missing else enc.labels)
        uniques = pd.util.hash_pandas_object(pd.Series(labels, dtype=object), index=False)
    except (TypeError, ValueError):  # unorderable or unhashable values: hash each row
        try:
            hashed = pd.util.hash_pandas_object(series, index=False)
        except TypeError:  # unhashable cells (lists, dicts): hash their text instead
            hashed = pd.util.hash_pandas_object(series.map(repr), index=False)
        return [b"rows\x00", _raw(hashed.to_numpy())]
    # the missing code is the last one; the marker keeps "no missing" and "missing" apart
    marker = f"codes\x00{len(labels)}\x00{enc.n_missing}\x00".encode()
    return [marker, _raw(uniques.to_numpy()), _raw(enc.compact)]


def _raw(values: np.ndarray) -> memoryview:
    """A 1-D array's memory as uint8 bytes, without a copy when it is contiguous (datetime
    and timedelta arrays too, which have no buffer format of their own)."""
    return np.ascontiguousarray(values).reshape(-1).view(np.uint8).data


SOURCE_HASH_METHOD = (
    "sha256 over the source (SQL text, or file paths with sizes, mtimes and Parquet footer "
    "hashes, or the frame type), engine and version, schema, rows, and every count table "
    "the controls read (columns, distinct combinations and their row counts, sorted)"
)


def source_fingerprint(stats: Any) -> dict[str, object]:
    """What identifies data an engine holds (never loaded here): where it came from, its
    schema and rows, and the count tables the controls were computed from.

    Files are identified by path, size, modification time and (Parquet) a hash of the
    footer, which holds the row groups' statistics; SQL by its text; an in-memory engine
    frame only by its type. The count tables are what every count metric is a function
    of, so two runs with the same ``count_tables_hash`` measured the same thing.
    """
    source = stats.source
    tables = []
    for key, view in sorted(stats.views().items(), key=lambda kv: repr(kv[0])):
        if key[0] != "counts":
            continue
        frame = view.frame
        rows = sorted(
            [*(repr(v) for v in row), int(w)]
            for row, w in zip(frame.itertuples(index=False), view.weights, strict=True)
        )
        tables.append({"columns": list(key[1]), "rows": rows})
    tables_hash = hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()
    schema = source.schema()
    identity = {"origin": source.origin, "engine": source.engine,
                "engine_version": source.engine_version, "schema": schema,
                "rows": stats.n_rows, "count_tables_hash": tables_hash}  # fmt: skip
    content = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode())
    return {
        "rows": stats.n_rows,
        "columns": schema,
        "schema_hash": hashlib.sha256(json.dumps(schema).encode()).hexdigest(),
        "content_hash": content.hexdigest(),
        "hash_method": SOURCE_HASH_METHOD,
        "fingerprint_of": "source and count tables (the data was never in memory)",
        "source": {
            **source.origin,
            "engine": source.engine,
            "engine_version": source.engine_version,
        },
        "count_tables": [{"columns": t["columns"], "combinations": len(t["rows"])} for t in tables],
        "count_tables_hash": tables_hash,
    }
