"""Every record is checked by the web form's rules; any error anywhere changes nothing."""

import time
import tracemalloc

import pytest

from portal.configuration import document
from portal.runs.models import Schedule
from portal.tenants.models import Tenant
from tests.configuration.helpers import CONTOSO, FABRIKAM, SCHEDULES, apply, doc, events, tenant

pytestmark = pytest.mark.django_db


def _errors(plan) -> dict:
    return dict(plan.errors)


def test_one_bad_record_among_many_changes_nothing(secrets_env):
    good = [tenant(f"Tenant {i:02d}") for i in range(20)]
    bad = tenant("Broken", smtp_port=70000)
    plan = apply(doc(*good[:10], bad, *good[10:], CONTOSO, FABRIKAM, schedules=SCHEDULES))
    assert not plan.valid and not plan.applied
    assert plan.errors == [("tenants[10].smtp_port", "A port is a number from 1 to 65535.")]
    assert not Tenant.objects.exists() and not Schedule.objects.exists() and events() == 0


def test_every_error_is_reported_at_once_with_its_path(secrets_env):
    data = doc(
        tenant("A", smtp_prot=25),  # unknown field, with a suggestion
        tenant("B", smtp_port='"25"', tls_verify="yes-please", accepted_domains="contoso.com"),
        tenant("C", ews_url="http://mail.contoso.example/EWS/Exchange.asmx"),
        tenant("D", kind="server", auth_method="basic", username="svc"),
        schedules="schedules:\n  - tenant: Nowhere\n    test: smtp\n    interval_minutes: 0\n",
    )
    errors = _errors(apply(data))
    assert "smtp_port" in errors["tenants[0].smtp_prot"]  # "Did you mean “smtp_port”?"
    assert errors["tenants[1].smtp_port"] == "Must be a whole number."
    assert errors["tenants[1].tls_verify"] == "Must be true or false."
    assert errors["tenants[1].accepted_domains"] == "Must be a list of text values."
    assert errors["tenants[2].ews_url"] == "Use an https:// address."
    assert errors["tenants[3].ews_url"] == "Required for Exchange Server: where EWS answers."
    assert errors["tenants[3].password"] == "Required for Basic and NTLM."
    assert errors["schedules[0].interval_minutes"].startswith("Choose between 1 minute")
    assert not Tenant.objects.exists() and events() == 0


def test_schedule_of_an_unknown_tenant_and_of_an_unschedulable_test(secrets_env):
    data = doc(
        CONTOSO,
        schedules="schedules:\n  - tenant: Nowhere\n    test: smtp\n"
        "  - tenant: Contoso\n    test: tcp\n",
    )
    errors = _errors(apply(data))
    assert "No tenant named “Nowhere”" in errors["schedules[0].tenant"]
    assert "tcp" in errors["schedules[1].test"]  # not one of the tests a tenant page offers


def test_unknown_tables_keys_and_version_are_refused(secrets_env):
    plan = apply(b"version: 2\ntenants: []\nusers: []\n")
    errors = _errors(plan)
    assert "Unknown table" in errors["users"] and "tenants" in errors["users"]
    assert errors["version"] == "Only version 1 is understood."
    assert "start with tables" in _errors(apply(b"- just a list\n"))[""]
    assert "list of records" in _errors(apply(b"tenants: {name: x}\n"))["tenants"]
    assert "“field: value”" in _errors(apply(b"tenants: [just-a-name]\n"))["tenants[0]"]


def test_duplicate_names_are_refused(secrets_env):
    errors = _errors(apply(doc(tenant("Contoso"), tenant("Other"), tenant(" Contoso "))))
    assert errors == {"tenants[2].name": "“Contoso” is already defined at tenants[0]."}
    data = doc(CONTOSO, schedules="schedules:\n" + "  - {tenant: Contoso, test: smtp}\n" * 2)
    assert "schedules[1].tenant" in _errors(apply(data))


def test_duplicate_keys_in_one_record_are_refused(secrets_env):
    plan = apply(doc(tenant("Contoso", smtp_port=25) + "    smtp_port: 587\n"))
    assert plan.errors[0][1] == "The key “smtp_port” appears twice in the same record."
    assert plan.errors[0][0] == "line 8, column 5"


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("smtp_host", '"evil.example\\r\\nRCPT TO:<x@evil.example>"', "line breaks"),
        ("smtp_host", "bad_host!.example", "not a valid host name"),
        ("imap_host", "1e309", "neither a host name"),
        ("pop_host", '"[::1"', "not a valid"),
        ("name", '"Contoso\\nInjected"', "line breaks"),
        ("username", '"svc\\r\\nX-Header: 1"', "line breaks"),
        ("test_mailbox", '"probe@contoso.com\\r\\nBcc: x@evil.example"', "line breaks"),
        ("dns_server", "dns.contoso.example", "IP address"),
        ("accepted_domains", "['contoso..com']", "not a valid host name"),
        ("accepted_domains", '["contoso.com\\r\\nx.example"]', "line breaks"),
        ("accepted_domains", '["contoso.com, x.example"]', "one value per list item"),
    ],
)
def test_hostile_hosts_and_line_breaks_are_refused_with_paths(secrets_env, field, value, message):
    hostile = tenant(value) if field == "name" else tenant("Hostile", **{field: value})
    plan = apply(doc(tenant("Safe"), hostile))
    assert any(path == f"tenants[1].{field}" and message in text for path, text in plan.errors), (
        plan.errors
    )
    assert not Tenant.objects.exists()


