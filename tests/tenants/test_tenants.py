import re

import pytest
import trustme
from django.core.management import call_command
from django.db import connection

from portal.audit.censor import CENSOR
from portal.audit.models import AuditEvent
from portal.tenants.forms import TenantForm
from portal.tenants.models import Tenant

pytestmark = pytest.mark.django_db

GUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
VALID = {
    "name": "Contoso",
    "kind": "online",
    "cloud": "worldwide",
    "directory_id": GUID,
    "accepted_domains_text": "contoso.com, contoso.onmicrosoft.com",
    "auth_method": "oauth_secret",
    "client_id": "11111111-2222-3333-4444-555555555555",
    "client_secret": "top-secret-value",
    "test_mailbox": "probe@contoso.com",
    "smtp_port": 587,
    "smtp_security": "starttls",
    "imap_port": 993,
    "pop_port": 995,
    "tls_verify": "on",
}


def _raw_column(tenant, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM tenants_tenant WHERE id = %s", [tenant.pk])
        return cursor.fetchone()[0]


def test_create_encrypts_the_secret_and_audits_without_it(reauthenticated_admin_client):
    response = reauthenticated_admin_client.post("/tenants/new/", VALID)
    tenant = Tenant.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/tenants/{tenant.pk}/"
    assert tenant.client_secret == "top-secret-value"
    raw = _raw_column(tenant, "client_secret")
    assert raw.startswith("enc1:") and "top-secret-value" not in raw
    assert tenant.accepted_domains == ["contoso.com", "contoso.onmicrosoft.com"]
    event = AuditEvent.objects.get(action="tenant.create")
    assert event.after["client_secret"] == CENSOR
    assert "top-secret-value" not in str(event.after)
    # The detail and edit pages never show the secret again.
    for url in (f"/tenants/{tenant.pk}/", f"/tenants/{tenant.pk}/edit/"):
        assert b"top-secret-value" not in reauthenticated_admin_client.get(url).content


def test_cloud_defaults_and_overrides():
    tenant = Tenant(name="x", cloud="gcc_high", directory_id=GUID)
    ep = tenant.endpoints()
    assert ep["ews_url"] == "https://outlook.office365.us/EWS/Exchange.asmx"
    assert ep["token_url"] == f"https://login.microsoftonline.us/{GUID}/oauth2/v2.0/token"
    assert ep["scope"] == "https://outlook.office365.us/.default"
    tenant.smtp_host = "relay.contoso.us"
    assert tenant.endpoints()["smtp_host"] == "relay.contoso.us"


@pytest.mark.parametrize(
    "change,field,message",
    [
        ({"directory_id": "common"}, "directory_id", "tenant id"),
        ({"smtp_host": "evil.com\r\nRCPT TO:<x@y>"}, "smtp_host", "not allowed"),
        ({"smtp_host": "bad host"}, "smtp_host", "not allowed"),
        ({"smtp_port": 70000}, "smtp_port", "1 to 65535"),
        ({"ews_url": "http://mail.contoso.com/EWS/Exchange.asmx"}, "ews_url", "https://"),
        ({"auth_method": "basic", "username": "svc", "password": "pw"}, "auth_method", "OAuth"),
        ({"client_secret": ""}, "client_secret", "Required"),
        ({"accepted_domains_text": "contoso..com"}, "accepted_domains_text", "not"),
        ({"ca_bundle": "not a certificate"}, "ca_bundle", "PEM"),
        ({"name": ""}, "name", "required"),
    ],
)
def test_bad_input_changes_nothing(reauthenticated_admin_client, change, field, message):
    response = reauthenticated_admin_client.post("/tenants/new/", {**VALID, **change})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message.lower() in " ".join(errors[field]).lower()
    assert not Tenant.objects.exists()
    assert not AuditEvent.objects.filter(action="tenant.create").exists()


def test_exchange_server_with_basic_auth_and_custom_ca(reauthenticated_admin_client):
    ca = trustme.CA()
    data = {
        **VALID, "name": "On-prem", "kind": "server", "directory_id": "", "auth_method": "basic",
        "client_secret": "", "username": "CONTOSO\\svc-portal", "password": "P@ssw0rd-x",
        "ews_url": "https://mail.contoso.local/EWS/Exchange.asmx",
        "ca_bundle": ca.cert_pem.bytes().decode(),
    }  # fmt: skip
    response = reauthenticated_admin_client.post("/tenants/new/", data)
    assert response.status_code == 302, response.context["form"].errors
    tenant = Tenant.objects.get(name="On-prem")
    assert tenant.password == "P@ssw0rd-x"
    assert tenant.endpoints()["ews_url"] == "https://mail.contoso.local/EWS/Exchange.asmx"


def test_edit_keeps_secret_when_left_blank_and_audits_a_replacement(reauthenticated_admin_client):
    reauthenticated_admin_client.post("/tenants/new/", VALID)
    tenant = Tenant.objects.get()
    url = f"/tenants/{tenant.pk}/edit/"
    response = reauthenticated_admin_client.post(
        url, {**VALID, "client_secret": "", "name": "Contoso Ltd"}
    )
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert (tenant.name, tenant.client_secret) == ("Contoso Ltd", "top-secret-value")
    update = AuditEvent.objects.get(action="tenant.update")
    assert update.before == {"name": "Contoso"} and update.after == {"name": "Contoso Ltd"}
    reauthenticated_admin_client.post(url, {**VALID, "client_secret": "rotated-secret-2"})
    tenant.refresh_from_db()
    assert tenant.client_secret == "rotated-secret-2"
    last = AuditEvent.objects.filter(action="tenant.update").first()
    assert "rotated-secret-2" not in str(last.after) and "client_secret" in last.after


def test_turning_tls_verification_off_is_audited_and_shown(
    reauthenticated_admin_client, viewer_client
):
    reauthenticated_admin_client.post("/tenants/new/", VALID)
    tenant = Tenant.objects.get()
    data = {k: v for k, v in VALID.items() if k != "tls_verify"}
    reauthenticated_admin_client.post(f"/tenants/{tenant.pk}/edit/", data)
    tenant.refresh_from_db()
    assert tenant.tls_verify is False
    assert AuditEvent.objects.filter(action="tenant.tls_verification_disabled").count() == 1
    page = viewer_client.get(f"/tenants/{tenant.pk}/")
    assert b"TLS certificate verification is turned off" in page.content


def test_delete_needs_the_name_typed(reauthenticated_admin_client):
    reauthenticated_admin_client.post("/tenants/new/", VALID)
    tenant = Tenant.objects.get()
    url = f"/tenants/{tenant.pk}/delete/"
    assert reauthenticated_admin_client.post(url, {"confirm_name": "contoso"}).status_code == 400
    assert Tenant.objects.exists()
    assert reauthenticated_admin_client.post(url, {"confirm_name": "Contoso"}).status_code == 302
    assert not Tenant.objects.exists()
    assert AuditEvent.objects.get(action="tenant.delete").before["name"] == "Contoso"


def test_roles(viewer_client, operator_client, reauthenticated_admin_client):
    assert viewer_client.get("/tenants/").status_code == 200
    assert viewer_client.get("/tenants/new/").status_code == 403
    assert operator_client.post("/tenants/new/", VALID).status_code == 403
    assert not Tenant.objects.exists()
    assert reauthenticated_admin_client.get("/tenants/999/").status_code == 404


def test_list_query_count_is_constant(viewer_client, django_assert_max_num_queries):
    for i in range(3):
        Tenant.objects.create(name=f"T{i}", directory_id=GUID)
    with django_assert_max_num_queries(25) as small:
        viewer_client.get("/tenants/")
    for i in range(3, 30):
        Tenant.objects.create(name=f"T{i}", directory_id=GUID)
    with django_assert_max_num_queries(len(small.captured_queries)):
        viewer_client.get("/tenants/")


def test_rotate_keys_reencrypts_with_the_newest_key(settings, reauthenticated_admin_client):
    reauthenticated_admin_client.post("/tenants/new/", VALID)
    tenant = Tenant.objects.get()
    old_raw = _raw_column(tenant, "client_secret")
    from cryptography.fernet import Fernet

    from portal.lib.crypto import _fernet_for

    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]
    call_command("rotate_keys")
    new_raw = _raw_column(tenant, "client_secret")
    assert new_raw != old_raw
    # Only the new key is needed now.
    assert _fernet_for((new_key,)).decrypt(new_raw[5:].encode()) == b"top-secret-value"
    rotated = AuditEvent.objects.get(action="keys.rotate").after["reencrypted"]
    assert rotated["tenants.tenant"] == 1
    # The Admin persona's TOTP secret moved to the new key too, and still verifies.
    from allauth.mfa.models import Authenticator

    assert rotated["mfa.authenticator"] >= 1
    totp = Authenticator.objects.get(type=Authenticator.Type.TOTP)
    assert _fernet_for((new_key,)).decrypt(totp.data["secret"][5:].encode())


