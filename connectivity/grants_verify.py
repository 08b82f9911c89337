"""Act as an application through EWS and see which mailboxes it really reaches.

The portal records what an application was granted; this module checks reality: with the
application's own app-only token it opens each sample mailbox through impersonation (what EWS
applications do) and asks for the Inbox. A mailbox inside the recorded scope must be reachable,
one outside it must be refused. Plain Python on exchangelib: no Django, no portal imports.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import requests
from exchangelib import Identity
from exchangelib.errors import EWSError

from connectivity.ews import (
    EXO_SCOPE,
    TokenError,
    basic_credentials,
    build_account,
    fetch_token,
    oauth_credentials,
)

VERIFIED, BROKEN, OVER_PRIVILEGED, UNKNOWN = "verified", "broken", "over-privileged", "unknown"
MAX_RESOLVED = 20


@dataclass
class Evidence:
    mailbox: str
    expected: str  # "in" (must be reachable) or "out" (must be refused)
    reached: bool
    detail: str  # the Exchange error when refused, else what was read

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class AccessReport:
    evidence: list[Evidence] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    token_error: str = ""

    def counts(self, expected: str) -> tuple[int, int]:
        rows = [e for e in self.evidence if e.expected == expected]
        return len(rows), sum(e.reached for e in rows)

    def outcome(self) -> str:
        """over-privileged beats broken: reaching outside the scope is the risk to show first."""
        if self.token_error:
            return BROKEN
        if any(e.reached for e in self.evidence if e.expected == "out"):
            return OVER_PRIVILEGED
        inside = [e for e in self.evidence if e.expected == "in"]
        if not inside or not all(e.reached for e in inside):
            return BROKEN if inside else UNKNOWN
        return VERIFIED


@dataclass(frozen=True)
class AppEndpoint:
    ews_url: str
    token_url: str
    client_id: str
    client_secret: str
    scope: str = EXO_SCOPE
    ca_file: str | None = None
    timeout: float = 10.0
    # Exchange Server: a service account that impersonates with its password (Basic) instead
    # of an app-only token.
    username: str = ""
    password: str = ""


_HTTP_FAILURE = re.compile(r"Code: (\d{3}) .*?content: (.*)", re.S)


def _error_text(exc: BaseException) -> str:
    """The Exchange error in short: its code, or the HTTP status and body (no headers)."""
    raw = str(exc).strip()
    http = _HTTP_FAILURE.search(raw)
    if http:
        body = http.group(2).strip().strip("b'\"")
        return f"HTTP {http.group(1)}: {body}"[:300]
    text = raw.splitlines()[0] if raw else ""
    name = type(exc).__name__
    return (f"{name}: {text}" if text and name not in text else text or name)[:300]


def _credentials(endpoint: AppEndpoint, token: dict | None, mailbox: str):
    if endpoint.username:
        return basic_credentials(endpoint.username, endpoint.password)
    creds = oauth_credentials(
        endpoint.token_url, endpoint.client_id, endpoint.client_secret, token=token,
        scope=endpoint.scope,
    )  # fmt: skip
    # ResolveNames is a protocol-level call: its impersonation header comes from here.
    creds.identity = Identity(primary_smtp_address=mailbox)
    return creds


def _open_inbox(endpoint: AppEndpoint, token: dict | None, mailbox: str):
    """(reached, detail, account): open ``mailbox`` as the application and count its Inbox."""
    creds = _credentials(endpoint, token, mailbox)
    try:
        account = build_account(
            mailbox, creds, ews_url=endpoint.ews_url, impersonation=True,
            ca_file=endpoint.ca_file, timeout=endpoint.timeout,
        )  # fmt: skip
        total = account.inbox.total_count
    except (EWSError, requests.RequestException, OSError) as exc:
        return False, _error_text(exc), None
    return True, f"Inbox read ({total} items)", account


def resolve_names(account, query: str) -> list[str]:
    """Addresses the application can resolve through EWS ResolveNames, acting as ``account``."""
    try:
        found = account.protocol.resolve_names([query])
    except (EWSError, requests.RequestException, OSError):
        return []  # resolving helps find samples; it is not part of the verdict
    addresses = []
    for hit in found:
        address = (getattr(hit, "email_address", "") or "").lower()
        if address and address not in addresses:
            addresses.append(address)
    return addresses[:MAX_RESOLVED]


def check_access(
    endpoint: AppEndpoint,
    in_scope: list[str],
    out_of_scope: list[str],
    *,
    resolve_query: str = "",
    out_of_scope_allowed=None,
) -> AccessReport:
    """Try every sample; with ``resolve_query`` also resolve more out-of-scope candidates.

    ``out_of_scope_allowed(address)`` says whether a resolved address is outside the recorded
    scope (so it joins the out-of-scope sample); without it resolved addresses are only listed.
    """
    report = AccessReport()
    token = None
    try:
        if not endpoint.username:
            token = fetch_token(
                endpoint.token_url, endpoint.client_id, endpoint.client_secret,
                scope=endpoint.scope, ca_file=endpoint.ca_file, timeout=endpoint.timeout,
            )  # fmt: skip
    except TokenError as exc:
        report.token_error = f"token refused: HTTP {exc.status} {exc.error}: {exc.description}"
    except (requests.RequestException, OSError) as exc:
        report.token_error = f"token endpoint unreachable: {_error_text(exc)}"
    if report.token_error:
        report.token_error = report.token_error[:300]
        report.evidence = [Evidence(m, "in", False, report.token_error) for m in in_scope]
        return report
    acting = None
    for mailbox in in_scope:
        reached, detail, account = _open_inbox(endpoint, token, mailbox)
        report.evidence.append(Evidence(mailbox, "in", reached, detail))
        acting = acting or account
    outside = list(dict.fromkeys(a.lower() for a in out_of_scope))
    if resolve_query and acting is not None:
        report.resolved = resolve_names(acting, resolve_query)
        if out_of_scope_allowed is not None:
            outside += [a for a in report.resolved if a not in outside and out_of_scope_allowed(a)]
    for mailbox in outside:
        reached, detail, _ = _open_inbox(endpoint, token, mailbox)
        report.evidence.append(Evidence(mailbox, "out", reached, detail))
    return report
