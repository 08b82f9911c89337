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
    m,
    parse,
    t,
)
from . import schema
from .attachments import AttachmentOps
from .base import Base, Ctx
from .calendar import CalendarOps
from .directory import DirectoryOps
from .folders import FolderOps
from .items_read import ItemReadOps
from .items_write import ItemWriteOps
from .notifications import NotificationOps
from .people import PeopleOps
from .sync import SyncOps

log = logging.getLogger("connectivity.sandbox.ews")


class EWSService(
    FolderOps,
    ItemReadOps,
    ItemWriteOps,
    AttachmentOps,
    CalendarOps,
    SyncOps,
    PeopleOps,
    NotificationOps,
    DirectoryOps,
    Base,
):
    # --- entry point ---------------------------------------------------------------------------
    def handle(self, body: bytes, principal: Principal) -> tuple[int, bytes]:
        """Answer one EWS request: (HTTP status, SOAP envelope).

        Whatever arrives, the answer is an Exchange-shaped envelope: a response with response
        codes (HTTP 200) or a SOAP fault (HTTP 500, as SOAP 1.1 and Exchange send faults).
        """
        try:
            request, header = self._operation(body)
            ctx = self._context(principal, header)
        except EWSError as e:
            return 500, fault(e)
        refusal = ews_allowed(self.store, principal, ctx.acting)
        if refusal:
            raise AuthError(403, refusal)
        op = local(request).removesuffix("Request")
        handler = getattr(self, f"op_{op}", None)
        if handler is None or op not in schema.OPERATIONS:
            # Exchange's answer to an operation it does not offer.
            return 500, fault(
                EWSError("ErrorInvalidRequest", f"The request is invalid: {op} is not supported.")
            )
        try:
            schema.validate(op, request)
            response = handler(ctx, request)
            messages = response.find(m("ResponseMessages"))
            if messages is not None and len(messages) == 0:
                # Exchange's schema requires at least one id/item/folder in the request.
                raise EWSError("ErrorSchemaValidation", f"The request names nothing to {op}.")
            return 200, envelope(response)
        except EWSError as e:
            return 500, fault(e)
        except (TypeError, AttributeError, IndexError, KeyError, ValueError) as e:
            # A required element or attribute was missing or unusable: Exchange rejects such a
            # request with a schema validation fault before the operation runs.
            log.info("EWS %s refused as malformed: %s: %s", op, type(e).__name__, e)
            return 500, fault(EWSError("ErrorSchemaValidation"))
        except Exception:
            log.warning("EWS %s failed", op, exc_info=True)
            return 500, fault(EWSError("ErrorInternalServerError"))

    @staticmethod
    def _operation(body: bytes) -> tuple[etree._Element, etree._Element | None]:
        """The operation element and the SOAP header of a request, or ErrorSchemaValidation."""
        try:
            root = parse(body)
        except etree.XMLSyntaxError as e:
            raise EWSError("ErrorSchemaValidation", f"The request is not valid XML: {e}") from None
        if root.getroottree().docinfo.doctype:
            # Exchange refuses DTDs outright, which also rules out entity expansion attacks.
            raise EWSError("ErrorSchemaValidation", "DTD is prohibited in this XML document.")
        if root.tag != f"{{{SOAPNS}}}Envelope":
            raise EWSError("ErrorSchemaValidation", "The request is not a SOAP 1.1 envelope.")
        soap_body = root.find(f"{{{SOAPNS}}}Body")
        elements = [] if soap_body is None else [c for c in soap_body if isinstance(c.tag, str)]
        if len(elements) != 1:
            raise EWSError("ErrorSchemaValidation", "The SOAP body must hold one operation.")
        request = elements[0]
        if etree.QName(request).namespace != MNS:
            raise EWSError(
                "ErrorSchemaValidation",
                f"The element '{local(request)}' is not an EWS operation.",
            )
        return request, root.find(f"{{{SOAPNS}}}Header")

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
