"""Attachments through unmodified exchangelib: CreateAttachment, item reads with AttachmentId,
GetAttachment content, DeleteAttachment, and ids that follow copies."""

from exchangelib import FileAttachment, ItemAttachment, Message
from exchangelib.attachments import AttachmentId
from exchangelib.errors import ErrorInvalidIdMalformed
from exchangelib.services import GetAttachment


def test_file_attachment_round_trip(account):
    item = Message(account=account, folder=account.drafts, subject="with file")
    item.save()
    item.attach(FileAttachment(name="report.csv", content=b"a,b\n1,2\n"))
    fetched = account.drafts.get(id=item.id)
    assert fetched.has_attachments is True
    (att,) = fetched.attachments
    assert att.attachment_id.id and att.name == "report.csv"
    assert att.size == 8 and att.content_type == "text/csv" and att.is_inline is False
    assert att.content == b"a,b\n1,2\n"  # fetched with GetAttachment
    fetched.detach(att)
    again = account.drafts.get(id=item.id)
    assert again.attachments == [] and again.has_attachments is False


def test_item_attachment_round_trip(account):
    inner = Message(subject="forwarded inner", body="inner body")
    item = Message(account=account, folder=account.drafts, subject="with item")
    item.save()
    item.attach(ItemAttachment(name="inner", item=inner))
    (att,) = account.drafts.get(id=item.id).attachments
    assert isinstance(att, ItemAttachment) and att.item.subject == "forwarded inner"


def test_attachments_get_new_ids_when_the_item_is_copied(account):
    item = Message(account=account, folder=account.drafts, subject="copy me")
    item.save()
    item.attach(FileAttachment(name="a.txt", content=b"one"))
    item.copy(to_folder=account.inbox)
    copied = account.inbox.get(subject="copy me")
    original = account.drafts.get(id=item.id)
    assert copied.attachments[0].attachment_id.id != original.attachments[0].attachment_id.id
    assert copied.attachments[0].content == b"one"


def test_unknown_attachment_ids_are_errors(account):
    service = GetAttachment(account=account)
    options = {"include_mime_content": False, "body_type": None, "filter_html_content": None}
    options["additional_fields"] = None
    (result,) = service.call(items=[AttachmentId(id="not-an-id")], **options)
    assert isinstance(result, ErrorInvalidIdMalformed)


def test_has_attachments_restriction(account):
    plain = Message(account=account, folder=account.inbox, subject="plain")
    plain.save()
    with_file = Message(account=account, folder=account.inbox, subject="with file")
    with_file.save()
    with_file.attach(FileAttachment(name="x.pdf", content=b"%PDF"))
    assert [m.subject for m in account.inbox.filter(has_attachments=True)] == ["with file"]
    assert [m.subject for m in account.inbox.filter(has_attachments=False)] == ["plain"]
