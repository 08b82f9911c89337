"""The one audit API: ``record()`` appends an event to the hash chain.

Every state change and every security-relevant action in the portal calls it.
"""

import datetime as dt

from django.db import connection, transaction

from portal.audit import context, keys
from portal.audit.censor import censor
from portal.audit.models import AuditEvent

GENESIS = "0" * 64
# Arbitrary constant naming the PostgreSQL advisory lock that serializes appends.
_PG_LOCK_ID = 0x41554449


def _lock_chain():
    # SQLite runs IMMEDIATE transactions (see settings): the write lock is already ours.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_ID])


def seal(event: AuditEvent) -> None:
    """Authenticate an event, link and all, with the newest audit key (HMAC-SHA256)."""
    event.key_id = keys.current().id
    event.hash = event.compute_hash()


def _target_fields(target) -> dict:
    if target is None:
        return {}
    if isinstance(target, dict):
        return {
            "target_type": target.get("type", ""),
            "target_id": str(target.get("id", "")),
            "target_label": str(target.get("label", ""))[:300],
        }
    meta = getattr(target, "_meta", None)
    return {
        "target_type": meta.label_lower if meta else type(target).__name__,
        "target_id": str(getattr(target, "pk", "") or ""),
        "target_label": str(target)[:300],
    }


def record(
    action: str,
    *,
    target=None,
    tenant=None,
    before: dict | None = None,
    after: dict | None = None,
    result: str = AuditEvent.Result.SUCCESS,
    actor=None,
    secret_keys: frozenset[str] = frozenset(),
) -> AuditEvent:
    """Append one audit event.

    ``target`` is a model instance or ``{"type", "id", "label"}``; ``tenant`` a
    tenant instance or None. The actor, client IP, user agent, request id and
    job id come from the current audit context unless ``actor`` is given.
    Secrets in ``before``/``after`` are replaced by the censor token.
    """
    ctx = context.current()
    actor_id, actor_username = ctx.actor_id, ctx.actor_username
    if actor is not None:
        actor_id = actor.pk if actor.is_authenticated else None
        actor_username = actor.get_username() if actor.is_authenticated else ""
    event = AuditEvent(
        actor_id=actor_id,
        actor_username=actor_username or "",
        action=action,
        tenant_id=str(tenant.pk) if tenant is not None else "",
        tenant_label=str(tenant)[:200] if tenant is not None else "",
        before=censor(before, secret_keys) if before is not None else None,
        after=censor(after, secret_keys) if after is not None else None,
        client_ip=ctx.client_ip,
        user_agent=(ctx.user_agent or "")[:400],
        request_id=ctx.request_id or "",
        job_id=ctx.job_id or "",
        result=str(result),
        **_target_fields(target),
    )
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-seq").values("seq", "hash", "created_at").first()
        event.seq = (last["seq"] + 1) if last else 1
        event.prev_hash = last["hash"] if last else GENESIS
        now = dt.datetime.now(dt.UTC)
        # Never before the previous event, even if the clock steps back: the review page finds
        # a time range as a run of seq (portal.audit.narrowing).
        event.created_at = max(now, last["created_at"]) if last else now
        seal(event)
        event.save(force_insert=True)
    return event


def snapshot(instance, fields: list[str] | None = None) -> dict:
    """A JSON-able copy of a model instance for before/after, secrets already censored."""
    from portal.audit.censor import CENSOR

    data = {}
    for field in instance._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        if getattr(field, "auto_now", False):
            continue  # bookkeeping, not a change anyone made
        value = getattr(instance, field.attname)
        if getattr(field, "is_secret", False):
            value = CENSOR if value else ""
        elif value is not None and not isinstance(value, str | int | float | bool | list | dict):
            value = str(value)
        data[field.name] = value
    return censor(data)


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys that differ, for a compact before/after."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}
