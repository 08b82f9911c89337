"""Content-rule actions applied to found messages, verified in the mailbox."""

import pytest
from exchangelib import Folder

from connectivity.ewsjobs import Action, Criteria, MailboxError, apply_action, search
from connectivity.ewsjobs.props import FLAG_FIELD, FORWARDED_FIELD, ICON_FIELD


@pytest.fixture
def seeded(session, new_mailbox, admin):
    """A mailbox with 12 seeded Inbox messages, and the first five of them found."""
    mailbox = new_mailbox()
    admin.seed_mailbox(mailbox, 12)
    found, _ = search(session, mailbox, Criteria.from_json({"subject": "seed"}), 0, 5)
    return mailbox, found


def act(session, mailbox, found, **action):
    return apply_action(session, mailbox, found, Action.from_json(action))


def test_categorize_keeps_other_categories_and_is_idempotent(session, seeded):
    mailbox, found = seeded
    account = session.account(mailbox)
    first = account.inbox.get(id=found[0].item_id)
    first.categories = ["Existing"]
    first.save(update_fields=["categories"])
    out = act(session, mailbox, found[:3], kind="categorize", category="Legal hold")
    assert [(o.index, o.key, o.status) for o in out] == [
        (i, f.item_id, "done") for i, f in enumerate(found[:3])
    ]
    cats = {i.id: i.categories for i in account.inbox.filter(subject__contains="Seed")}
    assert cats[found[0].item_id] == ["Existing", "Legal hold"]
    assert cats[found[1].item_id] == cats[found[2].item_id] == ["Legal hold"]
    assert all(cats[f.item_id] is None for f in found[3:])
    again = act(session, mailbox, found[:3], kind="categorize", category="legal HOLD")
    assert {o.status for o in again} == {"existed"}


def test_flag_sets_the_follow_up_flag(session, seeded):
    mailbox, found = seeded
    out = act(session, mailbox, found[1:3], kind="flag")
    assert {o.status for o in out} == {"done"}
    inbox = session.account(mailbox).inbox
    flagged = inbox.filter(**{FLAG_FIELD: 2}).values_list("id", flat=True)
    assert sorted(flagged) == sorted(f.item_id for f in found[1:3])
    item = inbox.get(id=found[1].item_id)
    assert getattr(item, ICON_FIELD) == 6
    assert {o.status for o in act(session, mailbox, found[1:3], kind="flag")} == {"existed"}


def test_move_to_a_folder_path(session, seeded):
    mailbox, found = seeded
    account = session.account(mailbox)
    Folder(parent=account.inbox, name="Reviewed").save()
    out = act(session, mailbox, found[:4], kind="move", folder="inbox/Reviewed")
    assert {o.status for o in out} == {"done"}
    reviewed = {i.subject for i in (account.inbox / "Reviewed").all()}
    assert reviewed == {f.subject for f in found[:4]}
    assert account.inbox.all().count() == 8
    page, _ = search(session, mailbox, Criteria.from_json({"folder": "inbox/reviewed"}), 0, 10)
    assert {o.status for o in act(session, mailbox, page, kind="move",
                                  folder="inbox/Reviewed")} == {"existed"}  # fmt: skip
    with pytest.raises(MailboxError) as caught:
        act(session, mailbox, found[4:], kind="move", folder="inbox/Missing")
    assert caught.value.code == "ErrorFolderNotFound"


def test_delete_moves_to_deleted_items(session, seeded):
    mailbox, found = seeded
    out = act(session, mailbox, found[:2], kind="delete")
    assert {o.status for o in out} == {"done"}
    account = session.account(mailbox)
    assert {i.subject for i in account.trash.all()} == {f.subject for f in found[:2]}
    assert account.inbox.all().count() == 10


def test_forward_once_per_address(session, seeded, new_mailbox):
    mailbox, found = seeded
    reader = new_mailbox("reader")
    out = act(session, mailbox, found[:2], kind="forward", forward_to=reader)
    assert {o.status for o in out} == {"done"}
    received = session.account(reader).inbox.all()
    assert sorted(m.subject for m in received) == sorted(f"FW: {f.subject}" for f in found[:2])
    assert {m.author.email_address for m in received} == {mailbox}
    sent = session.account(mailbox).sent.all()
    assert sent.count() == 2
    original = session.account(mailbox).inbox.get(id=found[0].item_id)
    assert getattr(original, FORWARDED_FIELD) == [reader]
    # A rerun skips what was forwarded to this address and forwards only the new one.
    again = act(session, mailbox, found[:3], kind="forward", forward_to=reader)
    assert [o.status for o in again] == ["existed", "existed", "done"]
    assert session.account(reader).inbox.all().count() == 3


def test_per_item_errors_are_mapped(session, seeded):
    """A message deleted after it was found: that one fails with words, the others are done."""
    mailbox, found = seeded
    session.account(mailbox).inbox.get(id=found[1].item_id).delete()
    for action in ({"kind": "categorize", "category": "X"}, {"kind": "flag"},
                   {"kind": "delete"}):  # fmt: skip
        out = act(session, mailbox, found[:3], **action)
        assert [o.status for o in out] == ["done", "failed", "done"], action
        assert "no longer exists" in out[1].error and "What to do" in out[1].error


@pytest.mark.parametrize(
    ("action", "words"),
    [
        ({"kind": "explode"}, "must be one of"),
        ({"kind": "categorize"}, "category is missing"),
        ({"kind": "categorize", "category": "A\r\nB"}, "one name on one line"),
        ({"kind": "move"}, "folder to move messages to is missing"),
        ({"kind": "move", "folder": "inbox/\r\nx"}, "one line"),
        ({"kind": "forward"}, "forwarding address is missing"),
        ({"kind": "forward", "forward_to": "a@b.example\r\nBcc: c@d.example"}, "one line"),
        ({"kind": "forward", "forward_to": "Someone <a@b.example>"}, "not an e-mail address"),
    ],
)
def test_actions_are_validated_with_words(action, words):
    with pytest.raises(ValueError, match=words):
        Action.from_json(action)


def test_action_round_trip_and_words():
    action = Action.from_json({"kind": "forward", "forward_to": "Legal@Contoso.example"})
    assert action.forward_to == "legal@contoso.example"
    assert Action.from_json(action.as_json()) == action
    assert action.describe() == "forward to legal@contoso.example"


def test_requests_per_batch(session, seeded, new_mailbox, admin):
    """Each action costs one request per batch, two when it reads first (to report what was
    already done), three for forwards (read, send, record)."""
    mailbox, found = seeded
    reader = new_mailbox("reader")
    for action, expected in (({"kind": "categorize", "category": "A"}, 2), ({"kind": "flag"}, 2),
                             ({"kind": "forward", "forward_to": reader}, 3),
                             ({"kind": "delete"}, 1)):  # fmt: skip
        before = admin.state()["stats"]["ews_requests"]
        assert {o.status for o in act(session, mailbox, found, **action)} == {"done"}
        assert admin.state()["stats"]["ews_requests"] - before == expected, action
