"""Health checks against real peers: the sandbox Exchange (EWS through unmodified exchangelib),
loopback TLS servers with valid, expired and wrong-name certificates, and a SharePoint OAuth
metadata endpoint served over HTTPS on loopback (JSON, an HTML page, malformed JSON)."""

import pytest
from probe_certs import DAY, NOW
from probe_servers import tls_server

from connectivity.probes.sharepoint import METADATA_PATH
from portal.integrations import checks
from portal.integrations.models import Status

from .conftest import METADATA, https_server, make_integration

pytestmark = pytest.mark.django_db


def test_ews_calendar_reads_oof_and_availability_from_the_sandbox(sandbox_tenant):
    integration = make_integration(sandbox_tenant, features=["ews_calendar"])
    versions = []
    outcome = checks.check(integration, "ews_calendar", on_version=lambda *v: versions.append(v))
    assert outcome.status == Status.GREEN, outcome
    names = [s["name"] for s in outcome.steps]
    assert "GetUserOofSettings" in names and "GetUserAvailability" in names
    oof = next(s for s in outcome.steps if s["name"] == "GetUserOofSettings")
    assert "automatic replies are" in oof["detail"]
    # The sandbox answers with ServerVersionInfo 15.20.x, as Exchange Online does.
    assert versions and versions[0][:2] == (15, 20)


def test_ews_calendar_for_an_unknown_mailbox_names_the_step_and_what_to_do(sandbox_tenant):
    integration = make_integration(
        sandbox_tenant,
        features=["ews_calendar"],
        test_mailbox="nobody@" + sandbox_tenant.primary_domain,
    )
    outcome = checks.check(integration, "ews_calendar")
    assert outcome.status == Status.RED
    assert outcome.step == "GetUserOofSettings"
    assert outcome.hint


def test_ews_calendar_with_a_refused_secret_fails_at_the_token(sandbox_tenant):
    sandbox_tenant.client_secret = "wrong-secret"
    sandbox_tenant.save()
    outcome = checks.check(make_integration(sandbox_tenant, features=["ews_calendar"]),
                           "ews_calendar")  # fmt: skip
    assert outcome.status == Status.RED
    assert outcome.step == "Get OAuth token"
    assert "wrong-secret" not in outcome.detail + outcome.hint


def test_site_mailbox_is_reached_through_ews(sandbox_exchange, sandbox_tenant):
    site = sandbox_exchange.info["mailboxes"][1]["address"]
    integration = make_integration(sandbox_tenant, name="Farm", product="sharepoint_2019",
                                   features=["site_mailboxes"], site_mailbox=site)  # fmt: skip
    outcome = checks.check(integration, "site_mailboxes")
    assert outcome.status == Status.GREEN, outcome
    assert site in outcome.detail


def test_site_mailboxes_in_sharepoint_online_are_retired(sandbox_tenant):
    integration = make_integration(sandbox_tenant, name="SPO", product="sharepoint_online",
                                   features=["site_mailboxes"])  # fmt: skip
    outcome = checks.check(integration, "site_mailboxes")
    assert outcome.status == Status.RETIRED
    assert "April 2021" in outcome.detail and "Microsoft 365 Groups" in outcome.hint


def test_voicemail_is_retired_with_its_replacement(lab_tenant):
    outcome = checks.check(make_integration(lab_tenant, features=["voicemail"]), "voicemail")
    assert outcome.status == Status.RETIRED
    assert "2020-02-28" in outcome.detail and "Cloud Voicemail" in outcome.hint


def _pool_check(pki, lab_tenant, ctx, name="localhost"):
    with tls_server(ctx) as port:
        integration = make_integration(lab_tenant, pool_fqdn=name, pool_port=port)
        return checks.check(integration, "im_presence")


def test_pool_with_a_valid_certificate_is_green(pki, lab_tenant):
    outcome = _pool_check(pki, lab_tenant, pki.context("localhost"))
    assert outcome.status == Status.GREEN, outcome


