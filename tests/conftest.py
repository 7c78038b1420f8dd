"""Shared fixtures: sample data, and an evidence directory that never lies inside the repo."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from vl_jupyter.datasets import load_german_credit


@pytest.fixture(scope="session")
def _german_credit() -> pd.DataFrame:
    return load_german_credit(derived=True)


@pytest.fixture
def german(_german_credit: pd.DataFrame) -> pd.DataFrame:
    """The German credit data with ``gender``, ``age`` and ``foreign_worker`` (a fresh copy)."""
    return _german_credit.copy()


@pytest.fixture
def evidence_dir(tmp_path: Path) -> Path:
    """An evidence root under the test's temporary directory."""
    return tmp_path / ".venturalitica"


@pytest.fixture(autouse=True)
def _no_personal_signing_key(tmp_path_factory, monkeypatch):
    """Every test sees an empty config folder: a developer's own signing key (from
    ``vl-jupyter keys init``) must neither sign test records nor be touched by tests."""
    monkeypatch.setenv("VL_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))
    for name in ("VL_SIGNING_KEY", "VL_SIGN", "VL_SIGNER_NAME"):
        monkeypatch.delenv(name, raising=False)
