"""JSON admin API of the sandbox (``/sandbox/admin/...``, guarded by the admin token).

Routes (all bodies/answers are JSON):

    GET  /state                       knobs, stats, org settings, apps (no secrets), mailboxes
    POST /knobs                       {latency_ms, max_concurrency, failure_rate, backoff_ms,
                                       windows_auth}
    POST /org                         {ews_enabled: true|false|null, ews_allowed_app_ids: [...]}
    POST /apps                        {name, client_id?, client_secret?, scope?, targets?}
    POST /grants                      {principal, scope: all|list|group|none, targets: [...]}
    POST /mailboxes                   {address, password?, display_name?, groups?}
    POST /mailboxes/<address>         {password?, display_name?, ews_enabled?, groups?}
    POST /seed                        {mailboxes, items} or {address, items}
    POST /tokens                      {client_id, lifetime?, claims?, drop?} -> signed JWT
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from .auth import APP_ROLE
from .items import seed_rows


def _state(sb) -> dict[str, Any]:
    apps = []
    for row in sb.store.list_apps():
        scope, targets = sb.store.get_grant(row["client_id"])
        apps.append(
            {
                "client_id": row["client_id"],
                "name": row["name"],
                "grant": {"scope": scope, "targets": targets},
            }
        )
    mailboxes = [
        {
            "address": r["address"],
            "display_name": r["display_name"],
            "ews_enabled": None if r["ews_enabled"] is None else bool(r["ews_enabled"]),
            "groups": json.loads(r["groups"]),
        }
        for r in sb.store.list_mailboxes()
    ]
    return {
        "knobs": asdict(sb.knobs),
        "stats": dict(sb.stats),
        "org": {
            "ews_enabled": sb.store.get_meta("ews_enabled"),
            "ews_allowed_app_ids": sb.store.get_meta("ews_allowed_app_ids") or [],
        },
        "apps": apps,
        "mailboxes": mailboxes,
        "items": sb.store.count_items(),
    }


def handle_admin(sb, method: str, path: str, data: dict[str, Any]) -> tuple[int, Any]:
    parts = [p for p in path.split("/") if p]
    route = parts[0] if parts else ""
    if method == "GET" and route == "state":
        return 200, _state(sb)
    if method != "POST":
        return 404, {"error": f"no route {method} {path}"}
    if route == "knobs":
        sb.knobs.update(data)
        return 200, asdict(sb.knobs)
    if route == "org":
        if "ews_enabled" in data:
            value = data["ews_enabled"]
            if value not in (True, False, None):
                raise ValueError("ews_enabled must be true, false or null")
            sb.store.set_meta("ews_enabled", value)
        if "ews_allowed_app_ids" in data:
            sb.store.set_meta(
                "ews_allowed_app_ids", [str(a) for a in data["ews_allowed_app_ids"] or []]
            )
        return 200, _state(sb)["org"]
    if route == "apps" and len(parts) == 3 and parts[2] == "certificate":
        if sb.store.get_app(parts[1]) is None:
            return 404, {"error": f"no application {parts[1]}"}
        sb.store.set_app_certificate(parts[1], data.get("pem") or None)
        return 200, {"client_id": parts[1], "certificate": bool(data.get("pem"))}
    if route == "apps":
        return 201, sb.create_app(
            data["name"],
            data.get("client_id"),
            data.get("client_secret"),
            data.get("scope", "none"),
            data.get("targets", []),
        )
    if route == "grants":
        sb.store.set_grant(data["principal"], data["scope"], data.get("targets", []))
        scope, targets = sb.store.get_grant(data["principal"])
        return 200, {"principal": data["principal"], "scope": scope, "targets": targets}
    if route == "mailboxes" and len(parts) == 1:
        if sb.store.get_mailbox(data["address"]) is not None:
            return 409, {"error": "mailbox exists"}
        return 201, sb.create_mailbox(
            data["address"], data.get("password"), data.get("display_name"), data.get("groups", [])
        )
    if route == "mailboxes" and len(parts) == 2:
        if sb.store.get_mailbox(parts[1]) is None:
            return 404, {"error": "no such mailbox"}
        fields = {k: data[k] for k in ("password", "display_name", "groups") if k in data}
        if "ews_enabled" in data:
            value = data["ews_enabled"]
            if value not in (True, False, None):
                raise ValueError("ews_enabled must be true, false or null")
            fields["ews_enabled"] = None if value is None else int(value)
        sb.store.update_mailbox(parts[1], **fields)
        return 200, {"address": parts[1].lower()}
    if route == "seed" and data.get("address"):
        if sb.store.get_mailbox(data["address"]) is None:
            return 404, {"error": "no such mailbox"}
        return 200, {"seeded": seed_rows(sb.store, data["address"], int(data.get("items", 0)))}
    if route == "seed":
        return 200, {"mailboxes": sb.seed(int(data.get("mailboxes", 0)), int(data.get("items", 0)))}
    if route == "tokens":
        claims = sb.tokens.base_claims(data["client_id"], int(data.get("lifetime", 3600)))
        claims["roles"] = [APP_ROLE]
        claims.update(data.get("claims", {}))
        for name in data.get("drop", []):
            claims.pop(name, None)
        return 200, {
            "access_token": sb.tokens.sign(claims),
            "token_type": "Bearer",
            "expires_in": int(data.get("lifetime", 3600)),
        }
    return 404, {"error": f"no route {method} {path}"}
