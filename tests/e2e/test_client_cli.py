"""The Python client (sync and async) and the person's CLI against a real server process
(SQLite, embedded sandbox, time scale 60): tokens, sends, tracking, lists, search, retries of
sends by Idempotency-Key, bulk sending with a progress bar, and the apps commands."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from failover_otp.cli.main import app as cli_app
from failover_otp.client import (
    ApiClientError,
    ApiConnectionError,
    AsyncFailoverOtpClient,
    FailoverOtpClient,
    RetryPolicy,
)
from tests.e2e.shared_servers import SharedServers
from tests.support.payloads import number, viber_sms_flow
from tests.support.ports import free_port
from tests.support.server import ServerProcess, cli, create_application


@pytest.fixture(scope="module")
def cli_server(shared_servers: SharedServers) -> ServerProcess:
    """The shared SQLite server (conftest.py): these tests use applications of their own."""
    return shared_servers.get("sqlite")


@pytest.fixture(scope="module")
def creds(cli_server: ServerProcess) -> tuple[str, str]:
    return create_application(cli_server.env["FOTP_DATABASE_URL"], "client-tests")


@pytest.fixture
def api(cli_server: ServerProcess, creds: tuple[str, str]) -> Iterator[FailoverOtpClient]:
    with FailoverOtpClient(cli_server.url, *creds) as client:
        yield client


# -- the sync client -------------------------------------------------------------------------


def test_token_is_cached_and_renewed_after_a_401(api: FailoverOtpClient) -> None:
    first = api.token()
    assert api.token() == first  # cached
    api.list_failovers(limit=1)
    assert api.token() == first
    # A token the server no longer knows (rotated, expired early): one 401, then a new one.
    api._tokens.token = "not-a-token-the-server-knows"
    page = api.list_failovers(limit=1)
    assert "results" in page
    assert api.token() not in (first, "not-a-token-the-server-knows")


def test_send_track_list_and_search_a_failover(api: FailoverOtpClient) -> None:
    sent = api.send_otp(number(1), pin="482913", label="client-sync")
    assert sent["status"] == "InProgress"
    story = api.wait_for_flow(sent["flowId"], timeout=60)
    assert story["status"] == "Succeeded"
    assert [(s["channel"], s["status"]) for s in story["steps"]] == [
        ("viber", "EXPIRED"),
        ("sms", "delivered"),
    ]
    assert story["total_cost"] == pytest.approx(0.0468)
    # By a step's tracking id too.
    assert api.get_failover(story["steps"][1]["trackingId"])["flowId"] == sent["flowId"]

    page = api.list_failovers(flow_id=sent["flowId"])
    assert page["total"] == 2
    assert {r["role"] for r in page["results"]} == {"primary", "failover"}
    assert len(list(api.iter_failovers(tag="client-sync", page_size=1))) == 2

    found = api.search_trackings(
        [{"fieldName": "to", "searchOperator": "is", "searchTerm": number(1)}], size=200
    )
    assert sent["flowId"] in {t["trackingId"] for t in found["content"]}
    assert api.get_tracking(sent["flowId"])["terminationChannel"] == "Sms"


def test_a_resent_idempotency_key_answers_the_first_flow(api: FailoverOtpClient) -> None:
    body = viber_sms_flow(0, label="idem")
    first = api.send_failover(body, idempotency_key="client-test-key-1")
    again = api.send_failover(body, idempotency_key="client-test-key-1")
    assert again["flowId"] == first["flowId"]
    # Without a key of your own, each send gets a fresh one: two flows.
    assert api.send_failover(body)["flowId"] != api.send_failover(body)["flowId"]


def test_errors_carry_status_and_code(api: FailoverOtpClient) -> None:
    with pytest.raises(ApiClientError) as missing:
        api.get_failover("00000000-0000-0000-0000-000000000000")
    assert (missing.value.status, missing.value.code) == (404, "not_found")
    with pytest.raises(ApiClientError) as invalid:
        api.send_failover({"flow": []})
    assert (invalid.value.status, invalid.value.code) == (422, "validation_failed")


def test_wrong_credentials_and_unreachable_servers(cli_server: ServerProcess) -> None:
    with (
        FailoverOtpClient(cli_server.url, "nope", "wrong") as bad,
        pytest.raises(ApiClientError) as denied,
    ):
        bad.list_failovers()
    assert denied.value.status == 401
    policy = RetryPolicy(attempts=2, backoff=0.01)
    url = f"http://127.0.0.1:{free_port()}"
    with FailoverOtpClient(url, "a", "b", retry=policy) as down, pytest.raises(ApiConnectionError):
        down.health()


# -- the async client ------------------------------------------------------------------------


async def test_async_client_sends_concurrently_and_follows_flows(
    cli_server: ServerProcess, creds: tuple[str, str]
) -> None:
    async with AsyncFailoverOtpClient(cli_server.url, *creds) as api:
        assert (await api.health())["status"] == "ok"
        sent = await asyncio.gather(
            *(api.send_otp(number(d), pin="1234", label="client-async") for d in (0, 2, 3))
        )
        stories = await asyncio.gather(*(api.wait_for_flow(s["flowId"], timeout=60) for s in sent))
        assert [s["status"] for s in stories] == ["Succeeded", "Succeeded", "Failed"]
        assert [len(s["steps"]) for s in stories] == [1, 2, 2]
        listed = [d async for d in api.iter_failovers(tag="client-async", page_size=2)]
        assert len(listed) == 5
        with pytest.raises(ApiClientError) as missing:
            await api.get_tracking("no-such-tracking")
        assert missing.value.status == 404


# -- the CLI ---------------------------------------------------------------------------------


def _run(server: ServerProcess, creds: tuple[str, str], *args: str) -> str:
    env = {
        "FOTP_API_URL": server.url,
        "FOTP_CLIENT_APP_ID": creds[0],
        "FOTP_CLIENT_APP_SECRET": creds[1],
        "COLUMNS": "200",
    }
    result = CliRunner().invoke(cli_app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_send_wait_track_list_search(cli_server: ServerProcess, creds: tuple[str, str]) -> None:
    sent = json.loads(
        _run(cli_server, creds, "send", number(1), "--label", "by-a-person", "--json")
    )
    flow_id = sent["flowId"]
    story = json.loads(_run(cli_server, creds, "track", flow_id, "--follow", "--json"))
    assert story["flowId"] == flow_id

    followed = _run(cli_server, creds, "track", flow_id, "--follow")
    assert "Succeeded" in followed
    assert "timeline" in followed
    assert "failover to SMS" in followed
    assert "SMS delivered" in followed

    listed = _run(cli_server, creds, "list", "--flow-id", flow_id)
    assert "2 of 2" in listed
    assert flow_id in listed
    as_json = json.loads(_run(cli_server, creds, "list", "--tag", "by-a-person", "--json"))
    assert {r["flowId"] for r in as_json["results"]} == {flow_id}

    found = _run(cli_server, creds, "search", "--phone", number(1)[-6:], "--size", "200")
    assert flow_id in found
    searched = json.loads(
        _run(cli_server, creds, "search", "--filter", f"to:is:{number(1)}", "--json")
    )
    assert searched["totalElements"] >= 1


def test_cli_send_wait_prints_the_timeline(
    cli_server: ServerProcess, creds: tuple[str, str]
) -> None:
    out = _run(cli_server, creds, "send", number(2), "--wait")
    assert "sent: flow" in out
    assert "Succeeded" in out
    assert "Viber ended UNDELIVERED" in out


def test_cli_bulk_send_shows_progress_and_a_summary(
    cli_server: ServerProcess, creds: tuple[str, str]
) -> None:
    out = _run(
        cli_server,
        creds,
        "send",
        number(0, prefix="30691111111"),
        "--count",
        "10",
        "--cycle-digits",
        "--wait",
        "--label",
        "bulk",
    )
    assert "sending" in out
    assert "10/10" in out
    assert "waiting for the flows to end" in out
    assert "Succeeded" in out
    assert "Failed" in out
    assert "flows failed over" in out
    with FailoverOtpClient(cli_server.url, *creds) as api:
        assert api.list_failovers(tag="bulk", status="Succeeded", limit=1)["total"] > 0


def test_cli_errors_exit_non_zero(cli_server: ServerProcess, creds: tuple[str, str]) -> None:
    env = {"FOTP_API_URL": cli_server.url, "COLUMNS": "200"}
    result = CliRunner().invoke(
        cli_app,
        ["track", "missing-id", "--app-id", creds[0], "--app-secret", creds[1]],
        env=env,
    )
    assert result.exit_code == 1
    assert "404" in result.output


def test_apps_create_list_rotate_secret(cli_server: ServerProcess, tmp_path: Path) -> None:
    database_url = cli_server.env["FOTP_DATABASE_URL"]
    app_id, secret = create_application(database_url, "rotating")
    assert app_id in cli("apps", "list", "--database-url", database_url)
    rotated = cli("apps", "rotate-secret", app_id, "--database-url", database_url)
    new_secret = rotated.split("applicationSecret:")[1].split()[0]
    token = httpx.post(
        cli_server.url + "/oauth/token",
        auth=(app_id, secret),
        data={"grant_type": "client_credentials"},
    )
    assert token.status_code == 401
    with FailoverOtpClient(cli_server.url, app_id, new_secret) as api:
        assert api.list_failovers()["total"] == 0


def test_metrics_expose_flows_failovers_latency_errors_and_pending(
    cli_server: ServerProcess, api: FailoverOtpClient
) -> None:
    api.wait_for_flow(api.send_otp(number(9), label="metrics")["flowId"], timeout=60)
    text = httpx.get(cli_server.url + "/metrics").text
    for sample in (
        'fotp_flows_started_total{kind="otp"}',
        'fotp_flows_ended_total{status="Succeeded"}',
        'fotp_failovers_total{channel="sms"}',
        "fotp_provider_send_seconds_bucket",
        'fotp_provider_sends_total{channel="viber",result="invalid_request"}',
        "fotp_deadlines_pending ",
        "fotp_deadline_lag_seconds ",
    ):
        assert sample in text, sample


# -- the sandbox's inbox, and errors told once -----------------------------------------------


def test_a_generated_code_read_from_the_sandbox_inbox_verifies(
    cli_server: ServerProcess, creds: tuple[str, str]
) -> None:
    sent = json.loads(_run(cli_server, creds, "send", number(1), "--label", "inbox", "--json"))
    assert all("pin" not in step for step in sent["flow"])  # no --pin: the service made it
    # Number …1: Viber is never delivered, the SMS is: the code arrives by SMS.
    code = _run(cli_server, creds, "inbox", sent["flowId"], "--code").strip()
    assert code.isdigit()
    assert len(code) == 6
    with FailoverOtpClient(cli_server.url, *creds) as api:
        inbox = api.sandbox_inbox(sent["flowId"])
        assert [(m.channel, m.delivered) for m in inbox.messages][-1] == ("sms", True)
        assert inbox.messages[-1].text == f"Your code is {code}"
        wrong = "0" * 6 if code != "0" * 6 else "1" * 6
        assert api.verify_code(sent["flowId"], wrong).status == "wrong_code"
    assert "approved" in _run(cli_server, creds, "verify", sent["flowId"], code)


def test_an_error_is_printed_once(cli_server: ServerProcess, creds: tuple[str, str]) -> None:
    env = {"FOTP_API_URL": cli_server.url, "COLUMNS": "200"}
    args = ["--app-id", creds[0], "--app-secret", creds[1]]
    result = CliRunner().invoke(cli_app, ["send", "+30", *args], env=env)
    assert result.exit_code == 1
    assert result.output.count("HTTP 422") == 1
    assert '"code"' not in result.output  # not the JSON body again


def test_a_service_that_is_not_there_is_named(creds: tuple[str, str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = {"FOTP_API_URL": url, "COLUMNS": "300"}
    result = CliRunner().invoke(
        cli_app, ["list", "--app-id", creds[0], "--app-secret", creds[1]], env=env
    )
    assert result.exit_code == 1
    assert f"no service answered at {url} (FOTP_API_URL)" in result.output
