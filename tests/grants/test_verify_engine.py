"""The engine acts as an application against the sandbox Exchange (unmodified exchangelib)."""

import uuid

import pytest

from connectivity.grants_verify import AppEndpoint, check_access


@pytest.fixture
def app(sandbox_exchange):
    admin = sandbox_exchange.admin_client()
    info = sandbox_exchange.info
    created = admin.create_app(f"engine-{uuid.uuid4().hex[:8]}")
    endpoint = AppEndpoint(ews_url=info["ews_url"], token_url=info["token_url"],
                           client_id=created["client_id"], client_secret=created["client_secret"],
                           ca_file=info["ca_file"], timeout=10)  # fmt: skip
    mailboxes = [m["address"] for m in info["mailboxes"]]
    yield admin, endpoint, mailboxes, info
    admin.set_org(ews_enabled=None, ews_allowed_app_ids=[])
    admin.close()


def test_verified_broken_overprivileged_and_ews_off(app):
    admin, endpoint, (first, second, third), info = app
    admin.set_grant(endpoint.client_id, "list", [first])
    report = check_access(endpoint, [first], [second])
    assert report.outcome() == "verified", report
    assert [(e.mailbox, e.reached) for e in report.evidence] == [(first, True), (second, False)]
    assert "ErrorImpersonateUserDenied" in report.evidence[1].detail

    admin.set_grant(endpoint.client_id, "all")
    report = check_access(endpoint, [first], [second])
    assert report.outcome() == "over-privileged"

    admin.set_grant(endpoint.client_id, "none")
    report = check_access(endpoint, [first], [second])
    assert report.outcome() == "broken"
    assert "ErrorImpersonateUserDenied" in report.evidence[0].detail

    admin.set_grant(endpoint.client_id, "list", [first])
    admin.set_org(ews_enabled=False)
    report = check_access(endpoint, [first], [])
    assert report.outcome() == "broken" and "EWSEnabled" in report.evidence[0].detail, report

    admin.set_org(ews_enabled=True, ews_allowed_app_ids=["someone-else"])
    report = check_access(endpoint, [first], [])
    assert report.outcome() == "broken" and "EWSAllowedAppIDs" in report.evidence[0].detail


def test_resolve_names_adds_out_of_scope_candidates(app):
    admin, endpoint, (first, second, third), info = app
    admin.set_grant(endpoint.client_id, "list", [first, second])
    report = check_access(endpoint, [first], [], resolve_query=info["domain"],
                          out_of_scope_allowed=lambda a: a not in (first, second))  # fmt: skip
    assert {first, second, third} <= set(report.resolved)
    outside = [e.mailbox for e in report.evidence if e.expected == "out"]
    assert third in outside and second not in outside
    assert report.outcome() == "verified"


def test_wrong_secret_is_broken_with_the_token_error(app):
    admin, endpoint, (first, *_), info = app
    bad = AppEndpoint(**{**endpoint.__dict__, "client_secret": "wrong"})
    report = check_access(bad, [first], [])
    assert report.outcome() == "broken" and "token refused: HTTP 401" in report.token_error
