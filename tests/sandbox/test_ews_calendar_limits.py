"""Calendar items Exchange refuses to save: end before start, longer than five years."""

import datetime as dt

import pytest
from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone
from exchangelib.errors import ErrorCalendarDurationIsTooLong
from lxml import etree

from connectivity import ews

from .conftest import soap

MNS = "http://schemas.microsoft.com/exchange/services/2006/messages"
UTC = EWSTimeZone("UTC")
START = EWSDateTime(2026, 12, 1, 9, tzinfo=UTC)


def test_event_longer_than_five_years_is_refused_per_item(account):
    ok = CalendarItem(account=account, folder=account.calendar, subject="Fine", start=START,
                      end=START + dt.timedelta(hours=1))  # fmt: skip
    ok.save()
    too_long = CalendarItem(account=account, folder=account.calendar, subject="Forever",
                            start=START, end=START + dt.timedelta(days=6 * 365))  # fmt: skip
    with pytest.raises(ErrorCalendarDurationIsTooLong):
        too_long.save()
    five_years = CalendarItem(account=account, folder=account.calendar, subject="Long",
                              start=START, end=START + dt.timedelta(days=5 * 365))  # fmt: skip
    five_years.save()
    assert sorted(account.calendar.all().values_list("subject", flat=True)) == ["Fine", "Long"]


def test_end_before_start_is_refused_per_item(info, new_mailbox):
    """exchangelib never sends such an item; other clients do, and Exchange answers per item."""
    address = new_mailbox()["address"]
    token = ews.fetch_token(info["token_url"], info["app_client_id"], info["app_client_secret"],
                            ca_file=info["ca_file"])["access_token"]  # fmt: skip
    item = ("<t:CalendarItem><t:Subject>{s}</t:Subject><t:Start>{a}</t:Start>"
            "<t:End>{b}</t:End></t:CalendarItem>")  # fmt: skip
    body = (
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>'
        '<t:DistinguishedFolderId Id="calendar"/></m:SavedItemFolderId><m:Items>'
        + item.format(s="Backwards", a="2026-12-01T10:00:00Z", b="2026-12-01T09:00:00Z")
        + item.format(s="Forwards", a="2026-12-01T09:00:00Z", b="2026-12-01T10:00:00Z")
        + "</m:Items></m:CreateItem>"
    )
    resp = soap(info, token, body, impersonate=address)
    assert resp.status_code == 200
    codes = [e.text for e in etree.fromstring(resp.content).iter(f"{{{MNS}}}ResponseCode")]
    assert codes == ["ErrorCalendarEndDateIsEarlierThanStartDate", "NoError"]