def test_certificate_credentials_are_validated_and_encrypted(reauthenticated_admin_client):
    rsa_leaf = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert(
        "portal.contoso.com", key_type=trustme.KeyType.RSA
    )
    ec_leaf = trustme.CA().issue_cert("portal.contoso.com", key_type=trustme.KeyType.ECDSA)
    data = {**VALID, "auth_method": "oauth_cert", "client_secret": ""}
    bad = reauthenticated_admin_client.post(
        "/tenants/new/",
        {**data, "certificate_pem": ec_leaf.private_key_and_cert_chain_pem.bytes().decode()},
    )
    assert "must be RSA" in " ".join(bad.context["form"].errors["certificate_pem"])
    pem = rsa_leaf.private_key_and_cert_chain_pem.bytes().decode()
    assert (
        reauthenticated_admin_client.post(
            "/tenants/new/", {**data, "certificate_pem": pem}
        ).status_code
        == 302
    )
    tenant = Tenant.objects.get()
    assert tenant.certificate_pem == pem.strip()
    assert "PRIVATE KEY" not in _raw_column(tenant, "certificate_pem")
    assert (
        b"PRIVATE KEY"
        not in reauthenticated_admin_client.get(f"/tenants/{tenant.pk}/edit/").content
    )


def test_changing_a_tenant_needs_a_fresh_reauthentication(admin_client):
    response = admin_client.post("/tenants/new/", VALID)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert not Tenant.objects.exists()
    assert not AuditEvent.objects.filter(action="tenant.create").exists()


