"""The Admin page: download, upload → plan → confirm (reauthenticated) → apply."""

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.audit.models import AuditEvent
from portal.configuration.views import PENDING
from portal.tenants.models import Tenant
from tests.configuration.helpers import CONTOSO, FABRIKAM, SCHEDULES, apply, doc, tenant

pytestmark = pytest.mark.django_db


def _upload(client, data: bytes, **extra):
    file = SimpleUploadedFile("portal.yaml", data, content_type="application/yaml")
    return client.post("/configuration/", {"document": file, **extra})


@pytest.mark.parametrize("persona", ["operator_client", "viewer_client"])
def test_viewer_and_operator_cannot_reach_it(request, persona, secrets_env):
    client = request.getfixturevalue(persona)
    for url in ("/configuration/", "/configuration/export.yaml"):
        assert client.get(url).status_code == 403
    assert _upload(client, doc(CONTOSO)).status_code == 403
    assert client.post("/configuration/apply/", {"sha256": "0" * 64}).status_code == 403
    assert b"/configuration/" not in client.get("/").content  # no nav entry
    assert not Tenant.objects.exists()
    assert AuditEvent.objects.filter(action="access.denied").count() == 4


def test_anonymous_is_sent_to_sign_in(anon_client):
    response = anon_client.get("/configuration/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_admin_downloads_the_export(admin_client, secrets_env):
    apply(doc(CONTOSO, FABRIKAM, schedules=SCHEDULES))
    page = admin_client.get("/configuration/")
    assert page.status_code == 200 and b'href="/configuration/export.yaml"' in page.content
    assert b'href="/configuration/"' in admin_client.get("/").content  # the nav entry
    response = admin_client.get("/configuration/export.yaml")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    data = yaml.safe_load(response.content)
    assert [t["name"] for t in data["tenants"]] == ["Contoso", "Fabrikam"]
    assert b"contoso-secret-value-1" not in response.content
    assert admin_client.post("/configuration/export.yaml").status_code == 405


def test_upload_plan_confirm_with_reauthentication_apply(admin_client, secrets_env):
    apply(doc(CONTOSO))
    data = doc(CONTOSO.replace("probe@", "mailbox@"), FABRIKAM, schedules=SCHEDULES)
    page = _upload(admin_client, data)
    assert page.status_code == 200
    changes = [(i.action, i.name, i.fields) for i in page.context["changes"]]
    assert changes == [
        ("update", "Contoso", ["test_mailbox"]),
        ("create", "Fabrikam", []),
        ("create", "Contoso · smtp", []),
        ("create", "Fabrikam · ews", []),
    ]
    assert b"Apply these changes" in page.content
    assert Tenant.objects.get().test_mailbox == "probe@contoso.com"  # nothing yet
    sha = page.context["plan"].sha256
    # Confirming needs a fresh reauthentication: the POST is kept and replayed after it.
    response = admin_client.post("/configuration/apply/", {"sha256": sha})
    assert response.status_code == 302 and "/accounts/reauthenticate/" in response["Location"]
    assert Tenant.objects.count() == 1
    from tests.conftest import PASSWORD

    confirmed = admin_client.post(response["Location"], {"password": PASSWORD}, follow=True)
    assert confirmed.status_code == 200
    assert Tenant.objects.get(name="Contoso").test_mailbox == "mailbox@contoso.com"
    assert Tenant.objects.get(name="Fabrikam").password == secrets_env["TENANT_FABRIKAM_PASSWORD"]
    update = AuditEvent.objects.get(action="tenant.update")
    assert update.actor_username == "alice-admin"
    assert update.after["applied_from"] == {"file_sha256": sha, "via": "web",
                                            "file_name": "portal.yaml"}  # fmt: skip
    assert "3 created, 1 updated" in confirmed.content.decode()
    assert PENDING not in admin_client.session
    # The same confirmation again finds no waiting plan and changes nothing.
    events = AuditEvent.objects.count()
    again = admin_client.post("/configuration/apply/", {"sha256": sha}, follow=True)
    assert b"upload the document again" in again.content
    assert AuditEvent.objects.count() == events


def test_errors_are_shown_with_their_paths_and_nothing_is_kept(admin_client, secrets_env):
    page = _upload(admin_client, doc(CONTOSO, tenant("Broken", smtp_port=99999)))
    assert page.status_code == 400
    assert "tenants[1].smtp_port: A port is a number from 1 to 65535." in page.content.decode()
    assert b"Apply these changes" not in page.content and PENDING not in admin_client.session
    billion = b'a: &a ["lol", "lol"]\nb: &b [*a, *a]\ntenants: *b\n'
    assert b"Anchors and aliases" in _upload(admin_client, billion).content
    assert b"Choose a YAML file" in admin_client.post("/configuration/", {}).content
    assert not Tenant.objects.exists()


def test_the_web_may_not_read_server_files_or_the_portals_own_variables(
    admin_client, secrets_env, monkeypatch
):
    monkeypatch.setenv("ANY_OTHER", "x")
    data = doc(
        tenant("A").replace("client_secret_env: TENANT_ANY_SECRET",
                            "client_secret_file: /etc/hostname"),
        tenant("B").replace("TENANT_ANY_SECRET", "AUDIT_KEY"),
        tenant("C").replace("TENANT_ANY_SECRET", "ANY_OTHER"),
    )  # fmt: skip
    page = _upload(admin_client, data)
    errors = dict(page.context["plan"].errors)
    assert "cannot be named from the web" in errors["tenants[0].client_secret_file"]
    assert "start with TENANT_" in errors["tenants[1].client_secret_env"]
    assert "start with TENANT_" in errors["tenants[2].client_secret_env"]


def test_a_confirmation_for_another_document_is_refused(admin_client, secrets_env):
    from tests.conftest import PASSWORD

    admin_client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    page = _upload(admin_client, doc(CONTOSO))
    assert page.context["plan"].changes
    response = admin_client.post("/configuration/apply/", {"sha256": "f" * 64}, follow=True)
    assert b"upload the document again" in response.content
    assert not Tenant.objects.exists()
    # A document changed behind the plan (here: in the session) is validated again at confirm.
    session = admin_client.session
    pending = session[PENDING]
    session[PENDING] = {**pending, "document": pending["document"] + "  - name: Extra\n"}
    session.save()
    response = admin_client.post("/configuration/apply/", {"sha256": pending["sha256"]},
                                 follow=True)  # fmt: skip
    assert b"upload the document again" in response.content and not Tenant.objects.exists()
