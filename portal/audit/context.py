"""Who is acting right now: the request (or background job) context of audit events.

A request sets it in ``AuditContextMiddleware``; a Celery task gets a copy in its
message headers and restores it before running, so a job's events keep the
actor and request id of the person who started it.
"""

import contextvars
import uuid
from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class AuditContext:
    actor_id: int | None = None
    actor_username: str = ""
    client_ip: str | None = None
    user_agent: str = ""
    request_id: str = ""
    job_id: str = ""

    def as_headers(self) -> dict:
        return asdict(self)

    @classmethod
    def from_headers(cls, data: dict | None) -> "AuditContext":
        if not isinstance(data, dict):
            return cls()
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in fields})

    def with_job(self, job_id: str) -> "AuditContext":
        return replace(self, job_id=job_id)


_EMPTY = AuditContext()
_current: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar(
    "audit_context", default=None
)


def current() -> AuditContext:
    return _current.get() or _EMPTY


def activate(ctx: AuditContext) -> contextvars.Token:
    return _current.set(ctx)


def deactivate(token: contextvars.Token) -> None:
    _current.reset(token)


def new_request_id() -> str:
    return uuid.uuid4().hex