def test_the_form_shows_each_field_only_for_its_kind_and_authentication(
    reauthenticated_admin_client,
):
    html = reauthenticated_admin_client.get("/tenants/new/").content.decode()
    assert "data-dynamic-form" in html
    wrapper = r'<div class="field[^"]*" data-show-if="([^"]+)">\s*(?:<input[^>]*>\s*)?'
    found = re.findall(wrapper + r'<label for="id_(\w+)"', html)
    shown = {field: condition for condition, field in found}
    oauth = "auth_method=oauth_secret,oauth_cert"
    assert shown == {
        "cloud": "kind=online", "directory_id": "kind=online", "token_url": oauth,
        "client_id": oauth, "client_secret": "auth_method=oauth_secret",
        "certificate_pem": "auth_method=oauth_cert", "username": "auth_method=basic,ntlm",
        "password": "auth_method=basic,ntlm",
    }  # fmt: skip
    # Without the page's script every field still shows (none is rendered hidden).
    for name in TenantForm.Meta.fields + ["accepted_domains_text", "client_secret", "password"]:
        assert f'name="{name}"' in html, name
    assert not re.search(r'class="field[^"]*"[^>]* hidden', html)
    # Basic and NTLM are offered only for Exchange Server (Exchange Online refuses them).
    assert re.search(r'<option value="basic" data-show-if="kind=server"', html)
    assert re.search(r'<option value="ntlm" data-show-if="kind=server"', html)
    assert re.search(r'<option value="oauth_secret"(?! data-show-if)', html)


def test_the_server_still_decides_what_is_valid(reauthenticated_admin_client):
    # A browser without the script can still post Basic for Exchange Online: refused in words.
    data = {**VALID, "auth_method": "basic", "username": "svc", "password": "pw"}
    response = reauthenticated_admin_client.post("/tenants/new/", data)
    assert response.status_code == 200 and not Tenant.objects.exists()
    assert "accepts only OAuth" in " ".join(response.context["form"].errors["auth_method"])
