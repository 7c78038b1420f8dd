"""The suite's network guard (tests/conftest.py): nothing a test does may leave loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import _network as conftest  # the guard module (a conftest of another folder shadows "conftest")
import pytest


def test_the_offline_variables_are_set_for_the_suite_and_its_subprocesses():
    assert {k: os.environ.get(k) for k in conftest.OFFLINE_ENV} == {
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
        "WANDB_MODE": "offline",
        "WANDB_BASE_URL": "http://127.0.0.1:9",
    }
    code = "import os; print(os.environ['MLFLOW_DISABLE_TELEMETRY'], os.environ['DO_NOT_TRACK'])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split() == ["true", "1"]


def test_a_connection_beyond_loopback_is_refused_and_fails_the_test():
    # the guard must be in place before anything is attempted: if it were not, this test
    # stops here instead of sending a packet anywhere
    assert socket.socket.connect is conftest._guard_connect
    assert socket.getaddrinfo is conftest._guard_getaddrinfo
    before = len(conftest.VIOLATIONS)
    with socket.socket() as s, pytest.raises(conftest.NonLoopbackConnection) as info:
        s.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed
    assert "connect to 192.0.2.1:80" in str(info.value)
    with pytest.raises(conftest.NonLoopbackConnection, match=r"name lookup of 'example\.com'"):
        socket.getaddrinfo("example.com", 443)
    with socket.socket() as s, pytest.raises(conftest.NonLoopbackConnection):
        s.connect_ex(("2001:db8::1", 443))
    # recorded, so the autouse fixture fails the test even when the code under test
    # swallowed the OSError; drop them here so this test itself passes
    assert conftest.VIOLATIONS[before:] == [
        "connect to 192.0.2.1:80",
        "name lookup of 'example.com'",
        "connect to 2001:db8::1:443",
    ]
    del conftest.VIOLATIONS[before:], conftest.DETAILS[-3:]


def test_loopback_stays_open():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(("localhost", server.getsockname()[1]), timeout=2):
            pass
    assert socket.getaddrinfo("127.0.0.1", 80)
