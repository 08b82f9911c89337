"""Folder and item round trips through unmodified exchangelib against the sandbox."""

import datetime

import pytest
from exchangelib import (
    UTC,
    CalendarItem,
    EWSDateTime,
    ExtendedProperty,
    Mailbox,
    Message,
    OofSettings,
    Task,
)
from exchangelib.errors import ErrorFolderNotFound, ErrorItemNotFound
from exchangelib.folders import (
    ArchiveMsgFolderRoot,
    Calendar,
    Inbox,
    RecoverableItemsDeletions,
    Tasks,
)
from lxml import etree

from connectivity import ews

from .conftest import GET_INBOX, soap

MNS = "http://schemas.microsoft.com/exchange/services/2006/messages"


class SandboxFlag(ExtendedProperty):
    distinguished_property_set_id = "PublicStrings"
    property_name = "SandboxTestFlag"
    property_type = "String"


@pytest.fixture(scope="module", autouse=True)
def _register_extended_property():
    Message.register("sandbox_flag", SandboxFlag)
    yield
    Message.deregister("sandbox_flag")


def now():
    return EWSDateTime.now(UTC).replace(microsecond=0)


def test_version_detection_from_server_version_info(account):
    build = account.version.build
    assert (build.major_version, build.minor_version) == (15, 20)
    assert account.version.api_version == "Exchange2016"


def test_distinguished_folders_and_find_folder(account):
    root = account.root
    assert root.name == "root"
    names = {f.name for f in account.msg_folder_root.children}
    assert {"Inbox", "Calendar", "Tasks", "Sent Items", "Deleted Items", "Drafts"} <= names
    assert isinstance(account.inbox, Inbox)
    assert isinstance(account.calendar, Calendar)
    assert isinstance(account.tasks, Tasks)
    for folder in (account.sent, account.trash, account.drafts):
        assert folder.id and folder.parent_folder_id.id == account.msg_folder_root.id
    # GetFolder by FolderId
    inbox = account.inbox
    inbox.refresh()
    assert inbox.name == "Inbox" and inbox.total_count == 0
    # Deep FindFolder from root reaches the recoverable items subtree too
    assert "Deletions" in {f.name for f in account.root.walk()}


def test_unknown_distinguished_folder_is_folder_not_found(info, account):
    token = ews.fetch_token(
        info["token_url"], info["app_client_id"], info["app_client_secret"], ca_file=info["ca_file"]
    )["access_token"]
    body = GET_INBOX.replace('Id="inbox"', 'Id="archivemsgfolderroot"')
    resp = soap(info, token, body, impersonate=account.primary_smtp_address)
    assert resp.status_code == 200
    root = etree.fromstring(resp.content)
    [msg] = root.iter(f"{{{MNS}}}GetFolderResponseMessage")
    assert msg.get("ResponseClass") == "Error"
    assert msg.findtext(f"{{{MNS}}}ResponseCode") == "ErrorFolderNotFound"
    assert msg.findtext(f"{{{MNS}}}MessageText")
    with pytest.raises(ErrorFolderNotFound):
        account.root.get_default_folder(ArchiveMsgFolderRoot)


def test_message_round_trip_with_extended_property(account):
    msg = Message(
        account=account,
        folder=account.drafts,
        subject="Draft one",
        body="Hello",
        categories=["Red"],
        sandbox_flag="v1",
    )
    msg.save()
    assert msg.id and msg.changekey
    fetched = account.drafts.get(id=msg.id)
    assert (fetched.subject, fetched.body, fetched.sandbox_flag) == ("Draft one", "Hello", "v1")
    assert fetched.categories == ["Red"]

    old_changekey = msg.changekey
    msg.subject = "Draft one (edited)"
    msg.sandbox_flag = "v2"
    msg.categories = None
    msg.save(update_fields=["subject", "sandbox_flag", "categories"])
    assert msg.changekey != old_changekey
    fetched = account.drafts.get(id=msg.id)
    assert fetched.subject == "Draft one (edited)"
    assert fetched.sandbox_flag == "v2"
    assert fetched.categories is None


def test_send_and_save_delivers_to_recipient_inbox(account, account_for, new_mailbox):
    rcpt = new_mailbox()["address"]
    Message(
        account=account,
        subject="Status report",
        body="All green",
        to_recipients=[Mailbox(email_address=rcpt)],
    ).send_and_save()
    Message(
        account=account,
        subject="Send only",
        body="No copy",
        to_recipients=[Mailbox(email_address=rcpt)],
    ).send(save_copy=False)
    assert [m.subject for m in account.sent.all()] == ["Status report"]
    other = account_for(rcpt)
    received = {m.subject: m for m in other.inbox.all()}
    assert set(received) == {"Status report", "Send only"}
    assert received["Status report"].sender.email_address == account.primary_smtp_address
    assert received["Status report"].is_read is False


