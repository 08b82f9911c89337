"""Reply, reply-all and forward (CreateItem response objects) through unmodified exchangelib."""

from exchangelib import FileAttachment, Message


def _inbox_message(account_for, sender, recipients, **fields):
    sender_account = account_for(sender)
    Message(account=sender_account, folder=sender_account.sent, to_recipients=recipients[:1],
            cc_recipients=recipients[1:], **fields).send_and_save()  # fmt: skip


def test_reply_reply_all_and_forward(account_for, new_mailbox):
    alice, bob, carol, dave = (new_mailbox()["address"] for _ in range(4))
    _inbox_message(account_for, alice, [bob, carol], subject="Plan", body="the plan")
    bob_account = account_for(bob)
    original = bob_account.inbox.get(subject="Plan")

    original.reply(subject=None, body="ok for me")
    reply = account_for(alice).inbox.get(subject="RE: Plan")
    assert reply.body.startswith("ok for me") and "the plan" in reply.body
    assert [r.email_address for r in reply.to_recipients] == [
        bob
    ] or reply.sender.email_address == bob
    assert not account_for(carol).inbox.filter(subject="RE: Plan").exists()

    original.reply_all(subject=None, body="all good")
    assert account_for(carol).inbox.filter(subject="RE: Plan").exists()
    sent = bob_account.sent.filter(subject="RE: Plan")
    assert sent.count() == 2

    original.attach(FileAttachment(name="plan.txt", content=b"step 1"))
    original = bob_account.inbox.get(subject="Plan")
    original.forward(subject="FW: Plan", body="see below", to_recipients=[dave])
    forwarded = account_for(dave).inbox.get(subject="FW: Plan")
    assert forwarded.body.startswith("see below") and forwarded.has_attachments is True
    assert forwarded.attachments[0].content == b"step 1"
