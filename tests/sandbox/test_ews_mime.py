"""MIME content and body types through unmodified exchangelib: a message's MimeContent, an item
created from MIME, and a body read back as text or HTML."""

import email
import email.policy

from exchangelib import HTMLBody, Message


def test_mime_content_of_a_message(account):
    Message(account=account, folder=account.drafts, subject="Über MIME",
            body=HTMLBody("<p>Hello <b>world</b></p>"),
            to_recipients=["rcpt@example.com"]).save()  # fmt: skip
    item = account.drafts.get(subject="Über MIME")
    parsed = email.message_from_bytes(item.mime_content, policy=email.policy.default)
    assert parsed["Subject"] == "Über MIME" and "rcpt@example.com" in parsed["To"]
    assert "<b>world</b>" in parsed.get_body(preferencelist=("html",)).get_content()
    assert "Hello world" in parsed.get_body(preferencelist=("plain",)).get_content()


def test_item_created_from_mime(account):
    raw = (
        b"From: Sender <sender@example.com>\r\nTo: someone@example.com\r\n"
        b"Subject: imported\r\nMessage-ID: <imp-1@example.com>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nimported body\r\n"
    )
    Message(account=account, folder=account.inbox, mime_content=raw).save()
    item = account.inbox.get(subject="imported")
    assert item.body.strip() == "imported body"
    assert item.sender.email_address == "sender@example.com"
    assert item.message_id == "<imp-1@example.com>"


def test_body_type_conversion(account):
    Message(account=account, folder=account.drafts, subject="html body",
            body=HTMLBody("<html><body><p>Line one</p><p>Line &amp; two</p></body></html>")
            ).save()  # fmt: skip
    as_text = account.drafts.filter(subject="html body").only("text_body")[0]
    assert as_text.text_body.split() == ["Line", "one", "Line", "&", "two"]


def test_get_item_body_type_text_and_html(info, account):
    from lxml import etree

    from connectivity import ews

    from .conftest import soap

    item = Message(account=account, folder=account.drafts, subject="convert",
                   body=HTMLBody("<p>A &amp; B</p><p>C</p>"))  # fmt: skip
    item.save()
    token = ews.fetch_token(
        info["token_url"], info["app_client_id"], info["app_client_secret"], ca_file=info["ca_file"]
    )["access_token"]
    tns = "{http://schemas.microsoft.com/exchange/services/2006/types}"
    for body_type, expected in (("Text", "A & B\nC"), ("HTML", "<p>A &amp; B</p><p>C</p>")):
        request = (
            "<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape>"
            f"<t:BodyType>{body_type}</t:BodyType></m:ItemShape>"
            f'<m:ItemIds><t:ItemId Id="{item.id}"/></m:ItemIds></m:GetItem>'
        )
        resp = soap(info, token, request, impersonate=account.primary_smtp_address)
        body = etree.fromstring(resp.content).find(f".//{tns}Body")
        assert body.get("BodyType") == body_type and body.text.strip() == expected


def test_a_folded_message_id_is_read_without_its_fold(account):
    """A long Message-ID header folded onto its own line keeps no leading space (Exchange's
    InternetMessageId is the id itself), so a message trace search for it matches."""
    message_id = "<" + "7" * 70 + "@probe.exchange-interop.invalid>"
    raw = (
        b"From: sender@example.com\r\nTo: someone@example.com\r\nSubject: folded id\r\n"
        b"Message-ID:\r\n " + message_id.encode() + b"\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n"
    )
    Message(account=account, folder=account.inbox, mime_content=raw).save()
    assert account.inbox.get(subject="folded id").message_id == message_id