def test_pool_with_an_expired_certificate_is_red_at_validity(pki, lab_tenant):
    ctx = pki.context("localhost", not_before=NOW - 90 * DAY, not_after=NOW - 2 * DAY)
    outcome = _pool_check(pki, lab_tenant, ctx)
    assert outcome.status == Status.RED
    assert outcome.step == "Certificate validity" and "expired" in outcome.detail
    assert outcome.hint


def test_pool_with_a_wrong_name_certificate_is_red_at_the_name(pki, lab_tenant):
    outcome = _pool_check(pki, lab_tenant, pki.context("pool.elsewhere.test"))
    assert outcome.status == Status.RED
    assert outcome.step == "Certificate name" and outcome.hint


def test_pool_without_fqdn_says_which_setting_is_missing(lab_tenant):
    outcome = checks.check(make_integration(lab_tenant, pool_fqdn=""), "im_presence")
    assert outcome.status == Status.RED
    assert outcome.step == "Integration settings" and "pool FQDN" in outcome.detail


def _sharepoint(pki, lab_tenant, body, content_type="application/json", status=200):
    with https_server(pki.context("localhost"), body, content_type, status) as (port, paths):
        integration = make_integration(
            lab_tenant,
            name="Farm",
            product="sharepoint_2016",
            features=["s2s_oauth"],
            web_app_url=f"https://localhost:{port}/sites/x",
        )
        return checks.check(integration, "s2s_oauth"), paths


def test_sharepoint_metadata_is_read_for_realm_and_issuer(pki, lab_tenant):
    outcome, paths = _sharepoint(pki, lab_tenant, METADATA)
    assert paths == [METADATA_PATH]
    assert outcome.status == Status.GREEN, outcome
    assert "realm 3f4b1c2d-1111-4a5b-9c8d-0123456789ab" in outcome.detail
    assert "issuer 00000003-0000-0ff1-ce00-000000000000@3f4b1c2d" in outcome.detail


def test_sharepoint_answering_html_is_red_with_what_to_do(pki, lab_tenant):
    outcome, _ = _sharepoint(pki, lab_tenant, b"<!DOCTYPE html><html><body>Sign in</body></html>",
                             "text/html")  # fmt: skip
    assert outcome.status == Status.RED
    assert outcome.step == "Read realm and issuer"
    assert "HTML" in outcome.detail and "anonymously" in outcome.hint


def test_sharepoint_malformed_json_is_red(pki, lab_tenant):
    outcome, _ = _sharepoint(pki, lab_tenant, b'{"realm": "abc", ')
    assert outcome.status == Status.RED
    assert "not valid JSON" in outcome.detail


def test_sharepoint_without_realm_points_at_the_realm_cmdlet(pki, lab_tenant):
    outcome, _ = _sharepoint(pki, lab_tenant, b'{"serviceName": "x", "keys": []}')
    assert outcome.status == Status.RED
    assert "Set-SPAuthenticationRealm" in outcome.hint


def test_sharepoint_http_error_is_red_at_fetch(pki, lab_tenant):
    outcome, _ = _sharepoint(pki, lab_tenant, b"denied", "text/plain", status=401)
    assert outcome.status == Status.RED
    assert outcome.step == "Fetch OAuth metadata" and "401" in outcome.detail


def test_sharepoint_with_an_expired_certificate_stops_before_fetching(pki, lab_tenant):
    ctx = pki.context("localhost", not_before=NOW - 90 * DAY, not_after=NOW - 2 * DAY)
    with https_server(ctx, METADATA) as (port, paths):
        integration = make_integration(
            lab_tenant,
            name="Farm",
            product="sharepoint_2016",
            features=["s2s_oauth"],
            web_app_url=f"https://localhost:{port}/",
        )
        outcome = checks.check(integration, "s2s_oauth")
    assert outcome.status == Status.RED
    assert outcome.step == "Certificate validity"
