"""Every failure reaches people as words with what to do, never a dict or a traceback."""

import dataclasses
import socket

import pytest
from exchangelib import errors as exerr

from connectivity.ewsjobs import Busy, MailboxError, Session, explain, is_transient
from connectivity.ewsjobs.errors import mailbox_error
from connectivity.i18n import Msg

from .test_access import one_event


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def failure(access, mailbox):
    with Session(access) as session, pytest.raises(Exception) as caught:  # noqa: PT011
        one_event(session, mailbox)
    return caught.value


def assert_words(text):
    assert isinstance(text, Msg), text  # translatable at render
    assert text and "{'" not in text and "Traceback" not in text and "headers" not in text


def test_unreachable_ews_and_token_endpoint(access, new_mailbox):
    mailbox = new_mailbox()
    port = closed_port()
    no_ews = dataclasses.replace(access, ews_url=f"https://127.0.0.1:{port}/EWS/Exchange.asmx")
    exc = failure(no_ews, mailbox)
    words = explain(exc)
    assert_words(words)
    assert "connection refused" in words and is_transient(exc)
    no_token = dataclasses.replace(access, token_url=f"https://127.0.0.1:{port}/t/oauth2/token")
    exc = failure(no_token, mailbox)
    assert "connection refused" in explain(exc) and is_transient(exc)


def test_untrusted_certificate(access, new_mailbox):
    # Another name for the sandbox, for which no CA bundle was registered (trust is per host).
    untrusted = dataclasses.replace(
        access, ca_file=None, ews_url=access.ews_url.replace("127.0.0.1", "localhost"),
        token_url=access.token_url.replace("127.0.0.1", "localhost"),
    )  # fmt: skip
    exc = failure(untrusted, new_mailbox())
    words = explain(exc)
    assert_words(words)
    assert "certificate is not trusted" in words


def test_ews_switched_off_for_the_organisation(admin, access, new_mailbox):
    admin.set_org(ews_enabled=False)
    try:
        exc = failure(access, new_mailbox())
    finally:
        admin.set_org(ews_enabled=None)
    assert isinstance(exc, MailboxError) and exc.code == "http403"
    assert_words(exc.words)
    assert "disabled for this organization" in exc.words and not is_transient(exc)


def test_words_for_exchange_codes():
    busy = exerr.ErrorServerBusy("The server cannot service this request right now.", back_off=2)
    assert "wait 2 s" in explain(busy) and is_transient(busy)
    assert Busy(None).back_off_s == 1.0 and Busy(0.25).back_off_s == 0.25
    gone = exerr.ErrorItemNotFound("The specified object was not found in the store.")
    assert "no longer exists" in explain(gone) and not is_transient(gone)
    odd = exerr.ErrorInvalidPropertyRequest("The property is not valid for this object type.")
    assert_words(explain(odd))
    assert "ErrorInvalidPropertyRequest" in explain(odd)
    assert "failed on its side" in explain(exerr.ErrorInternalServerError("x"))
    denied = mailbox_error(exerr.ErrorImpersonateUserDenied("no"), "a@b.example")
    assert denied.code == "ErrorImpersonateUserDenied" and "a@b.example" in denied.words
    moving = mailbox_error(exerr.ErrorMailboxMoveInProgress("moving"), "a@b.example")
    assert moving.transient and "retry this mailbox later" in moving.words
    assert mailbox_error(gone, "a@b.example") is None
    assert "unexpected error (KeyError)" in explain(KeyError("x"))