def test_send_existing_draft_moves_it_to_sent_items(account, account_for, new_mailbox):
    rcpt = new_mailbox()["address"]
    draft = Message(
        account=account,
        folder=account.drafts,
        subject="Later",
        to_recipients=[Mailbox(email_address=rcpt)],
    )
    draft.save()
    draft.send()  # SendItem
    assert account.drafts.all().count() == 0
    assert [m.subject for m in account.sent.all()] == ["Later"]
    assert [m.subject for m in account_for(rcpt).inbox.all()] == ["Later"]


def test_bulk_create_many_items_per_request(account):
    results = account.bulk_create(
        folder=account.inbox,
        items=[Message(account=account, subject=f"bulk {i}", body="x") for i in range(5)],
    )
    ids = [r.id for r in results]
    assert len(set(ids)) == 5
    assert sorted(m.subject for m in account.fetch(ids=results)) == [f"bulk {i}" for i in range(5)]


def test_calendar_item_and_task_round_trip(account):
    start = now() + datetime.timedelta(days=1)
    item = CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Design review",
        start=start,
        end=start + datetime.timedelta(hours=1),
        location="Room 1",
    )
    item.save()
    got = account.calendar.get(id=item.id)
    assert (got.subject, got.location) == ("Design review", "Room 1")
    assert got.start == start and got.end == start + datetime.timedelta(hours=1)
    in_view = account.calendar.view(
        start=start - datetime.timedelta(hours=1), end=start + datetime.timedelta(minutes=30)
    )
    assert [c.subject for c in in_view] == ["Design review"]
    assert (
        list(
            account.calendar.view(
                start=start + datetime.timedelta(hours=2), end=start + datetime.timedelta(hours=3)
            )
        )
        == []
    )

    task = Task(account=account, folder=account.tasks, subject="File report")
    task.save()
    assert [t.subject for t in account.tasks.all()] == ["File report"]


def test_delete_types(account):
    def make(subject):
        m = Message(account=account, folder=account.inbox, subject=subject)
        m.save()
        return m

    hard, soft, trash = make("hard"), make("soft"), make("trash")
    hard_id = hard.id
    hard.delete()
    soft.soft_delete()
    trash.move_to_trash()
    assert account.inbox.all().count() == 0
    assert [m.subject for m in account.trash.all()] == ["trash"]
    with pytest.raises(ErrorItemNotFound):
        account.inbox.get(id=hard_id)
    # A soft-deleted item stays recoverable, outside the visible folders; hard delete is gone.
    recoverable = account.root.get_default_folder(RecoverableItemsDeletions)
    assert [m.subject for m in recoverable.all()] == ["soft"]


def test_move_item_changes_folder_and_id(account):
    msg = Message(account=account, folder=account.inbox, subject="to move")
    msg.save()
    old_id = msg.id
    msg.move(account.trash)
    assert msg.id != old_id
    assert account.inbox.all().count() == 0
    assert account.trash.get(id=msg.id).subject == "to move"
    [stale] = list(account.fetch(ids=[(old_id, None)]))
    assert isinstance(stale, ErrorItemNotFound)


def test_find_item_restrictions(account, account_for, new_mailbox):
    sender = account_for(new_mailbox()["address"])
    t0 = now()
    base = [
        ("Quarterly numbers", "revenue up", ["Finance"]),
        ("Lunch", "pizza at noon", ["Social", "Food"]),
        ("quarterly PLAN", "roadmap", ["Plans"]),
    ]
    for subject, body, cats in base:
        Message(
            account=sender,
            subject=subject,
            body=body,
            categories=cats,
            to_recipients=[Mailbox(email_address=account.primary_smtp_address)],
        ).send()
    Message(account=account, folder=account.inbox, subject="Local note", body="self").save()
    inbox = account.inbox
    assert inbox.filter(subject__icontains="quarterly").count() == 2
    assert inbox.filter(subject__contains="quarterly").count() == 1
    assert inbox.filter(subject="Lunch").count() == 1
    assert inbox.filter(body__contains="pizza").count() == 1
    assert inbox.filter(sender=sender.primary_smtp_address).count() == 3
    assert inbox.filter(datetime_received__gt=t0 - datetime.timedelta(seconds=5)).count() == 4
    assert inbox.filter(datetime_received__gt=t0 + datetime.timedelta(hours=1)).count() == 0
    assert inbox.filter(categories__contains=["Food"]).count() == 1
    assert {
        m.subject
        for m in inbox.filter(subject__icontains="quarterly").exclude(
            categories__contains=["Finance"]
        )
    } == {"quarterly PLAN"}
    ordered = [m.subject for m in inbox.all().order_by("subject").only("subject")]
    assert ordered == sorted(ordered)


