"""Issue 15.3: a NUL character (or an unpaired surrogate) anywhere in a request is a clear 422,
never a 500, on every route and both databases; nothing is counted or stored for it.

Before the request guard, PostgreSQL answered 500 (``invalid byte sequence for encoding "UTF8":
0x00``) on thirteen routes, the unauthenticated ``/oauth/token`` and ``/dashboard/login``
included, and a crashed send had already used up its number's quota.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount
from tests.support import postgres as pg
from tests.support.asgi_app import InProcessApi, in_process_api
from tests.support.payloads import viber_sms_flow

from failover_otp.settings import Settings
from failover_otp.web.app import create_app

# The app (one per database) is shared by the tests of this module: one event loop for all.
on_the_apps_loop = pytest.mark.asyncio(loop_scope="session")

NUL = "a\x00b"
# Bodies that would be accepted (or refused for ordinary reasons) without the NUL: the NUL
# sits where each route reads text, so only the guard stands between it and the database.
JSON_BODIES: dict[str, Any] = {
    "/otp/send-failover": lambda: _with_label(viber_sms_flow(1), NUL),
    "/failover": lambda: {
        "flow": [
            {
                "type": "Sms",
                "from": "MyBrand",
                "to": "+306912345671",
                "order": 1,
                "message": {"body": "hello", "label": NUL},
            }
        ]
    },
    "/otp/verify": lambda: {"flowId": NUL, "code": "123456"},
    "/failover/tracking": lambda: [{"fieldName": "to", "searchTerm": NUL}],
    "/callbacks/routee/{token}": lambda: {"messageId": NUL, "status": {"name": "Delivered"}},
}
FORM_BODIES = {
    "/oauth/token": {"grant_type": "client_credentials", "scope": NUL},
    "/dashboard/login": {"application_id": NUL, "application_secret": "x"},
    "/dashboard/account/switch": {"application_id": NUL},
}


def _with_label(body: dict[str, Any], label: str) -> dict[str, Any]:
    for step in body["flow"]:
        step["label"] = label
    return body


def _routes() -> Iterator[tuple[str, str, Any]]:
    """(method, path, route) of every route the app serves, those of included routers too."""
    for route in iter_route_contexts(create_app(Settings()).routes):
        if isinstance(route.original_route, Mount):
            yield "GET", f"{route.path}/chart.js", route
            continue
        for method in sorted(route.methods or {"GET"}):
            if method != "HEAD":
                yield method, str(route.path), route


ROUTES = list(_routes())


def _placements() -> Iterator[Any]:
    """Every route x every place it takes text: its path, its query, its body."""
    for method, path, _ in ROUTES:
        name = f"{method} {path}"
        if "{" in path:
            yield pytest.param(method, path, "path", id=f"{name} path")
        yield pytest.param(method, path, "query", id=f"{name} query")
        if path in JSON_BODIES:
            yield pytest.param(method, path, "json", id=f"{name} json")
        if path in FORM_BODIES:
            yield pytest.param(method, path, "form", id=f"{name} form")


def _query_names(route: Any) -> list[str]:
    dependant = getattr(route, "dependant", None)
    names = [p.alias for p in dependant.query_params] if dependant is not None else []
    return names or ["q"]


@pytest_asyncio.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    loop_scope="session",
)
async def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[InProcessApi]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db')}/failover-otp.db"
        async with in_process_api(url) as api:
            yield api
        return
    server: pg.PostgresServer = request.getfixturevalue("postgres_server")
    with pg.fresh_database(server.base_url) as url:
        async with in_process_api(url) as api:
            yield api


async def _send(api: InProcessApi, method: str, path: str, place: str) -> httpx.Response:
    url = path.replace("{token}", api.services.callback_token)
    params: dict[str, str] = {}
    kwargs: dict[str, Any] = {}
    if place == "path":
        url = re.sub(r"\{[^}]+\}", "a%00b", path)  # as a client's HTTP library sends it
    elif place == "query":
        route = next(r for m, p, r in ROUTES if m == method and p == path)
        params = dict.fromkeys(_query_names(route), NUL)
    if path in JSON_BODIES:
        body = JSON_BODIES[path]()
        kwargs["json"] = body if place == "json" else _clean(body)
    elif path in FORM_BODIES:
        form = FORM_BODIES[path]
        kwargs["data"] = form if place == "form" else _clean(form)
    return await api.client.request(method, url, params=params, **kwargs)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def test_every_route_that_takes_a_body_has_one_here() -> None:
    """A new route that reads a body gets its NUL-carrying body added above."""
    for method, path, route in ROUTES:
        if getattr(route, "body_field", None) is not None:
            assert path in JSON_BODIES or path in FORM_BODIES, f"{method} {path}"
        if path.startswith("/callbacks/"):
            assert path in JSON_BODIES  # reads its body by hand


@on_the_apps_loop
@pytest.mark.parametrize(("method", "path", "place"), list(_placements()))
async def test_a_nul_anywhere_is_a_422(
    api: InProcessApi, method: str, path: str, place: str
) -> None:
    before = await api.stored()
    answer = await _send(api, method, path, place)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "validation_failed"
    assert "NUL character" in body["message"]
    (detail,) = body["detail"]
    assert detail["type"] == "string_nul_character"
    assert detail["loc"][0] == {"json": "body", "form": "body"}.get(place, place)
    assert await api.stored() == before


@on_the_apps_loop
async def test_json_escapes_are_found_where_they_are(api: InProcessApi) -> None:
    """Keys, nested values and unpaired surrogates; an escaped backslash before u0000 and a
    paired surrogate (an emoji) are ordinary text."""
    cases = {
        b'{"flow": [{"x\\u0000": 1}]}': (["body", "flow", 0, "x"], "string_nul_character"),
        b'{"flow": [{"label": "\\ud800"}]}': (
            ["body", "flow", 0, "label"],
            "string_unpaired_surrogate",
        ),
        b'{"flow": [{"label": "\\udc00\\ud83d"}]}': (
            ["body", "flow", 0, "label"],
            "string_unpaired_surrogate",
        ),
    }
    for raw, (loc, kind) in cases.items():
        answer = await api.client.post(
            "/otp/send-failover", content=raw, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 422, raw
        assert answer.json()["detail"] == [
            {"loc": loc, "msg": answer.json()["detail"][0]["msg"], "type": kind}
        ]
    # Not NULs: the route's own validation answers (the flow misses its fields).
    for raw in (b'{"flow": [{"label": "\\\\u0000"}]}', b'{"flow": [{"label": "\\ud83d\\ude00"}]}'):
        answer = await api.client.post(
            "/otp/send-failover", content=raw, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 422
        assert all(d["type"] != "string_nul_character" for d in answer.json()["detail"])


@on_the_apps_loop
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
async def test_json_in_other_unicode_encodings_is_read_too(
    api: InProcessApi, encoding: str
) -> None:
    """JSON's parser accepts UTF-16 and UTF-32 bodies: their escapes are found as well."""
    raw = json.dumps(_with_label(viber_sms_flow(1), NUL)).encode(encoding)
    answer = await api.client.post(
        "/otp/send-failover", content=raw, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", "flow", 0, "label"]


@on_the_apps_loop
async def test_a_refused_send_uses_up_no_quota(api: InProcessApi) -> None:
    """Five sends a number may take in 10 minutes: NUL-carrying ones before them count for
    nothing, so the five real ones all go out."""
    body = viber_sms_flow(3, prefix="30691234500")
    for _ in range(6):
        refused = await api.client.post("/otp/send-failover", json=_with_label(body, NUL))
        assert refused.status_code == 422
    for _ in range(5):
        sent = await api.client.post("/otp/send-failover", json=_with_label(body, "login"))
        assert sent.status_code == 200, sent.text
    assert (await api.client.post("/otp/send-failover", json=body)).status_code == 429


@on_the_apps_loop
async def test_basic_credentials_with_a_nul_are_a_422(api: InProcessApi) -> None:
    """The guard cannot see into the base64 of HTTP Basic: /oauth/token checks it itself."""
    app_id = api.credentials.application_id
    header = base64.b64encode(f"{app_id}\x00:secret".encode()).decode()
    answer = await api.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {header}"},
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "validation_failed"
    assert answer.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "instant", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01"]
)
@on_the_apps_loop
async def test_dates_out_of_range_are_a_422(api: InProcessApi, instant: str) -> None:
    for name in ("dateStart", "dateEnd"):
        answer = await api.client.post("/failover/tracking", params={name: instant}, json=[])
        if instant == "0001-01-01":  # the first day itself is a valid bound
            assert answer.status_code == 200, answer.text
            continue
        assert answer.status_code == 422, answer.text
        (detail,) = answer.json()["detail"]
        assert detail["loc"] == ["query", name]
        assert detail["type"] == "datetime_out_of_range"
