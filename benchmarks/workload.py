"""What the benchmarks send: OTP flow bodies for distinct Greek mobiles, and template flows."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.harness import Service, http_json
from benchmarks.seed import TEMPLATE_LABEL, Template

TEMPLATE_ID = "0aac888f-2ee2-4112-9659-1755a951966a"
SEND_PATH = "/otp/send-failover"


def number(i: int, digit: int, salt: int = 0) -> str:
    """A valid Greek mobile (+3069 and 8 digits), distinct per ``i``, ending in ``digit``.

    The last digit picks what the sandbox does (README): 0 = Viber delivered after 1 s and
    seen after 3 s; 1 = Viber never reports, expires at its ttl, then SMS delivered after 2 s.
    """
    return f"+3069{(i * 7_919 + salt) % 10_000_000:07d}{digit}"


def otp_body(
    to: str, *, viber_ttl: int = 120, sms_ttl: int = 300, label: str = "login"
) -> dict[str, object]:
    return {
        "flow": [
            {
                "type": "ViberOtp",
                "to": to,
                "order": 1,
                "ttl": viber_ttl,
                "senderInfoTrackingId": "sender-1",
                "templateId": TEMPLATE_ID,
                "pin": "482913",
                "label": label,
            },
            {
                "type": "Sms",
                "to": to,
                "order": 2,
                "ttl": sms_ttl,
                "from": "MyBrand",
                "message": {"body": "Your code is 482913"},
                "label": label,
            },
        ]
    }


class Bodies:
    """Request bodies as bytes, built from one JSON skeleton (cheap for the load generator)."""

    def __init__(
        self, digit: int, *, viber_ttl: int = 120, sms_ttl: int = 300, salt: int = 0
    ) -> None:
        marker = "+306900000000"
        skeleton = json.dumps(otp_body(marker, viber_ttl=viber_ttl, sms_ttl=sms_ttl))
        self._head, self._mid, self._tail = skeleton.split(marker)
        self.digit = digit
        self.salt = salt

    def __call__(self, i: int) -> bytes:
        to = number(i, self.digit, self.salt)
        return f"{self._head}{to}{self._mid}{to}{self._tail}".encode()


# Outcomes of the stored flows the list benchmark clones (weights out of 100):
# (last digit, Viber ttl, weight, still pending).
TEMPLATE_MIX: Sequence[tuple[int, int, int, bool]] = (
    (0, 120, 55, False),  # Viber delivered and seen: Succeeded on Viber
    (1, 60, 15, False),  # Viber expired, SMS delivered: Succeeded on SMS
    (2, 120, 10, False),  # Viber undelivered, SMS delivered
    (3, 120, 8, False),  # Viber failed, SMS undelivered: Failed
    (5, 60, 5, False),  # Viber expired, SMS failed: Failed
    (9, 120, 4, False),  # Viber refused at send, SMS delivered
    (1, 86_400, 3, True),  # Viber sent, waiting for its ttl: InProgress
)
PENDING_ONLY: Sequence[tuple[int, int, int, bool]] = ((1, 86_400, 100, True),)


@dataclass(frozen=True, slots=True)
class TemplateFlow:
    flow_id: str
    phone: str
    weight: int
    pending: bool


def create_templates(
    service: Service, mix: Sequence[tuple[int, int, int, bool]], *, timeout: float = 60.0
) -> list[Template]:
    """Send one flow per outcome through the API and wait until each has settled.

    Run the service with a time scale of 60 or more so that minute-long ttls pass in seconds.
    """
    made: list[tuple[str, str, int, bool]] = []
    for n, (digit, ttl, weight, pending) in enumerate(mix):
        to = number(9_000_000 + n, digit, salt=4_242)
        body = otp_body(to, viber_ttl=ttl, sms_ttl=300, label=TEMPLATE_LABEL)
        status, answer = http_json("POST", service.url + SEND_PATH, body, headers=service.auth)
        if status != 200:
            raise RuntimeError(f"template flow refused: {status} {answer}")
        made.append((answer["flowId"], to.lstrip("+"), weight, pending))
    deadline = time.monotonic() + timeout
    for flow_id, _, _, pending in made:
        while True:
            status, story = http_json(
                "GET", f"{service.url}/otp/failover/{flow_id}", headers=service.auth
            )
            steps = story.get("steps", []) if isinstance(story, dict) else []
            settled = (
                all(s["status"] not in ("Sending",) for s in steps) and steps
                if pending
                else story.get("status") in ("Succeeded", "Failed")
            )
            if status == 200 and settled:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"template flow {flow_id} did not settle: {story}")
            time.sleep(0.2)
    # Let the last delivery reports (Viber SEEN after 3 s) land before cloning.
    time.sleep(4.0 / max(1.0, service.time_scale) + 0.5)
    return [Template(f, phone, w, p) for f, phone, w, p in made]
