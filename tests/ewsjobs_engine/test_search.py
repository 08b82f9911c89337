"""Mailbox content search by each criterion, folder paths and paging."""

import datetime as dt

import pytest
from exchangelib import FileAttachment, Folder, Mailbox, Message

from connectivity.ewsjobs import Criteria, MailboxError, search


@pytest.fixture
def inbox(session, new_mailbox):
    """A mailbox whose Inbox holds four messages from two senders (one with an attachment)."""
    target, alice, bob = new_mailbox("target"), new_mailbox("alice"), new_mailbox("bob")

    def send(sender, subject, body, attachment=False):
        msg = Message(account=session.account(sender), subject=subject, body=body,
                      to_recipients=[Mailbox(email_address=target)])  # fmt: skip
        if attachment:
            msg.attach(FileAttachment(name="q4.xlsx", content=b"numbers"))
        msg.send()

    send(alice, "Quarterly budget", "Please review the budget for Q4.", attachment=True)
    send(alice, "Lunch on Friday", "Pizza or sushi?")
    send(bob, "Budget approval", "Approved, see the spreadsheet.")
    send(bob, "Holiday rota", "Who covers the 27th?")
    return target, alice, bob


def subjects(session, mailbox, **criteria):
    page, more = search(session, mailbox, Criteria.from_json(criteria), 0, 50)
    assert more is False
    return sorted(f.subject for f in page)


def test_each_criterion(session, inbox):
    target, alice, bob = inbox
    assert subjects(session, target, subject="BUDGET") == ["Budget approval", "Quarterly budget"]
    assert subjects(session, target, body="pizza") == ["Lunch on Friday"]
    assert subjects(session, target, sender=alice.upper()) == ["Lunch on Friday",
                                                               "Quarterly budget"]  # fmt: skip
    assert subjects(session, target, has_attachments=True) == ["Quarterly budget"]
    assert len(subjects(session, target, has_attachments=False)) == 3
    assert subjects(session, target, subject="budget", sender=bob) == ["Budget approval"]
    # Received dates: every message arrived now; the range is counted in whole days.
    today = dt.datetime.now(dt.UTC).date()
    day = dt.timedelta(days=1)
    assert len(subjects(session, target, received_from=str(today - day),
                        received_to=str(today + day))) == 4  # fmt: skip
    assert subjects(session, target, received_to=str(today - day)) == []
    assert subjects(session, target, received_from=str(today + day)) == []
    assert subjects(session, target) == sorted(["Quarterly budget", "Lunch on Friday",
                                                "Budget approval", "Holiday rota"])  # fmt: skip


def test_found_fields(session, inbox):
    target, alice, _ = inbox
    page, _ = search(session, target, Criteria.from_json({"subject": "quarterly"}), 0, 10)
    (found,) = page
    assert found.sender == alice and found.has_attachments is True
    assert found.folder == "inbox" and found.item_id and found.changekey
    assert found.received.tzinfo is not None and found.size > 0
    assert type(found).from_json(found.as_json()) == found


def test_folder_paths(session, inbox):
    target, *_ = inbox
    account = session.account(target)
    projects = Folder(parent=account.inbox, name="Projects")
    projects.save()
    top = Folder(parent=account.msg_folder_root, name="Archive 2026")
    top.save()
    budget = account.inbox.get(subject="Budget approval")
    budget.move(projects)
    account.inbox.get(subject="Holiday rota").move(top)
    assert subjects(session, target, folder="Inbox/projects") == ["Budget approval"]
    assert subjects(session, target, folder="inbox/Projects", subject="budget") == [
        "Budget approval"
    ]
    assert subjects(session, target, folder="Archive 2026") == ["Holiday rota"]
    assert subjects(session, target, folder="msgfolderroot/Archive 2026") == ["Holiday rota"]
    assert len(subjects(session, target, folder="inbox")) == 2
    assert subjects(session, target, folder="sentitems") == []
    with pytest.raises(MailboxError) as caught:
        search(session, target, Criteria.from_json({"folder": "inbox/Nowhere"}), 0, 10)
    assert caught.value.code == "ErrorFolderNotFound"
    assert "inbox/Nowhere" in caught.value.words and "What to do" in caught.value.words


def test_paging_newest_first(session, new_mailbox, admin):
    mailbox = new_mailbox()
    admin.seed_mailbox(mailbox, 30)
    criteria = Criteria.from_json({"subject": "seed message"})
    pages, offset, more = [], 0, True
    while more:
        page, more = search(session, mailbox, criteria, offset, 12)
        pages.append(page)
        offset += len(page)
    assert [len(p) for p in pages] == [12, 12, 6]
    found = [f for p in pages for f in p]
    assert len({f.item_id for f in found}) == 30
    received = [f.received for f in found]
    assert received == sorted(received, reverse=True)
    assert search(session, mailbox, criteria, 30, 12) == ([], False)


@pytest.mark.parametrize(
    ("criteria", "words"),
    [
        ({"subject": "a\r\nBcc: x@y"}, "one line"),
        ({"sender": "not an address"}, "not an e-mail address"),
        ({"received_from": "31/12/2026"}, "not a date"),
        ({"received_from": "2026-12-02", "received_to": "2026-12-01"}, "after the last day"),
        ({"has_attachments": "maybe"}, "has_attachments"),
        ({"folder": "inbox//x"}, "folder must be a path"),
        ({"colour": "red"}, "unknown search criteria"),
        ({"tz": "Mars/Base"}, "unknown time zone"),
        ({"subject": "x" * 300}, "longer than"),
    ],
)
def test_criteria_are_validated_with_words(criteria, words):
    with pytest.raises(ValueError, match=words):
        Criteria.from_json(criteria)


def test_criteria_round_trip():
    criteria = Criteria.from_json({"subject": "budget", "sender": "A@B.example",
                                   "received_from": "2026-12-01", "has_attachments": False,
                                   "folder": "/inbox/Projects/"})  # fmt: skip
    assert criteria.sender == "a@b.example" and criteria.folder == "inbox/Projects"
    assert Criteria.from_json(criteria.as_json()) == criteria


def test_a_page_is_one_request(session, inbox, admin):
    """One FindItem per page, From included (no GetItem, no folder lookups)."""
    target, alice, _ = inbox
    session.account(target)
    before = admin.state()["stats"]["ews_requests"]
    page, _ = search(session, target, Criteria.from_json({"sender": alice}), 0, 10)
    assert admin.state()["stats"]["ews_requests"] - before == 1
    assert {f.sender for f in page} == {alice} and len(page) == 2
