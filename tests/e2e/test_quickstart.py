"""docs/quickstart.md word for word, on a port other than 8080 (issue 17, items 3, 4 and 12).

Every ``sh`` and ``python`` block of the quickstart runs, in order, as written, in a scratch
folder laid out like a checkout (the Makefile, pyproject.toml and .venv linked in), with the
production send limits (no relaxed test settings): ``make run`` is demo mode, whose limits must
fit the documented demos. The port comes from ``FOTP_PORT``, as the quickstart offers; nothing
else tells the CLI or the Python snippet where the service is.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.ports import LOOPBACK, free_port, wait_for_http

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "docs" / "quickstart.md"
VENV = Path(sys.executable).parent.parent
BLOCK = re.compile(r"^```(sh|python)\n(.*?)^```", re.MULTILINE | re.DOTALL)
START = 'make run ARGS="--time-scale 60"'


@dataclass
class Quickstart:
    folder: Path
    port: int
    env: dict[str, str]

    def sh(self, script: str) -> str:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"{script}\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def python(self, source: str) -> str:
        result = subprocess.run(
            [str(self.folder / ".venv" / "bin" / "python"), "-"],
            input=source,
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"{source}\n{result.stdout}\n{result.stderr}"
        return result.stdout


def blocks() -> list[tuple[str, str]]:
    return [(kind, body) for kind, body in BLOCK.findall(QUICKSTART.read_text())]


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Quickstart]:
    folder = tmp_path_factory.mktemp("quickstart")
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        (folder / name).symlink_to(ROOT / name)
    (folder / ".venv").symlink_to(VENV)
    port = free_port()
    while port == 8080:
        port = free_port()
    # The production limits: nothing relaxed (tests/support/server.py's settings are not used).
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOTP_")}
    env |= {"FOTP_PORT": str(port), "COLUMNS": "120"}
    up_to_date = subprocess.run(["make", "--question", ".venv"], cwd=folder, env=env, check=False)
    assert up_to_date.returncode == 0, "the .venv is older than pyproject.toml: run `make .venv`"
    first = blocks()[0]
    assert first == ("sh", START + "\n"), "the quickstart starts the service differently now"
    log = (folder / "make-run.log").open("wb")
    server = subprocess.Popen(
        ["bash", "-c", START],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: make, and the service it runs
    )
    try:
        wait_for_http(f"http://{LOOPBACK}:{port}/health", timeout=60, expect_status=200)
        yield Quickstart(folder, port, env)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        log.close()


def test_the_quickstart_word_for_word_on_another_port(quickstart: Quickstart) -> None:
    printed = (quickstart.folder / "make-run.log").read_text()
    url = f"http://127.0.0.1:{quickstart.port}"
    assert f"service URL:       {url}" in printed
    assert "Demo mode:" in printed
    outputs = []
    for kind, body in blocks()[1:]:
        outputs.append(quickstart.python(body) if kind == "python" else quickstart.sh(body))
    failover, from_python, verified, charts = outputs
    assert "failover to SMS" in failover
    assert "flow ended Succeeded" in failover
    assert from_python.strip() == "Succeeded"
    assert verified.strip() == "approved"
    assert "50/50" in charts
    assert "refused" not in charts  # the demo limits held: no 429 in either summary


def test_what_the_quickstart_says_next_holds(quickstart: Quickstart) -> None:
    # "Run it again and it says already_used": the same flow, the same code.
    script = next(body for kind, body in blocks() if "failover-otp inbox" in body)
    verify = script.rstrip().splitlines()[-1]
    again = quickstart.sh(
        script.rstrip() + "\n" + verify.replace("verify", "verify --json") + " || true"
    )
    assert '"already_used"' in again
    listed = quickstart.sh(".venv/bin/failover-otp list --limit 5")
    flow_id = re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", listed)
    assert flow_id is not None
    assert "timeline" in quickstart.sh(f".venv/bin/failover-otp track {flow_id.group(0)}")
