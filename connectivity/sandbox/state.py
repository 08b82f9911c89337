"""Sandbox state and request policy, independent of sockets: the store, the bootstrap tenant
(apps, seeded mailboxes), authentication of a request, throttling and the tuning knobs."""

from __future__ import annotations

import logging
import re
import secrets
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .auth import (
    EXO_RESOURCE_APP_ID,
    AuthError,
    Principal,
    TokenService,
    check_basic,
)
from .autodiscover import Autodiscover
from .certs import ensure_tls
from .ews import EWSService
from .items import seed_rows
from .mapi import MapiSessions
from .store import Store

log = logging.getLogger("connectivity.sandbox")

FULL_APP = "sandbox-full-access"
LIMITED_APP = "sandbox-limited"


@dataclass
class Knobs:
    latency_ms: int = 0
    max_concurrency: int = 0  # per application / account; 0 = unlimited
    failure_rate: float = 0.0
    backoff_ms: int = 500  # BackOffMilliseconds announced with ErrorServerBusy
    # IIS "Windows authentication" on the HTTP virtual directories: off, only Bearer and Basic
    # are offered (how a client meets an Exchange Server whose admin turned NTLM off).
    windows_auth: bool = True

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if key not in self.__dataclass_fields__:
                raise ValueError(f"unknown knob {key!r}")
            if isinstance(getattr(self, key), bool) and not isinstance(value, bool):
                raise ValueError(f"{key} must be true or false")  # bool("false") would be True
            setattr(self, key, type(getattr(self, key))(value))
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")


class Sandbox:
    """State and request logic, independent of sockets."""

    def __init__(self, data_dir: Path, knobs: Knobs, domain: str = "sandbox.test"):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.data_dir / "sandbox.sqlite3")
        self.domain = self.store.get_meta("domain") or domain
        self.tls = ensure_tls(self.data_dir, self.domain)
        self.knobs = knobs
        self.base_url = ""  # set once listening
        self.stats = {"ews_requests": 0, "throttled": 0, "injected_failures": 0, "auth_failures": 0,
                      "basic_logons": 0, "ntlm_logons": 0}  # fmt: skip
        self._stats_lock = threading.Lock()
        self._inflight: dict[str, int] = {}
        self._bootstrap_tenant()
        self.tokens = TokenService(self.store, self.tls.signing_key_file, self.tenant_id, "")
        self.ews = EWSService(self.store)
        self.mapi = MapiSessions()
        self.autodiscover: Autodiscover | None = None

    # --- bootstrap (idempotent) -----------------------------------------------------------------
    def _bootstrap_tenant(self) -> None:
        if self.store.get_meta("tenant_id") is None:
            self.store.set_meta("tenant_id", str(uuid.uuid4()))
            self.store.set_meta("domain", self.domain)
            self.store.set_meta("admin_token", secrets.token_urlsafe(24))
        self.tenant_id = self.store.get_meta("tenant_id")
        self.admin_token = self.store.get_meta("admin_token")
        for name, scope in ((FULL_APP, "all"), (LIMITED_APP, "none")):
            if self.store.find_app_by_name(name) is None:
                self.create_app(name, grant_scope=scope)

    def create_app(
        self,
        name: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        grant_scope: str = "none",
        targets=(),
    ) -> dict[str, str]:
        client_id = client_id or str(uuid.uuid4())
        client_secret = client_secret or secrets.token_urlsafe(24)
        self.store.create_app(client_id, client_secret, name)
        self.store.set_grant(client_id, grant_scope, targets)
        return {"client_id": client_id, "client_secret": client_secret, "name": name}

    def create_mailbox(
        self, address: str, password: str | None = None, display_name: str | None = None, groups=()
    ) -> dict[str, str]:
        password = password or secrets.token_urlsafe(12)
        self.store.create_mailbox(address, password, display_name, list(groups))
        return {"address": address.lower(), "password": password}

    def seed(self, mailboxes: int, items: int) -> list[dict[str, str]]:
        """Ensure user1..userN exist and each holds at least `items` seeded Inbox messages."""
        for i in range(1, mailboxes + 1):
            address = f"user{i}@{self.domain}"
            if self.store.get_mailbox(address) is None:
                self.create_mailbox(address, display_name=f"Sandbox User {i}")
            inbox = self.store.distinguished_folder(address, "inbox")
            have = sum(
                1
                for r in self.store.folder_items(inbox["id"])
                if (r["subject"] or "").startswith("Seed message ")
            )
            if items > have:
                seed_rows(self.store, address, items - have, start_index=have)
        return self.seeded_mailboxes(mailboxes)

    def seeded_mailboxes(self, count: int | None = None) -> list[dict[str, str]]:
        rows = [
            r
            for r in self.store.list_mailboxes()
            if re.fullmatch(rf"user\d+@{re.escape(self.domain)}", r["address"])
        ]
        rows.sort(key=lambda r: int(r["address"][4:].split("@")[0]))
        if count is not None:
            rows = rows[:count]
        return [{"address": r["address"], "password": r["password"]} for r in rows]

    # --- request plumbing -----------------------------------------------------------------------
    def count(self, key: str) -> None:
        with self._stats_lock:
            self.stats[key] += 1

    def authenticate(self, headers) -> Principal:
        value = headers.get("Authorization", "")
        scheme, _, credentials = value.partition(" ")
        if scheme.lower() == "bearer" and credentials:
            return self.tokens.validate(credentials.strip())
        if scheme.lower() == "basic" and credentials:
            principal = check_basic(self.store, credentials)
            self.count("basic_logons")  # lets tests tell which scheme a client really used
            return principal
        raise AuthError(401, "No credentials were supplied.", error="")

    def acquire(self, key: str) -> bool:
        limit = self.knobs.max_concurrency
        with self._stats_lock:
            if limit and self._inflight.get(key, 0) >= limit:
                self.stats["throttled"] += 1
                return False
            self._inflight[key] = self._inflight.get(key, 0) + 1
            return True

    def release(self, key: str) -> None:
        with self._stats_lock:
            self._inflight[key] -= 1

    def unauthorized_headers(self, err: AuthError) -> list[tuple[str, str]]:
        bearer = (
            f'Bearer client_id="{EXO_RESOURCE_APP_ID}", '
            f'trusted_issuers="00000001-0000-0000-c000-000000000000@{self.tenant_id}", '
            'token_types="app_asserted_user_v1 service_asserted_app_v1", '
            f'authorization_uri="{self.base_url}/{self.tenant_id}/oauth2/authorize"'
        )
        if err.error:
            bearer += f', error="{err.error}"'
        headers = [
            ("WWW-Authenticate", bearer),
            ("WWW-Authenticate", 'Basic Realm=""'),
        ]
        if self.knobs.windows_auth:
            headers.append(("WWW-Authenticate", "NTLM"))  # Exchange Server's IIS offers NTLM
        if err.error:
            headers.append(
                ("x-ms-diagnostics", f'2000001;reason="{err.reason}";error_category="{err.error}"')
            )
        return headers
