"""Item operations as Exchange answers them, driven by unmodified exchangelib: boolean and
subject formats, FindItem restrictions (extended properties, __in, QueryString), deletes that
move, sending a draft, ChangeKey conflicts."""

import pytest
from exchangelib import ExtendedProperty, Message
from exchangelib.errors import ErrorIrresolvableConflict
from exchangelib.items import NEVER_OVERWRITE
from lxml import etree

from connectivity import ews

from .conftest import soap

TNS = "http://schemas.microsoft.com/exchange/services/2006/types"


class JobMarker(ExtendedProperty):
    distinguished_property_set_id = "PublicStrings"
    property_name = "PortalJobMarker"
    property_type = "String"


@pytest.fixture(scope="module", autouse=True)
def _register():
    Message.register("job_marker", JobMarker)
    yield
    Message.deregister("job_marker")


def _save(account, folder, **fields):
    item = Message(account=account, folder=folder, **fields)
    item.save()
    return item


def test_booleans_come_back_as_true_and_false(account):
    unread = _save(account, account.inbox, subject="unread", is_read=False)
    read = _save(account, account.inbox, subject="read", is_read=True)
    assert account.inbox.get(id=unread.id).is_read is False
    assert account.inbox.get(id=read.id).is_read is True
    assert {m.subject for m in account.inbox.filter(is_read=False)} == {"unread"}
    fetched = account.inbox.get(id=read.id)
    assert fetched.reminder_is_set is False and fetched.is_draft is True
    fetched.is_read = False
    fetched.save(update_fields=["is_read"])
    assert account.inbox.get(id=read.id).is_read is False


def test_subject_is_cut_to_255_characters(info, account):
    token = ews.fetch_token(
        info["token_url"], info["app_client_id"], info["app_client_secret"], ca_file=info["ca_file"]
    )["access_token"]
    body = (
        '<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Message>'
        f"<t:Subject>{'s' * 300}</t:Subject></t:Message></m:Items></m:CreateItem>"
    )
    resp = soap(info, token, body, impersonate=account.primary_smtp_address)
    assert resp.status_code == 200
    item_id = etree.fromstring(resp.content).find(f".//{{{TNS}}}ItemId").get("Id")
    assert account.drafts.get(id=item_id).subject == "s" * 255


def test_restriction_on_an_extended_property(account):
    _save(account, account.inbox, subject="marked", job_marker="job-42")
    _save(account, account.inbox, subject="other", job_marker="job-7")
    _save(account, account.inbox, subject="unmarked")
    assert [m.subject for m in account.inbox.filter(job_marker="job-42")] == ["marked"]
    assert {m.subject for m in account.inbox.filter(job_marker__in=["job-42", "job-7"])} == {
        "marked",
        "other",
    }
    assert {m.subject for m in account.inbox.filter(job_marker__exists=False)} == {"unmarked"}
    assert account.inbox.get(subject="marked").job_marker == "job-42"


def test_in_lookups_match(account):
    _save(account, account.inbox, subject="a", importance="High", categories=["Red"])
    _save(account, account.inbox, subject="b", importance="Low", categories=["Blue"])
    _save(account, account.inbox, subject="c", importance="Normal")
    assert {m.subject for m in account.inbox.filter(subject__in=["a", "c", "zz"])} == {"a", "c"}
    assert {m.subject for m in account.inbox.filter(importance__in=["High", "Low"])} == {"a", "b"}
    assert {m.subject for m in account.inbox.filter(categories__contains=["Blue"])} == {"b"}
    assert {m.subject for m in account.inbox.filter(is_read__in=[False])} == {"a", "b", "c"}
    assert not account.inbox.filter(is_read__in=[True]).exists()


def test_query_string_searches_like_aqs(account):
    _save(account, account.inbox, subject="Quarterly budget", body="numbers inside")
    _save(account, account.inbox, subject="Lunch", body="the budget is tight")
    _save(account, account.inbox, subject="Holiday plans", body="beach")
    assert {m.subject for m in account.inbox.filter("subject:budget")} == {"Quarterly budget"}
    assert {m.subject for m in account.inbox.filter("budget")} == {"Quarterly budget", "Lunch"}
    assert {m.subject for m in account.inbox.filter("beach OR numbers")} == {
        "Holiday plans",
        "Quarterly budget",
    }
    assert list(account.inbox.filter("udget")) == []  # word prefixes, not substrings