def test_get_item_unknown_id_is_item_not_found(account):
    msg = Message(account=account, folder=account.inbox, subject="gone soon")
    msg.save()
    item_id, changekey = msg.id, msg.changekey
    msg.delete()
    [result] = list(account.fetch(ids=[(item_id, changekey)]))
    assert isinstance(result, ErrorItemNotFound)


def test_bulk_create_500_calendar_items_in_chunks(account):
    start = now().replace(minute=0, second=0) + datetime.timedelta(days=2)
    items = [
        CalendarItem(
            account=account,
            subject=f"slot {i}",
            start=start + datetime.timedelta(hours=i),
            end=start + datetime.timedelta(hours=i, minutes=30),
        )
        for i in range(500)
    ]
    results = account.bulk_create(folder=account.calendar, items=items, chunk_size=100)
    assert len(results) == 500 and all(r.id for r in results)
    assert account.calendar.all().count() == 500
    window = account.calendar.view(start=start, end=start + datetime.timedelta(hours=10))
    assert sorted(c.subject for c in window) == sorted(f"slot {i}" for i in range(10))


def test_paging_past_1000_items(account, admin):
    admin.seed_mailbox(account.primary_smtp_address, 1050)
    qs = account.inbox.all().only("subject")
    qs.page_size = 200
    subjects = [m.subject for m in qs]
    assert len(subjects) == 1050
    assert len(set(subjects)) == 1050
    assert account.inbox.all().count() == 1050
    tail = [
        m.subject
        for m in account.inbox.all().order_by("-datetime_received").only("subject")[1040:1050]
    ]
    assert tail == [f"Seed message {i}" for i in range(1040, 1050)]


def test_resolve_names(info, admin, new_mailbox):
    mbx = new_mailbox("resolveme", display_name="Resolve Me Person")
    creds = ews.basic_credentials(mbx["address"], mbx["password"])
    acc = ews.build_account(mbx["address"], creds, ews_url=info["ews_url"], ca_file=info["ca_file"])
    acc.version  # noqa: B018 - protocol-level services need the version negotiated first
    [hit] = acc.protocol.resolve_names(["Resolve Me"])
    assert hit.email_address == mbx["address"]
    assert hit.name == "Resolve Me Person"
    [miss] = acc.protocol.resolve_names(["no-such-person-xyz"])
    assert miss.__class__.__name__ == "ErrorNameResolutionNoResults"


def test_oof_settings_round_trip(account):
    assert account.oof_settings.state == OofSettings.DISABLED
    start, end = now(), now() + datetime.timedelta(days=3)
    account.oof_settings = OofSettings(
        state=OofSettings.SCHEDULED,
        start=start,
        end=end,
        internal_reply="Back Monday",
        external_reply="Away",
        external_audience="Known",
    )
    oof = account.oof_settings
    assert (oof.state, oof.internal_reply, oof.external_reply) == (
        OofSettings.SCHEDULED,
        "Back Monday",
        "Away",
    )
    assert (oof.start, oof.end, oof.external_audience) == (start, end, "Known")


def test_free_busy_from_calendar_items(info, account, new_mailbox):
    me = new_mailbox()
    acc = ews.build_account(
        me["address"],
        ews.basic_credentials(me["address"], me["password"]),
        ews_url=info["ews_url"],
        ca_file=info["ca_file"],
    )
    day = now().replace(hour=0, minute=0, second=0) + datetime.timedelta(days=1)
    CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Busy block",
        start=day + datetime.timedelta(hours=9),
        end=day + datetime.timedelta(hours=10),
    ).save()
    CalendarItem(
        account=account,
        folder=account.calendar,
        subject="Maybe",
        start=day + datetime.timedelta(hours=11),
        end=day + datetime.timedelta(hours=12),
        legacy_free_busy_status="Tentative",
    ).save()
    acc.version  # noqa: B018
    [view] = acc.protocol.get_free_busy_info(
        accounts=[(account, "Required", False)],
        start=day,
        end=day + datetime.timedelta(hours=24),
        merged_free_busy_interval=60,
    )
    assert view.merged[8:13] == "02010"
    events = sorted(view.calendar_events, key=lambda e: e.start)
    assert [(e.start, e.busy_type) for e in events] == [
        (day + datetime.timedelta(hours=9), "Busy"),
        (day + datetime.timedelta(hours=11), "Tentative"),
    ]
    assert events[0].details.subject == "Busy block"
