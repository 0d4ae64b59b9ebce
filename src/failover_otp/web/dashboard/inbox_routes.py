"""``/dashboard/inbox``: the sandbox's phone (sandbox only, issue 17 item 12): what the phones of
the application's newest flows received, or one flow's, code included, so ``POST /otp/verify``
can be tried with a generated code. Mounted only when the provider is the embedded sandbox
(``install(app, sandbox=True)``): with the real Routee the page does not exist (404). The use
case is ``services/sandbox_inbox.py``'s, as for ``GET /sandbox/inbox/{flowId}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from failover_otp.services.dashboard import TableFilter
from failover_otp.services.sandbox_inbox import FlowInbox
from failover_otp.web.dashboard.pages import _login_redirect, _page
from failover_otp.web.dashboard.routes import dashboard_service
from failover_otp.web.dashboard.sessions import current_session
from failover_otp.web.deps import get_services

router = APIRouter(prefix="/dashboard", include_in_schema=False)
NEWEST = 10  # flows the page shows without a flow id


@router.get("/inbox")
async def inbox_page(
    request: Request, flow: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    session = await current_session(request)
    if session is None:
        return _login_redirect(request)
    inbox = get_services(request).sandbox_inbox
    if not inbox.available:  # never mounted then; a guard all the same
        return _page(request, "not_found.html", {"flow_id": ""}, status_code=404)
    app_id = session.application_id
    asked = (flow or "").strip()
    entries: list[FlowInbox] = []
    if asked:
        found = await inbox.flow(app_id, asked)
        entries = [found] if found is not None else []
    else:
        page, _ = await dashboard_service(request).table(TableFilter(app_id), size=NEWEST)
        entries = [inbox.of(record) for record in page.records]
    context = {
        "app_id": app_id,
        "app_name": session.application_name,
        "asked": asked,
        "entries": entries,
        "newest": NEWEST,
    }
    return _page(request, "inbox.html", context)
