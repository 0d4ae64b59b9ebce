"""The sandbox's inbox over HTTP, on each set-up (issue 17, item 12): with the embedded sandbox
(SQLite, PostgreSQL) a generated code read from it verifies; with the real Routee provider
there is no inbox (404), and the CLI says why."""

from __future__ import annotations

from typer.testing import CliRunner

from failover_otp.cli.main import app as cli_app
from failover_otp.client import FailoverOtpClient, viber_sms_payload
from tests.e2e.flows import wait_until_ended
from tests.support.payloads import number
from tests.support.server import ApiSession, ServerProcess, create_application


def test_a_generated_code_from_the_inbox_verifies_only_in_the_sandbox(
    server: ServerProcess, api: ApiSession, e2e_setup: str
) -> None:
    # No pin: the service generates the code; the SMS body carries it as {pin}.
    sent = api.post("/otp/send-failover", viber_sms_payload(number(2), label="inbox"))
    assert sent.status_code == 200, sent.text
    flow_id = sent.json()["flowId"]
    wait_until_ended(api, flow_id)
    inbox = api.get(f"/sandbox/inbox/{flow_id}")
    if e2e_setup == "routee":
        assert inbox.status_code == 404
        return
    assert inbox.status_code == 200, inbox.text
    messages = inbox.json()["messages"]
    # …2: Viber UNDELIVERED, the SMS delivered: the phone has the code from the SMS only.
    assert [(m["channel"], m["delivered"]) for m in messages] == [("viber", False), ("sms", True)]
    code = messages[1]["code"]
    assert messages[1]["text"] == f"Your code is {code}"
    assert messages[0]["code"] == code  # the same code went out on both channels
    verdict = api.post("/otp/verify", {"flowId": flow_id, "code": code})
    assert verdict.json() == {"flowId": flow_id, "valid": True, "status": "approved"}


def test_the_cli_inbox_names_a_service_without_sandbox(
    server: ServerProcess, e2e_setup: str
) -> None:
    creds = create_application(server.env["FOTP_DATABASE_URL"], "inbox-cli")
    with FailoverOtpClient(server.url, *creds) as client:
        flow_id = client.send_otp(number(0), label="inbox-cli").flowId
    assert flow_id is not None
    env = {"FOTP_API_URL": server.url, "COLUMNS": "300"}
    args = ["inbox", flow_id, "--code", "--app-id", creds[0], "--app-secret", creds[1]]
    result = CliRunner().invoke(cli_app, args, env=env)
    if e2e_setup == "routee":
        assert result.exit_code == 1
        assert f"{server.url} has no sandbox inbox" in result.output
    else:
        assert result.exit_code == 0, result.output
        assert result.output.strip().isdigit()