def test_a_secret_with_a_line_break_in_its_variable_is_refused(monkeypatch):
    monkeypatch.setenv("TENANT_ANY_SECRET", "secret\r\nInjected: 1")
    plan = apply(doc(tenant("Contoso")))
    assert ("tenants[0].client_secret_env", "Use plain text on one line: line breaks and control "
            "characters are not allowed.") in plan.errors  # fmt: skip
    assert "Injected" not in str(plan.as_json())


def test_a_literal_secret_is_refused_with_how_to_reference_it(secrets_env):
    data = doc("  - name: Contoso\n    directory_id: contoso.onmicrosoft.com\n"
               "    client_id: app\n    client_secret: hunter2\n")  # fmt: skip
    message = _errors(apply(data))["tenants[0].client_secret"]
    assert "client_secret_env: VARIABLE" in message and "client_secret_file:" in message
    assert "hunter2" not in str(apply(data).as_json())
    assert not Tenant.objects.exists()


def test_secret_references_must_resolve(monkeypatch, tmp_path):
    monkeypatch.delenv("TENANT_ANY_SECRET", raising=False)
    errors = _errors(apply(doc(tenant("Contoso"))))
    assert "TENANT_ANY_SECRET is not set" in errors["tenants[0].client_secret_env"]
    both = tenant("Contoso") + "    client_secret_file: secret.txt\n"
    assert "not both" in _errors(apply(doc(both)))["tenants[0].client_secret_env"]
    missing = doc(tenant("Contoso").replace("client_secret_env: TENANT_ANY_SECRET",
                                            "client_secret_file: nowhere.txt"))  # fmt: skip
    assert (
        "cannot be read"
        in _errors(apply(missing, base_dir=str(tmp_path)))["tenants[0].client_secret_file"]
    )


def test_secret_from_a_file_relative_to_the_document(tmp_path):
    (tmp_path / "secret.txt").write_text("from-a-file\n")
    data = doc(tenant("Contoso").replace("client_secret_env: TENANT_ANY_SECRET",
                                         "client_secret_file: secret.txt"))  # fmt: skip
    assert apply(data, base_dir=str(tmp_path)).applied
    assert Tenant.objects.get().client_secret == "from-a-file"


def test_aliases_and_anchors_are_refused():
    data = doc(CONTOSO.replace("accepted_domains:", "accepted_domains: &d"), FABRIKAM)
    data += b"  - name: Other\n    accepted_domains: *d\n"
    plan = apply(data)
    assert plan.errors[0][1].startswith("Anchors and aliases")
    assert plan.errors[0][0] == "line 5, column 23"
    assert not Tenant.objects.exists()


def test_billion_laughs_is_refused_before_anything_is_built():
    lines = ['a0: &a0 "lol"'] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in
                                   range(1, 10)] + ["tenants: *a9"]  # fmt: skip
    data = "\n".join(lines).encode()
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(document.DocumentError) as refused:
        document.parse(data)
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert refused.value.message.startswith("Anchors and aliases")
    # Expanded, this is 10^9 strings; refused at the first anchor it costs next to nothing.
    assert peak < 2 * 1024 * 1024 and elapsed < 5, (peak, elapsed)


def test_oversized_and_deep_documents_are_refused():
    big = b"tenants:\n" + b"  - name: x\n" * (document.MAX_BYTES // 12 + 1)
    assert len(big) > document.MAX_BYTES
    assert "larger than 5 MB" in apply(big).errors[0][1]
    deep = b"tenants: " + b"[" * 200 + b"]" * 200 + b"\n"
    assert "deeper than 16 levels" in apply(deep).errors[0][1]


def test_other_unreadable_documents(secrets_env):
    assert "not UTF-8" in apply(b"tenants: [\xff]\n").errors[0][1]
    assert "not valid YAML" in apply(b"tenants: [\n").errors[0][1]
    assert "one YAML document" in apply(b"tenants: []\n---\ntenants: []\n").errors[0][1]
    assert "Must be text" in apply(b"tenants:\n  - name: !!binary aGVsbG8=\n").errors[0][1]
    assert apply(b"").valid  # an empty document names nothing and changes nothing
