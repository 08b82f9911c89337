"""MAPI over HTTP endpoints (/mapi/emsmdb/ and /mapi/nspi/) per MS-OXCMAPIHTTP, transport level.

The sandbox answers the envelope of the protocol (authentication, X-RequestType, session
context cookies, X-ResponseCode) so connectivity probes can exercise it; ROP payloads are not
interpreted: Connect/Bind return an empty success body.
"""

from __future__ import annotations

import email.utils
import secrets
import threading
import time

CONTENT_TYPE = "application/mapi-http"
SERVER_APPLICATION = "Exchange/15.20.8769.18"
# X-ResponseCode values (MS-OXCMAPIHTTP 2.2.3.3.3)
SUCCESS, INVALID_VERB, INVALID_PATH, INVALID_HEADER, INVALID_REQUEST_TYPE = 0, 2, 3, 4, 5
INVALID_CONTEXT_COOKIE, MISSING_HEADER, CONTEXT_NOT_FOUND, MISSING_COOKIE = 6, 7, 10, 13

REQUEST_TYPES = {
    "emsmdb": {"Connect", "Disconnect", "Execute", "NotificationWait", "PING"},
    "nspi": {
        "Bind",
        "Unbind",
        "PING",
        "GetMailboxUrl",
        "GetAddressBookUrl",
        "QueryRows",
        "ResolveNames",
        "GetProps",
    },
}
CONNECT = {"Connect", "Bind"}
DISCONNECT = {"Disconnect", "Unbind"}
COOKIE = {"emsmdb": "MapiContext", "nspi": "NspiContext"}


class MapiSessions:
    """Session contexts created by Connect/Bind, keyed by cookie value."""

    def __init__(self):
        self._lock = threading.Lock()
        self._contexts: dict[str, str] = {}

    def handle(self, endpoint: str, user: str, method: str, headers, cookies: dict[str, str]):
        """Return (http_status, response headers, body) for one authenticated request."""
        request_type = headers.get("X-RequestType", "")
        out = {
            "Content-Type": CONTENT_TYPE,
            "X-ServerApplication": SERVER_APPLICATION,
            "X-RequestType": request_type,
            "X-RequestId": headers.get("X-RequestId", ""),
            "X-ClientInfo": headers.get("X-ClientInfo", ""),
            "X-PendingPeriod": "15000",
            "X-ExpirationInfo": "900000",
        }

        def result(code: int, extra: dict[str, str] | None = None):
            out["X-ResponseCode"] = str(code)
            out.update(extra or {})
            meta = (
                f"PROCESSING\r\nDONE\r\nX-ResponseCode: {code}\r\nX-ElapsedTime: 0\r\n"
                f"X-StartTime: {email.utils.formatdate(time.time(), usegmt=True)}\r\n\r\n"
            )
            return 200, out, meta.encode()

        if method != "POST":
            return result(INVALID_VERB)
        if not request_type:
            return result(MISSING_HEADER)
        if request_type not in REQUEST_TYPES[endpoint]:
            return result(INVALID_REQUEST_TYPE)
        if request_type != "PING" and headers.get("Content-Type", "").split(";")[0] != CONTENT_TYPE:
            return result(INVALID_HEADER)
        if request_type == "PING":
            return result(SUCCESS)
        name = COOKIE[endpoint]
        if request_type in CONNECT:
            context = secrets.token_hex(16)
            with self._lock:
                self._contexts[context] = user
            return result(
                SUCCESS,
                {"Set-Cookie": f"{name}={context}; path=/mapi/{endpoint}; secure; HttpOnly"},
            )
        context = cookies.get(name)
        if not context:
            return result(MISSING_COOKIE)
        with self._lock:
            owner = self._contexts.get(context)
            if owner is None:
                return result(CONTEXT_NOT_FOUND)
            if owner != user:
                return result(INVALID_CONTEXT_COOKIE)
            if request_type in DISCONNECT:
                del self._contexts[context]
        return result(SUCCESS)
