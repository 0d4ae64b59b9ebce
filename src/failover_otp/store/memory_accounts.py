"""In-memory twins of the accounts' stores: applications and tokens, operators and roles,
dashboard sessions, the audit trail."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from failover_otp.domain.accounts import (
    ADMIN,
    Application,
    Grant,
    Operator,
    SessionRow,
    WebhookSecrets,
)
from failover_otp.domain.audit import AuditEntry
from failover_otp.store.memory_state import (
    MemoryState,
    SessionRecord,
    give_back_slot,
    take_slot,
)

# As store/session_store.py: failed sign-ins are counted per username in 15-minute windows.
SIGN_IN_WINDOW = 900


class MemoryApplications:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def create(self, app: Application) -> None:
        if app.id in self.state.applications:
            raise ValueError(f"application {app.id} exists")
        self.state.applications[app.id] = replace(
            app, webhook_secret_previous=None, webhook_secret_previous_until=None
        )

    async def get(self, app_id: str) -> Application | None:
        return self.state.applications.get(app_id)

    async def all(self) -> list[Application]:
        return sorted(self.state.applications.values(), key=lambda a: a.created_at)

    async def set_secret_hash(self, app_id: str, secret_hash: str) -> bool:
        app = self.state.applications.get(app_id)
        self._drop_tokens(app_id)
        if app is None:
            return False
        self.state.applications[app_id] = replace(app, secret_hash=secret_hash)
        return True

    async def webhook_secret(self, app_id: str, default: str) -> str | None:
        app = self.state.applications.get(app_id)
        if app is None:
            return None
        if not app.webhook_secret:
            app = replace(app, webhook_secret=default)
            self.state.applications[app_id] = app
        return app.webhook_secret

    async def webhook_secrets(self, app_id: str, default: str) -> WebhookSecrets | None:
        current = await self.webhook_secret(app_id, default)
        app = self.state.applications.get(app_id)
        if app is None or current is None:
            return None
        return WebhookSecrets(
            current, app.webhook_secret_previous, app.webhook_secret_previous_until
        )

    async def rotate_webhook_secret(
        self, app_id: str, new_secret: str, previous_until: datetime | None
    ) -> bool:
        app = self.state.applications.get(app_id)
        if app is None:
            return False
        self.state.applications[app_id] = replace(
            app,
            webhook_secret=new_secret,
            webhook_secret_previous=app.webhook_secret if previous_until else None,
            webhook_secret_previous_until=previous_until,
        )
        return True

    async def add_token(self, token_hash: str, app_id: str, expires_at: datetime) -> None:
        if token_hash in self.state.tokens:
            raise ValueError("token exists")
        self.state.tokens[token_hash] = (app_id, expires_at)

    async def token_owner(self, token_hash: str, now: datetime) -> str | None:
        found = self.state.tokens.get(token_hash)
        if found is None or found[1] <= now:
            return None
        app = self.state.applications.get(found[0])
        return app.id if app is not None and not app.disabled else None

    async def set_disabled(self, app_id: str, disabled: bool) -> bool:
        app = self.state.applications.get(app_id)
        if app is None:
            return False
        self.state.applications[app_id] = replace(app, disabled=disabled)
        if disabled:
            self._drop_tokens(app_id)
        return True

    async def purge_expired_tokens(self, now: datetime) -> int:
        old = [t for t, (_, expires_at) in self.state.tokens.items() if expires_at <= now]
        for t in old:
            del self.state.tokens[t]
        return len(old)

    async def state_value(self, key: str, default: str) -> str:
        return self.state.service_state.setdefault(key, default)

    async def forget_state_value(self, key: str) -> None:
        self.state.service_state.pop(key, None)

    def _drop_tokens(self, app_id: str) -> None:
        for t in [t for t, (owner, _) in self.state.tokens.items() if owner == app_id]:
            del self.state.tokens[t]


class MemoryOperators:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def add(self, operator: Operator) -> None:
        if operator.id in self.state.operators or any(
            o.username == operator.username for o in self.state.operators.values()
        ):
            raise ValueError(f"operator {operator.username} exists")
        self.state.operators[operator.id] = operator

    async def by_username(self, username: str) -> Operator | None:
        return next((o for o in self.state.operators.values() if o.username == username), None)

    async def all(self) -> list[tuple[Operator, list[Grant]]]:
        people = sorted(self.state.operators.values(), key=lambda o: o.username)
        return [(o, self._grants(o.id, enabled_only=False)) for o in people]

    async def grants(self, operator_id: str) -> list[Grant]:
        return self._grants(operator_id, enabled_only=True)

    def _grants(self, operator_id: str, *, enabled_only: bool) -> list[Grant]:
        found = []
        for (who, app_id), role in self.state.roles.items():
            app = self.state.applications.get(app_id)
            if who == operator_id and app is not None and not (enabled_only and app.disabled):
                found.append(Grant(app.id, app.name, role))
        return sorted(found, key=lambda g: (g.application_name, g.application_id))

    async def set_role(self, operator_id: str, application_id: str, role: str | None) -> None:
        if role is None:
            self.state.roles.pop((operator_id, application_id), None)
        else:
            self.state.roles[(operator_id, application_id)] = role

    async def set_disabled(self, operator_id: str, disabled: bool) -> None:
        operator = self.state.operators.get(operator_id)
        if operator is not None:
            self.state.operators[operator_id] = replace(operator, disabled=disabled)
        if disabled:
            self._end_sessions(operator_id)

    async def set_password_hash(self, operator_id: str, password_hash: str) -> None:
        operator = self.state.operators.get(operator_id)
        if operator is not None:
            self.state.operators[operator_id] = replace(operator, password_hash=password_hash)
        self._end_sessions(operator_id)

    async def rehash(self, operator_id: str, old_hash: str, new_hash: str) -> None:
        operator = self.state.operators.get(operator_id)
        if operator is not None and operator.password_hash == old_hash:
            self.state.operators[operator_id] = replace(operator, password_hash=new_hash)

    def _end_sessions(self, operator_id: str) -> None:
        sessions = self.state.sessions
        for token in [t for t, s in sessions.items() if s.operator_id == operator_id]:
            del sessions[token]


class MemorySessions:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def open(
        self,
        token_hash: str,
        application_id: str,
        *,
        operator_id: str | None,
        secret_hash: str | None,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        if token_hash in self.state.sessions:
            raise ValueError("session exists")
        self.state.sessions[token_hash] = SessionRecord(
            application_id, operator_id, secret_hash, now, expires_at
        )

    async def find(self, token_hash: str, now: datetime) -> SessionRow | None:
        session = self.state.sessions.get(token_hash)
        if session is None or session.expires_at <= now:
            return None
        app = self.state.applications.get(session.application_id)
        if app is None or app.disabled:
            return None
        if session.operator_id is None:
            if session.secret_hash != app.secret_hash:
                return None
            return SessionRow(app.id, app.name, None, None, ADMIN, session.expires_at)
        operator = self.state.operators.get(session.operator_id)
        role = self.state.roles.get((session.operator_id, app.id))
        if operator is None or operator.disabled or role is None:
            return None
        return SessionRow(
            app.id, app.name, operator.id, operator.username, role, session.expires_at
        )

    async def end(self, token_hash: str) -> None:
        self.state.sessions.pop(token_hash, None)

    async def switch(self, token_hash: str, application_id: str) -> None:
        session = self.state.sessions.get(token_hash)
        if session is not None and session.operator_id is not None:
            session.application_id = application_id

    async def take_sign_in_attempt(self, username: str, now: datetime, limit: int) -> bool:
        return take_slot(self.state, f"signin:{username}", SIGN_IN_WINDOW, now, limit)

    async def give_back_sign_in_attempt(self, username: str, now: datetime) -> None:
        give_back_slot(self.state, f"signin:{username}", SIGN_IN_WINDOW, now)


class MemoryAudit:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def add(self, entry: AuditEntry) -> None:
        self.state.audit.append(replace(entry, id=len(self.state.audit) + 1))

    async def recent(
        self,
        *,
        application_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        found = [
            e
            for e in self.state.audit
            if (application_id is None or e.application_id == application_id)
            and (since is None or e.at >= since)
        ]
        return sorted(found, key=lambda e: (e.at, e.id or 0), reverse=True)[:limit]
