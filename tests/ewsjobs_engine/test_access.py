"""Acting as the application: scopes, sign-in failures, throttling and the per-thread Session."""

import datetime as dt
import threading
import time
import uuid

import pytest
from exchangelib.protocol import Protocol

from connectivity.ewsjobs import (
    AppAccess,
    Busy,
    EventSpec,
    MailboxError,
    Session,
    item_key,
    publish_events,
)

from .conftest import app_access

START = dt.datetime(2026, 12, 14, 9, tzinfo=dt.UTC)


def one_event(session, mailbox, job="job-access", index=0, check=True):
    spec = EventSpec(f"Event {index}", START, START + dt.timedelta(hours=1))
    return publish_events(session, mailbox, [spec], [item_key(job, mailbox, index)], [index],
                          check)  # fmt: skip


@pytest.fixture
def scoped_app(admin, info, new_mailbox):
    """An application whose scope is one mailbox, plus one mailbox outside it."""
    inside, outside = new_mailbox("in"), new_mailbox("out")
    app = admin.create_app(f"scoped-{uuid.uuid4().hex[:6]}", scope="list", targets=[inside])
    return app_access(info, app["client_id"], app["client_secret"]), inside, outside


def test_mailbox_outside_the_scope_is_a_mailbox_error(scoped_app):
    access, inside, outside = scoped_app
    with Session(access) as session:
        # First the refused mailbox: the Session is not spoiled for the next ones.
        with pytest.raises(MailboxError) as caught:
            one_event(session, outside)
        assert one_event(session, inside)[0].status == "created"
        with pytest.raises(MailboxError) as caught:
            one_event(session, outside)
        assert caught.value.code == "ErrorImpersonateUserDenied"
        assert outside in caught.value.words and "scope" in caught.value.words
        assert caught.value.transient is False
        # The Session goes on with the mailboxes it may reach.
        assert one_event(session, inside, index=1)[0].status == "created"


def test_unknown_mailbox_and_ews_disabled(session, admin, info, new_mailbox):
    ghost = f"ghost-{uuid.uuid4().hex[:6]}@{info['domain']}"
    with pytest.raises(MailboxError) as caught:
        one_event(session, ghost)
    assert caught.value.code == "ErrorNonExistentMailbox" and ghost in caught.value.words
    mailbox = new_mailbox()
    admin.update_mailbox(mailbox, ews_enabled=False)
    with pytest.raises(MailboxError) as caught:
        one_event(session, mailbox)
    assert caught.value.code == "http403"
    assert "EWS is disabled for this mailbox" in caught.value.words
    assert "EWSEnabled" in caught.value.words and "headers" not in caught.value.words


def test_refused_token_is_a_mailbox_error_with_words(info, new_mailbox):
    access = app_access(info, client_secret="wrong-secret")
    with Session(access) as session, pytest.raises(MailboxError) as caught:
        one_event(session, new_mailbox())
    assert caught.value.code == "token"
    assert "client id and secret" in caught.value.words and "HTTP 401" in caught.value.words


def test_basic_service_account_impersonates_within_its_grant(admin, info, new_mailbox):
    """Exchange Server: a service account signs in with its password and impersonates."""
    password = "Service-Pa55word"
    service = new_mailbox("svc", password=password)
    inside, outside = new_mailbox("in"), new_mailbox("out")
    admin.set_grant(service, "list", [inside])
    access = AppAccess(ews_url=info["ews_url"], username=service, password=password,
                       auth="basic", ca_file=info["ca_file"], timeout=20)  # fmt: skip
    with Session(access) as session:
        assert one_event(session, inside)[0].status == "created"
        assert one_event(session, inside)[0].status == "existed"
        with pytest.raises(MailboxError) as caught:
            one_event(session, outside)
        assert caught.value.code == "ErrorImpersonateUserDenied"
    assert "Service-Pa55word" not in repr(access)


def test_busy_over_the_concurrency_cap_carries_the_back_off(knobs, access, new_mailbox):
    """Three Sessions (three worker threads) against a cap of one request at a time: the ones
    refused get Busy with the sandbox's BackOffMilliseconds, wait it and complete."""
    mailboxes = [new_mailbox() for _ in range(3)]
    sessions = [Session(access) for _ in range(3)]
    for session, mailbox in zip(sessions, mailboxes, strict=True):
        session.account(mailbox).calendar  # noqa: B018 - sign-in and folder ids before the cap
    knobs.set_knobs(max_concurrency=1, latency_ms=400, backoff_ms=250)
    barrier = threading.Barrier(3)
    results = [None] * 3

    def worker(i):
        barrier.wait()
        try:
            results[i] = one_event(sessions[i], mailboxes[i], check=False)
        except Busy as busy:
            results[i] = busy

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    refused = [r for r in results if isinstance(r, Busy)]
    assert 1 <= len(refused) <= 2, results
    assert {b.back_off_s for b in refused} == {0.25}
    assert "ErrorServerBusy" in str(refused[0]) and "0.25 s" in str(refused[0])
    # The caller waits and sends the batch again (checking what exists): exactly one each.
    knobs.set_knobs(max_concurrency=0, latency_ms=0)
    for i, result in enumerate(results):
        if isinstance(result, Busy):
            assert one_event(sessions[i], mailboxes[i])[0].status == "created"
        assert sessions[i].account(mailboxes[i]).calendar.all().count() == 1
        sessions[i].close()


def test_each_session_has_its_own_protocol_and_close_releases_it(access, new_mailbox):
    mailbox = new_mailbox()
    first, second = Session(access), Session(access)
    a, b = first.account(mailbox), second.account(mailbox)
    assert a.protocol is not b.protocol
    assert first.account(mailbox.upper()) is a  # cached per mailbox
    a.calendar.all().count()
    # Every mailbox of a Session shares its one Protocol (one connection, one version check).
    others = [first.account(new_mailbox()) for _ in range(3)]
    assert all(o.protocol is a.protocol for o in others)
    first.close()
    with pytest.raises(KeyError):
        Protocol[a.protocol.config]
    assert b.calendar.all().count() == 0
    second.close()
    with pytest.raises(RuntimeError):
        first.account(mailbox)


def test_access_is_json_round_trip_and_checked(info):
    access = app_access(info)
    assert AppAccess.from_json(access.as_json()) == access
    assert access.client_secret not in repr(access)
    with pytest.raises(ValueError, match="auth must be"):
        AppAccess(ews_url=info["ews_url"], auth="kerberos")


def test_an_expiring_token_is_replaced(admin, access, new_mailbox):
    """A token within five minutes of its end is replaced before the next call (the one that
    exchangelib's open connection carries stays valid until it ends)."""
    mailbox = new_mailbox()
    lifetime = 302  # two seconds more than the margin
    short = admin.mint_token(access.client_id, lifetime=lifetime)
    with Session(access) as session:
        session._token = {"access_token": short, "token_type": "Bearer",
                          "expires_at": time.time() + lifetime}  # fmt: skip
        assert one_event(session, mailbox)[0].status == "created"
        assert session._token["access_token"] == short
        time.sleep(2.5)
        assert one_event(session, mailbox, index=1)[0].status == "created"
        assert session._token["access_token"] != short
        assert session._credentials.access_token["access_token"] == session._token["access_token"]
