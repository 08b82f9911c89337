"""EWS entry point: parse the SOAP request, resolve the mailbox it acts on
(ExchangeImpersonation header, grant table, EWS switches) and dispatch to one `op_<Operation>`
method of an operation family. Per-item errors become error response messages; request-level
errors become SOAP faults, as Exchange does."""

from __future__ import annotations

import logging

from lxml import etree

from ..auth import AuthError, Principal, ews_allowed, grant_covers
from ..soap import (
    MNS,
    SOAPNS,
    EWSError,
    envelope,
    fault,
    local,
    parse,
    t,
)
from .base import Base, Ctx
from .calendar import CalendarOps
from .directory import DirectoryOps
from .folders import FolderOps
from .items_read import ItemReadOps
from .items_write import ItemWriteOps

log = logging.getLogger("connectivity.sandbox.ews")


class EWSService(FolderOps, ItemReadOps, ItemWriteOps, CalendarOps, DirectoryOps, Base):
    # --- entry point ---------------------------------------------------------------------------
    def handle(self, body: bytes, principal: Principal) -> tuple[int, bytes]:
        try:
            root = parse(body)
            soap_body = root.find(f"{{{SOAPNS}}}Body")
            if soap_body is None or len(soap_body) == 0:
                raise EWSError("ErrorSchemaValidation", "The request has no SOAP body.")
            request = soap_body[0]
            if etree.QName(request).namespace != MNS:
                raise EWSError(
                    "ErrorSchemaValidation",
                    f"The element '{local(request)}' is not an EWS operation.",
                )
            header = root.find(f"{{{SOAPNS}}}Header")
            ctx = self._context(principal, header)
        except etree.XMLSyntaxError as e:
            return 500, fault(
                EWSError("ErrorSchemaValidation", f"The request is not valid XML: {e}")
            )
        except EWSError as e:
            return 500, fault(e)
        refusal = ews_allowed(self.store, principal, ctx.acting)
        if refusal:
            raise AuthError(403, refusal)
        op = local(request).removesuffix("Request")
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            return 500, fault(
                EWSError(
                    "ErrorSchemaValidation", f"The operation {op} is not supported by the sandbox."
                )
            )
        try:
            return 200, envelope(handler(ctx, request))
        except EWSError as e:
            return 500, fault(e)

    def _context(self, principal: Principal, header) -> Ctx:
        imp = header.find(t("ExchangeImpersonation")) if header is not None else None
        if imp is not None:
            sid = imp.find(t("ConnectingSID"))
            target = None
            if sid is not None and len(sid):
                target = (sid[0].text or "").strip().lower()
            if not target:
                raise EWSError(
                    "ErrorInvalidExchangeImpersonationHeaderData",
                    "The impersonation header does not name a user.",
                )
            if self.store.get_mailbox(target) is None:
                raise EWSError("ErrorNonExistentMailbox")
            if not grant_covers(self.store, principal.key, target):
                raise EWSError("ErrorImpersonateUserDenied")
            return Ctx(principal, target)
        if principal.kind == "app":
            raise EWSError("ErrorInvalidExchangeImpersonationHeaderData")
        return Ctx(principal, principal.user)