def test_move_to_deleted_items_and_soft_delete_move_the_item(account):
    trashed = _save(account, account.inbox, subject="to trash")
    trashed.move_to_trash()
    assert [m.subject for m in account.trash.all()] == ["to trash"]
    assert not account.inbox.filter(subject="to trash").exists()
    soft = _save(account, account.inbox, subject="soft")
    soft.soft_delete()
    assert not account.inbox.filter(subject="soft").exists()
    deletions = account.recoverable_items_deletions
    assert [m.subject for m in deletions.all()] == ["soft"]


def test_a_sent_draft_leaves_drafts_for_sent_items(account, new_mailbox):
    rcpt = new_mailbox()["address"]
    draft = _save(account, account.drafts, subject="draft to send", to_recipients=[rcpt])
    assert account.drafts.filter(subject="draft to send").exists()
    draft.send()
    assert not account.drafts.filter(subject="draft to send").exists()
    sent = account.sent.get(subject="draft to send")
    assert sent.is_draft is False


def test_a_stale_change_key_is_an_irresolvable_conflict(account):
    item = _save(account, account.inbox, subject="v1")
    stale = account.inbox.get(id=item.id)
    item.subject = "v2"
    item.save(update_fields=["subject"])
    stale.subject = "v3"
    with pytest.raises(ErrorIrresolvableConflict):
        stale.save(update_fields=["subject"], conflict_resolution=NEVER_OVERWRITE)
    assert account.inbox.get(id=item.id).subject == "v2"


def test_new_task_gets_exchange_defaults(account):
    from exchangelib import Task

    task = Task(account=account, folder=account.tasks, subject="file the report")
    task.save()
    got = account.tasks.get(id=task.id)
    assert (got.status, got.percent_complete, got.is_complete) == ("NotStarted", 0, False)


def test_content_rule_actions_categorize_and_flag(account, account_for, new_mailbox):
    import datetime

    from exchangelib import EWSDateTime
    from exchangelib.extended_properties import Flag

    sender = new_mailbox("sender")["address"]
    sender_account = account_for(sender)
    Message(account=sender_account, folder=sender_account.sent, subject="invoice 7",
            body="please pay", to_recipients=[account.primary_smtp_address]).send()  # fmt: skip
    now = EWSDateTime.now(account.default_timezone)
    hour = datetime.timedelta(hours=1)
    hits = account.inbox.filter(
        sender=sender, body__contains="pay", datetime_received__range=(now - hour, now + hour)
    )
    (msg,) = list(hits)
    Message.register("rule_flag", Flag)  # PR_FLAG_STATUS, 2 = flagged
    try:
        msg.categories = ["Finance"]
        msg.rule_flag = 2
        msg.save(update_fields=["categories", "rule_flag"])
        got = account.inbox.get(id=msg.id)
        assert got.categories == ["Finance"] and got.rule_flag == 2
        assert [m.subject for m in account.inbox.filter(rule_flag=2)] == ["invoice 7"]
    finally:
        Message.deregister("rule_flag")
    assert [m.subject for m in account.inbox.filter(categories__contains=["Finance"])] == [
        "invoice 7"
    ]


def test_auto_resolve_fails_only_when_the_same_property_changed(account):
    item = _save(account, account.inbox, subject="v1", importance="Normal")
    stale_a, stale_b = account.inbox.get(id=item.id), account.inbox.get(id=item.id)
    item.subject = "v2"
    item.save(update_fields=["subject"])
    stale_a.importance = "High"  # another property: AutoResolve merges it
    stale_a.save(update_fields=["importance"])
    merged = account.inbox.get(id=item.id)
    assert (merged.subject, merged.importance) == ("v2", "High")
    stale_b.subject = "v3"  # the property changed since stale_b's version: irresolvable
    with pytest.raises(ErrorIrresolvableConflict):
        stale_b.save(update_fields=["subject"])
    assert account.inbox.get(id=item.id).subject == "v2"
    stale_b.save(update_fields=["subject"], conflict_resolution="AlwaysOverwrite")
    assert account.inbox.get(id=item.id).subject == "v3"
