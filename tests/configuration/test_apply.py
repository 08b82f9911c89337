"""Applying: idempotent, audited like the tenant pages, secrets by reference, prune, round trip."""

import hashlib

import pytest
import yaml
from django.db import connection

from portal.audit.censor import CENSOR
from portal.audit.models import AuditEvent
from portal.configuration import exporter, registry
from portal.configuration.schema import schema
from portal.runs.forms import ScheduleForm
from portal.runs.models import Schedule
from portal.tenants.forms import TenantForm
from portal.tenants.models import Tenant
from tests.configuration.helpers import (
    CONTOSO,
    FABRIKAM,
    SCHEDULES,
    apply,
    doc,
    events,
    indent,
    rsa_pem,
    tenant,
)  # fmt: skip

pytestmark = pytest.mark.django_db


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _raw(tenant_name, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM tenants_tenant WHERE name = %s", [tenant_name])
        return cursor.fetchone()[0]


def test_apply_creates_then_a_second_apply_changes_nothing(secrets_env):
    data = doc(CONTOSO, FABRIKAM, schedules=SCHEDULES)
    first = apply(data)
    assert first.applied and first.summary() == {
        "create": 4, "update": 0, "delete": 0, "unchanged": 0,
    }  # fmt: skip
    assert first.audit_events == 4 == events()
    contoso = Tenant.objects.get(name="Contoso")
    assert contoso.client_secret == secrets_env["TENANT_CONTOSO_CLIENT_SECRET"]
    assert contoso.accepted_domains == ["contoso.com", "contoso.onmicrosoft.com"]
    assert Tenant.objects.get(name="Fabrikam").password == secrets_env["TENANT_FABRIKAM_PASSWORD"]
    smtp = Schedule.objects.get(tenant=contoso, probe="smtp")
    expected = (15, True, ["ops@contoso.com"])
    assert (smtp.interval_minutes, smtp.enabled, smtp.notify_emails) == expected
    raw_secret = _raw("Contoso", "client_secret")
    second = apply(data)
    assert second.applied and second.changes == [] and second.audit_events == 0
    assert events() == 4
    assert _raw("Contoso", "client_secret") == raw_secret  # not encrypted anew


def test_audit_events_look_like_the_tenant_pages(secrets_env, monkeypatch):
    data = doc(CONTOSO, schedules="schedules:\n  - {tenant: Contoso, test: smtp}\n")
    apply(data)
    create = AuditEvent.objects.get(action="tenant.create")
    tenant_obj = Tenant.objects.get()
    assert (create.target_type, create.target_id, create.tenant_id) == (
        "tenants.tenant", str(tenant_obj.pk), str(tenant_obj.pk),
    )  # fmt: skip
    assert create.after["client_secret"] == CENSOR and create.after["name"] == "Contoso"
    assert create.after["applied_from"] == {"file_sha256": sha256(data), "via": "test"}
    assert "contoso-secret-value-1" not in str(create.after)
    assert AuditEvent.objects.filter(action="schedule.create").count() == 1
    # Change one field and the secret: one tenant.update naming just those, secret censored.
    changed = CONTOSO.replace("probe@", "mailbox@").replace("_CLIENT_SECRET", "_NEW_SECRET")
    secrets_env_new = "rotated-secret-2"
    monkeypatch.setenv("TENANT_CONTOSO_NEW_SECRET", secrets_env_new)
    plan = apply(doc(changed, schedules="schedules:\n  - {tenant: Contoso, test: smtp}\n"))
    assert [(i.action, i.fields) for i in plan.changes] == [
        ("update", ["test_mailbox", "client_secret"])
    ]
    update = AuditEvent.objects.get(action="tenant.update")
    assert update.before == {"test_mailbox": "probe@contoso.com", "client_secret": CENSOR}
    assert update.after["test_mailbox"] == "mailbox@contoso.com"
    assert update.after["client_secret"] == CENSOR and secrets_env_new not in str(update.after)
    assert Tenant.objects.get().client_secret == secrets_env_new


def test_turning_tls_verification_off_is_recorded_as_the_form_does(secrets_env):
    apply(doc(CONTOSO))
    plan = apply(doc(CONTOSO + "    tls_verify: false\n"))
    assert plan.audit_events == 2
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions[-2:] == ["tenant.update", "tenant.tls_verification_disabled"]


def test_check_changes_nothing_and_reports_the_plan(secrets_env):
    apply(doc(CONTOSO))
    plan = apply(doc(CONTOSO.replace("probe@", "other@"), FABRIKAM), check=True)
    assert not plan.applied and plan.valid
    assert [(i.action, i.name, i.fields) for i in plan.items] == [
        ("update", "Contoso", ["test_mailbox"]), ("create", "Fabrikam", []),
    ]  # fmt: skip
    assert Tenant.objects.get().test_mailbox == "probe@contoso.com"
    assert events() == 1


def test_prune_deletes_only_what_the_file_no_longer_names(secrets_env):
    apply(doc(CONTOSO, FABRIKAM, tenant("Northwind"), schedules=SCHEDULES))
    before = events()
    remaining = doc(CONTOSO, FABRIKAM, schedules="schedules:\n  - {tenant: Contoso, test: smtp,"
                    " notify_emails: [ops@contoso.com]}\n")  # fmt: skip
    without_prune = apply(remaining)
    assert without_prune.changes == [] and Tenant.objects.count() == 3
    pruned = apply(remaining, prune=True)
    assert sorted((i.action, i.name) for i in pruned.changes) == [
        ("delete", "Fabrikam · ews"), ("delete", "Northwind"),
    ]  # fmt: skip
    assert sorted(Tenant.objects.values_list("name", flat=True)) == ["Contoso", "Fabrikam"]
    assert list(Schedule.objects.values_list("probe", flat=True)) == ["smtp"]
    assert events() == before + 2
    deleted = AuditEvent.objects.get(action="tenant.delete")
    assert deleted.before["name"] == "Northwind" and deleted.after["applied_from"]
    # A table the file leaves out is not touched, even with --prune.
    assert apply(doc(CONTOSO, FABRIKAM), prune=True).changes == []
    assert Schedule.objects.count() == 1


def test_round_trip_export_apply_export_is_identical(secrets_env, monkeypatch):
    pem = rsa_pem()
    monkeypatch.setenv("TENANT_CERT_PEM", pem)
    cert_tenant = (
        "  - name: Woodgrove Bank\n    cloud: gcc_high\n"
        "    directory_id: woodgrove.onmicrosoft.us\n"
        "    auth_method: oauth_cert\n    client_id: 22222222-3333-4444-5555-666666666666\n"
        "    certificate_pem_env: TENANT_CERT_PEM\n    tls_verify: false\n"
        "    ca_bundle: |\n" + indent(_ca_pem(), 6)
    )  # fmt: skip
    assert apply(doc(CONTOSO, FABRIKAM, cert_tenant, schedules=SCHEDULES)).applied
    first = exporter.export()
    loaded = yaml.safe_load(first)
    woodgrove = next(t for t in loaded["tenants"] if t["name"] == "Woodgrove Bank")
    assert woodgrove["certificate_pem_env"] == "TENANT_WOODGROVE_BANK_CERTIFICATE_PEM"
    assert "PRIVATE KEY" not in first and "contoso-secret-value-1" not in first
    # An empty database, the placeholders' variables set to the secrets.
    monkeypatch.setenv("TENANT_WOODGROVE_BANK_CERTIFICATE_PEM", pem)
    Tenant.objects.all().delete()
    assert apply(first.encode()).summary()["create"] == 5
    assert exporter.export() == first
    assert Tenant.objects.get(name="Woodgrove Bank").certificate_pem == pem.strip()


def _ca_pem() -> str:
    import trustme

    return trustme.CA().cert_pem.bytes().decode()


def test_export_of_one_tenant_and_variable_names(secrets_env):
    apply(doc(CONTOSO, FABRIKAM, tenant("Contoso-Ltd"), tenant("Contoso Ltd"),
              tenant("Контосо"), schedules=SCHEDULES))  # fmt: skip
    only = yaml.safe_load(exporter.export("Fabrikam"))
    assert [t["name"] for t in only["tenants"]] == ["Fabrikam"]
    assert only["schedules"] == [{"tenant": "Fabrikam", "test": "ews", "interval_minutes": 60}]
    names = {t["name"]: t.get("client_secret_env") for t in yaml.safe_load(exporter.export())[
        "tenants"]}  # fmt: skip
    assert names["Contoso"] == "TENANT_CONTOSO_CLIENT_SECRET"
    # Names that reduce to the same letters get a hash of the full name, so they never collide.
    assert names["Contoso-Ltd"] != names["Contoso Ltd"]
    assert names["Contoso-Ltd"].startswith("TENANT_CONTOSO_LTD_")
    assert names["Контосо"].startswith("TENANT_") and names["Контосо"].isascii()
    with pytest.raises(exporter.UnknownTenant):
        exporter.export("Nobody")


def test_schema_is_generated_from_the_forms():
    document = schema()
    assert document["additionalProperties"] is False
    tenants = document["properties"]["tenants"]["items"]
    props = tenants["properties"]
    for name in TenantForm.base_fields:
        key = name.removesuffix("_text")
        assert key in props or f"{key}_env" in props, key
    assert "client_secret" not in props and props["client_secret_env"]["pattern"]
    assert props["smtp_security"]["enum"][:-1] == [v for v, _ in Tenant.Security.choices]
    assert props["smtp_port"]["default"] == 587 and tenants["required"] == ["name"]
    schedules = document["properties"]["schedules"]["items"]
    assert set(schedules["properties"]) == {"tenant", "test", "interval_minutes", "enabled",
                                            "notify_emails"}  # fmt: skip
    assert schedules["properties"]["test"]["enum"] == ["dns", "autodiscover", "ews", "mapi",
                                                      "smtp", "imap", "pop3", "tls"]  # fmt: skip
    assert len(ScheduleForm.base_fields) == 4
    # Tenants and their schedules come first; the apps' own tables (relay_clients, …) follow.
    assert [kind.table for kind in registry.kinds()][:2] == ["tenants", "schedules"]


def test_a_later_record_kind_plugs_into_the_registry(secrets_env):
    """The extension point later tables use: register a kind, and it is a known table."""

    class Notes(registry.RecordKind):
        table, order = "notes", 99

        def existing(self, ctx):
            return {}

    registry.register(Notes())
    try:
        assert "notes" in schema()["properties"]
        assert apply(b"notes: []\n").valid
        with pytest.raises(ValueError):
            registry.register(Notes())
    finally:
        registry._KINDS.pop("notes")
    assert "Unknown table" in apply(b"notes: []\n").errors[0][1]
