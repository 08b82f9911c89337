"""Hints name the setting to change as the reader's front end words it, with one article.

The engine writes ``{dns_server}``; the portal reads "the tenant's “DNS server for tests”
field" (so a template never says "the {dns_server}", which read "set the the tenant's…"),
the command line reads ``--nameserver`` (tested in tests/connectivity).
"""

import html

import pytest

from connectivity.explain import NXDOMAIN, resolution_failure
from connectivity.probes.core import Status, Step
from connectivity.probes.dns import ADDRESSES
from connectivity.sandbox.dns import DNSServer
from portal.runs import runner
from portal.runs.models import Probe, ProbeRun

pytestmark = pytest.mark.django_db

FIELD_EN = "the tenant's “DNS server for tests” field"
FIELD_RU = "поле клиента «DNS-сервер для проверок»"


def _page(client, run, language):
    response = client.get(f"/connectivity/runs/{run.pk}/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_a_refusing_dns_server_hint_names_the_tenant_field_once(sandbox_tenant, viewer_client):
    # A real DNS server that refuses the tenant's domain (authoritative for another zone only).
    server = DNSServer("elsewhere.test.", {"elsewhere.test.": [("A", "192.0.2.1")]}).start()
    try:
        sandbox_tenant.dns_server = f"127.0.0.1:{server.port}"
        sandbox_tenant.save()
        run = runner.execute(ProbeRun.objects.create(tenant=sandbox_tenant, probe=Probe.DNS))
    finally:
        server.stop()
    step = next(s for s in run.steps if s["name"] == ADDRESSES)
    assert step["status"] == "fail" and "{dns_server}" in step["hint"]
    english = _page(viewer_client, run, "en")
    assert f"Try another resolver or correct {FIELD_EN}." in english
    assert "the the" not in english
    russian = _page(viewer_client, run, "ru")
    assert f"Попробуйте другой резолвер или исправьте {FIELD_RU}." in russian


def test_public_name_and_no_answer_hints_read_once_in_both_languages(sandbox_tenant, viewer_client):
    # What the engine says when a public Microsoft name is "missing", and when no resolver
    # answers, stored as a run stores any step.
    missing = resolution_failure("login.microsoftonline.com", NXDOMAIN)
    unanswered = resolution_failure("login.microsoftonline.com", "no_answer", "timed out")
    steps = [
        Step("Token", Status.FAIL, *missing).to_dict(messages=True),
        Step("Resolve", Status.FAIL, *unanswered).to_dict(messages=True),
    ]
    run = ProbeRun.objects.create(tenant=sandbox_tenant, probe=Probe.EWS, steps=steps,
                                  status="fail")  # fmt: skip
    english = _page(viewer_client, run, "en")
    assert f"resolves public names (or set {FIELD_EN}), or allow" in english
    assert f"and firewall, or set {FIELD_EN}." in english
    assert "the the" not in english
    russian = _page(viewer_client, run, "ru")
    assert f"разрешает публичные имена (или заполните {FIELD_RU}), либо" in russian
    assert f"межсетевой экран или заполните {FIELD_RU}." in russian
