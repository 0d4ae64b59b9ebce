"""The reference app: the durable work of ``POST /otp/send-failover`` and
``GET /otp/failover/{id}`` on the product's own stack (FastAPI, uvicorn, uvloop, httptools,
pydantic, phonenumbers, aiohttp) with nothing else around it.

A send validates the same body (a Viber OTP step then an SMS step for one valid mobile),
keys the code with HMAC-SHA256, stores the flow, its first step and its deadline in one
transaction (one statement on PostgreSQL), calls the Routee sandbox's ``POST /viber/otp``
with aiohttp and a cached token, and stores the answer. A read returns a flow's story by id.
What it leaves out is what makes the product a product (abuse and cost controls, webhooks,
metrics, audit, idempotency, failover itself): the ratio measures what those and the
product's layering cost on top of the same durable work.

    python -m benchmarks.reference.app --port 8200 --database-url sqlite:///ref.db \\
        --routee-url http://127.0.0.1:8090 --token secret
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import aiohttp
import orjson
import phonenumbers
from fastapi import FastAPI, Header, HTTPException, Request, Response
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from benchmarks.reference.store import PostgresStore, SqliteStore, Store

APP_ID = "reference"
_CODE_KEY = secrets.token_bytes(32)


class ViberOtpStep(BaseModel):
    type: Literal["ViberOtp"]
    to: str
    order: int
    ttl: int = Field(ge=30, le=1_209_600)
    senderInfoTrackingId: str = Field(min_length=1)
    templateId: str | None = None
    pin: str = Field(min_length=4, max_length=10)
    label: str | None = Field(default=None, max_length=350)


class SmsMessage(BaseModel):
    body: str = Field(min_length=1)


class SmsStep(BaseModel):
    type: Literal["Sms"]
    to: str
    order: int
    ttl: int = Field(ge=30, le=1_209_600)
    from_: str = Field(alias="from", min_length=1, max_length=16)
    message: SmsMessage
    label: str | None = Field(default=None, max_length=350)


class SendBody(BaseModel):
    flow: list[Annotated[ViberOtpStep | SmsStep, Field(discriminator="type")]] = Field(
        min_length=1, max_length=2
    )


_SEND_BODY: TypeAdapter[SendBody] = TypeAdapter(SendBody)


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


def e164(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        raise HTTPException(400, "invalid phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise HTTPException(400, "invalid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class Routee:
    """Routee's ``POST /viber/otp`` over one aiohttp session, with a token fetched once."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session: aiohttp.ClientSession | None = None
        self.headers: dict[str, str] = {}

    async def open(self) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=256),
            timeout=aiohttp.ClientTimeout(total=10),
        )
        basic = base64.b64encode(b"reference:reference").decode()
        async with self.session.post(
            self.base_url + "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        ) as answer:
            token = (await answer.json())["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    async def send_viber_otp(self, step: ViberOtpStep, to: str) -> dict[str, Any]:
        assert self.session is not None
        body = {
            "senderInfoTrackingId": step.senderInfoTrackingId,
            "to": to,
            "templateId": step.templateId,
            "templateLang": "en",
            "templateParams": {"pin": step.pin},
            "label": "transactional",
            "ttl": step.ttl,
        }
        async with self.session.post(
            self.base_url + "/viber/otp",
            data=orjson.dumps(body),
            headers=self.headers | {"Content-Type": "application/json"},
        ) as answer:
            if answer.status != 200:
                raise HTTPException(502, f"Routee answered {answer.status}")
            found: dict[str, Any] = orjson.loads(await answer.read())
            return found

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()


def create_app(database_url: str, routee_url: str, token: str, pool_size: int) -> FastAPI:
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        store: Store
        if database_url.startswith("sqlite"):
            store = SqliteStore(database_url.split("///", 1)[1])
        else:
            dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
            store = await PostgresStore.open(dsn, pool_size)
        routee = Routee(routee_url)
        await routee.open()
        state.update(store=store, routee=routee)
        yield
        await routee.close()
        await store.close()

    app = FastAPI(lifespan=lifespan, openapi_url=None)
    expected = f"Bearer {token}"

    def authorise(authorization: str | None) -> str:
        if authorization is None or not hmac.compare_digest(authorization, expected):
            raise HTTPException(401, "unauthorised")
        return APP_ID

    @app.get("/health")
    async def health() -> Response:
        return json_response({"status": "ok"})

    @app.post("/otp/send-failover")
    async def send(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> Response:
        app_id = authorise(authorization)
        raw = await request.body()
        try:
            body = _SEND_BODY.validate_json(raw)
        except ValidationError as exc:
            raise HTTPException(400, str(exc.errors()[0]["msg"])) from None
        first = body.flow[0]
        if not isinstance(first, ViberOtpStep):
            raise HTTPException(400, "the first step must be ViberOtp")
        to = e164(first.to)
        code_hash = hmac.new(_CODE_KEY, first.pin.encode(), hashlib.sha256).hexdigest()
        flow_id, tracking_id, now = str(uuid.uuid4()), str(uuid.uuid4()), datetime.now(UTC)
        store: Store = state["store"]
        await store.start_flow(
            flow_id,
            app_id,
            first.label,
            to.lstrip("+"),
            raw,
            code_hash,
            now,
            tracking_id,
            now + timedelta(seconds=first.ttl),
        )
        answer = await state["routee"].send_viber_otp(first, to)
        await store.store_answer(
            flow_id, str(answer["trackingId"]), answer.get("country"), datetime.now(UTC)
        )
        # The product's answer: the flow as understood, with the first step's tracking id.
        steps = [step.model_dump(by_alias=True, exclude_none=True) for step in body.flow]
        steps[0]["trackingId"] = tracking_id
        answer_body = {"flowId": flow_id, "status": "InProgress", "flow": steps}
        return json_response({**answer_body, "createdAt": now.isoformat(), "statusCode": None})

    @app.get("/otp/failover/{flow_id}")
    async def story(
        flow_id: str, authorization: Annotated[str | None, Header()] = None
    ) -> Response:
        app_id = authorise(authorization)
        rows = await state["store"].story(flow_id, app_id)
        if not rows:
            raise HTTPException(404, "flow not found")
        steps = [
            {
                "trackingId": r[2],
                "role": r[3],
                "status": r[4],
                "channel": r[5],
                "phone_number": r[6],
                "created_at": r[7] if isinstance(r[7], str) else r[7].isoformat(),
                "price": r[8],
                "country": r[9],
            }
            for r in rows
        ]
        story = {"flowId": flow_id, "status": rows[0][0], "total_cost": rows[0][1]}
        return json_response({**story, "statusCode": None, "steps": steps})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--routee-url", required=True)
    parser.add_argument("--token", required=True, help="the bearer token clients must send")
    parser.add_argument("--pool-size", type=int, default=10, help="PostgreSQL connections")
    args = parser.parse_args()
    import uvicorn

    app = create_app(args.database_url, args.routee_url, args.token, args.pool_size)
    # The server stack exactly as `failover-otp serve` configures it.
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
