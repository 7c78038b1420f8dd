"""pytest configuration for the docstring examples in vl_jupyter/ (``--doctest-modules``).

The tests' own fixtures live in tests/conftest.py; this file only makes the examples safe
to run anywhere: each runs in a fresh temporary directory with the evidence store there,
so an example that records evidence never writes into the checkout.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _doctest_in_tmp(request: pytest.FixtureRequest) -> None:
    if not isinstance(request.node, pytest.DoctestItem):
        return
    tmp = request.getfixturevalue("tmp_path")
    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.chdir(tmp)
    monkeypatch.setenv("VL_EVIDENCE_DIR", str(tmp / ".venturalitica"))


# --doctest-modules would also collect the tests' conftest.py files as modules, and two of
# them share the name ``conftest`` (tests/ and tests/browser/); they hold no examples.
# They are still loaded as conftests: that does not go through collection.
collect_ignore_glob = ["tests/conftest.py", "tests/*/conftest.py"]
