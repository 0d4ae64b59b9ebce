"""``serve --workers 2`` on PostgreSQL: two processes answer on one port and share the work."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import postgres as pg
from tests.support.server import ApiSession, ServerProcess, create_application, serve_args
from tests.support.waiting import wait_until

pytestmark = pytest.mark.postgres


def _otp(number: str) -> dict[str, object]:
    return {
        "flow": [
            {
                "type": "ViberOtp",
                "to": number,
                "order": 1,
                "ttl": 120,
                "senderInfoTrackingId": "s",
                "templateId": "0aac888f-2ee2-4112-9659-1755a951966a",
                "pin": "482913",
            },
            {
                "type": "Sms",
                "to": number,
                "order": 2,
                "ttl": 300,
                "from": "Brand",
                "message": {"body": "Your code is 482913"},
            },
        ]
    }


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_two_processes_serve_one_port(tmp_path: Path, postgres_server: pg.PostgresServer) -> None:
    with pg.fresh_database(postgres_server.base_url) as url:
        proc = ServerProcess(args=[], workdir=tmp_path, env={"FOTP_DATABASE_URL": url})
        proc.args = serve_args(proc.port, url, "--workers", "2")
        proc.start()
        try:
            supervisor = proc.process
            assert supervisor is not None
            wait_until(lambda: len(_children(supervisor.pid)) >= 2, timeout=60)
            app_id, secret = create_application(url)
            api = ApiSession(proc.url, app_id, secret)
            try:
                flows = []
                for n in range(10):
                    # Numbers ending in 0: delivered on Viber (the deadline worker and the
                    # reports of both processes move them).
                    sent = api.post("/otp/send-failover", _otp(f"+3069123456{n}0"))
                    assert sent.status_code == 200, sent.text
                    flows.append(sent.json()["flowId"])

                def delivered() -> bool:
                    stories = [api.get(f"/otp/failover/{f}").json() for f in flows]
                    return all(s["status"] == "Succeeded" for s in stories)

                wait_until(delivered, timeout=60)
            finally:
                api.close()
        finally:
            proc.stop()
        assert proc.process is not None
        assert proc.process.returncode is not None
