"""Calendar-side operations: GetServerTimeZones and GetUserAvailability (free/busy)."""

from __future__ import annotations

from lxml import etree

from ..soap import (
    MNS,
    TNS,
    EWSError,
    m,
    operation_response,
    response_message,
    sub,
    t,
)
from .base import Base, Ctx


class CalendarOps(Base):
    def op_GetServerTimeZones(self, ctx: Ctx, req):
        from ..availability import all_time_zones, time_zone_definition

        zones = all_time_zones()

        resp, msgs = operation_response("GetServerTimeZones")
        ids = [el.text for el in req.iter(t("Id"))] or list(zones)
        unknown = [i for i in ids if i not in zones]
        if unknown:
            response_message(
                msgs,
                "GetServerTimeZones",
                EWSError(
                    "ErrorTimeZone", f"The time zone {unknown[0]!r} is not known to the sandbox."
                ),
            )
            return resp
        msg = response_message(msgs, "GetServerTimeZones")
        defs = sub(msg, m("TimeZoneDefinitions"))
        for tz_id in ids:
            time_zone_definition(defs, tz_id)
        return resp

    # --- availability -----------------------------------------------------------------------------
    def op_GetUserAvailability(self, ctx: Ctx, req):
        from ..availability import free_busy_view

        resp = etree.Element(m("GetUserAvailabilityResponse"), nsmap={"m": MNS, "t": TNS})
        array = sub(resp, m("FreeBusyResponseArray"))
        tz = req.find(t("TimeZone"))
        options = req.find(t("FreeBusyViewOptions"))
        for data in req.find(m("MailboxDataArray")):
            address = (data.findtext(f"{t('Email')}/{t('Address')}") or "").lower()
            fb = sub(array, m("FreeBusyResponse"))
            if self.store.get_mailbox(address) is None:
                response_message(
                    fb,
                    "",
                    EWSError("ErrorMailRecipientNotFound", "The mail recipient was not found."),
                    tag="ResponseMessage",
                )
                continue
            response_message(fb, "", tag="ResponseMessage")
            fb.append(free_busy_view(self.store, address, tz, options))
        return resp
