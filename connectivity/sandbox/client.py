"""Small Python client for the sandbox admin API (used by tests, benchmarks and the portal)."""

from __future__ import annotations

from typing import Any

import requests


class AdminError(RuntimeError):
    pass


class AdminClient:
    """``AdminClient(info["admin_url"], info["admin_token"], info["ca_file"])``."""

    def __init__(self, admin_url: str, admin_token: str, ca_file: str, timeout: float = 10.0):
        self.admin_url = admin_url.rstrip("/")
        self.ca_file = ca_file
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {admin_token}"

    @classmethod
    def from_info(cls, info: dict[str, Any], timeout: float = 10.0) -> AdminClient:
        return cls(info["admin_url"], info["admin_token"], info["ca_file"], timeout)

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        resp = self._session.request(
            method,
            f"{self.admin_url}{path}",
            json=payload,
            verify=self.ca_file,
            timeout=self.timeout,
        )
        if resp.status_code >= 400:
            raise AdminError(f"{method} {path}: HTTP {resp.status_code} {resp.text}")
        return resp.json()

    def state(self) -> dict[str, Any]:
        return self._call("GET", "/state")

    def set_knobs(self, **knobs: Any) -> dict[str, Any]:
        """latency_ms, max_concurrency (per app/account, 0 = off), failure_rate, backoff_ms."""
        return self._call("POST", "/knobs", knobs)

    def set_org(self, **settings: Any) -> dict[str, Any]:
        """ews_enabled (True/False/None) and/or ews_allowed_app_ids (list of client ids)."""
        return self._call("POST", "/org", settings)

    def create_app(
        self,
        name: str,
        scope: str = "none",
        targets: list[str] | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> dict:
        """Register an application; returns {client_id, client_secret, name}."""
        return self._call(
            "POST",
            "/apps",
            {
                "name": name,
                "scope": scope,
                "targets": targets or [],
                "client_id": client_id,
                "client_secret": client_secret,
            },
        )

    def set_app_certificate(self, client_id: str, pem: str | None) -> dict:
        """Register (or, with None, remove) the certificate an application may sign with."""
        return self._call("POST", f"/apps/{client_id}/certificate", {"pem": pem})

    def set_grant(self, principal: str, scope: str, targets: list[str] | None = None) -> dict:
        """Which mailboxes an app id (or service-account mailbox) may impersonate:
        scope "all", "list" (addresses), "group" (group names) or "none"."""
        return self._call(
            "POST", "/grants", {"principal": principal, "scope": scope, "targets": targets or []}
        )

    def create_mailbox(
        self,
        address: str,
        password: str | None = None,
        display_name: str | None = None,
        groups: list[str] | None = None,
    ) -> dict:
        """Returns {address, password}."""
        return self._call(
            "POST",
            "/mailboxes",
            {
                "address": address,
                "password": password,
                "display_name": display_name,
                "groups": groups or [],
            },
        )

    def update_mailbox(self, address: str, **fields: Any) -> dict:
        """password, display_name, groups, ews_enabled (True/False/None)."""
        return self._call("POST", f"/mailboxes/{address}", fields)

    def seed(self, mailboxes: int, items: int) -> list[dict[str, str]]:
        """Ensure user1..userN exist with at least `items` seeded Inbox messages each."""
        return self._call("POST", "/seed", {"mailboxes": mailboxes, "items": items})["mailboxes"]

    def seed_mailbox(self, address: str, items: int) -> int:
        """Add `items` synthetic messages to the Inbox of one mailbox."""
        return self._call("POST", "/seed", {"address": address, "items": items})["seeded"]

    def mint_token(
        self,
        client_id: str,
        lifetime: int = 3600,
        claims: dict | None = None,
        drop: list[str] | None = None,
    ) -> str:
        """A token signed by the sandbox key with arbitrary claims (negative tests)."""
        return self._call(
            "POST",
            "/tokens",
            {
                "client_id": client_id,
                "lifetime": lifetime,
                "claims": claims or {},
                "drop": drop or [],
            },
        )["access_token"]

    def close(self) -> None:
        self._session.close()
