"""How `streamlit run app.py` serves out of the box: this machine only, nothing fetched from
outside at start, no error details for a visitor."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import ROOT


def test_the_shipped_settings_serve_this_machine_only_and_hide_error_details():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "localhost"
    assert set(config["server"]["allowedHosts"]) == {"localhost", "127.0.0.1", "::1"}
    assert config["client"]["showErrorDetails"] == "none"
    assert config["browser"]["gatherUsageStats"] is False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _other_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("10.255.255.255", 1))  # no packet is sent: this only picks a route
            address = sock.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def test_a_started_app_answers_on_localhost_only_and_looks_nothing_up(demo_db: Path, tmp_path: Path):
    port = _free_port()
    log = tmp_path / "streamlit.log"
    outside = tmp_path / "outside.log"
    env = {**os.environ, "KPI_DB": str(demo_db)}
    with log.open("w") as out:
        process = subprocess.Popen(
            # Run with every outside connection or name lookup the server attempts written down.
            [sys.executable, "-m", "tests.watch_network", str(outside), "run", str(ROOT / "app.py")]
            + ["--server.port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2) as response:
                        assert response.status == 200
                        break
                except (urllib.error.URLError, OSError):
                    assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                    time.sleep(0.3)
            other = _other_address()
            if other is not None:  # another interface of this machine is refused
                try:
                    urllib.request.urlopen(f"http://{other}:{port}/_stcore/health", timeout=2)
                    reached = True
                except (urllib.error.URLError, OSError):
                    reached = False
                assert not reached, f"the app answers on {other}"
        finally:
            process.terminate()
            process.wait(timeout=30)
    printed = log.read_text()
    assert f"URL: http://localhost:{port}" in printed
    assert "External URL" not in printed and "Network URL" not in printed
    # Streamlit looks up this machine's addresses unless its address is set: nothing went out.
    assert not outside.exists(), f"the server reached outside this machine: {outside.read_text()}"
