import json

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(anon_client):
    response = anon_client.get("/healthz")
    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    # Only what a load balancer needs: SSO provider detail is for signed-in Admins.
    assert set(body) == {"status", "database", "broker", "audit_guard", "sso"}
    assert set(body["sso"]) == {"ok", "providers"} and isinstance(body["sso"]["providers"], int)
    assert anon_client.post("/healthz").status_code == 405


def test_healthz_is_503_when_the_broker_is_down(anon_client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = anon_client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content)["broker"]["ok"] is False


def test_dashboard_full_page_and_htmx_partial(viewer_client):
    full = viewer_client.get("/")
    assert b"<nav" in full.content and b"Dashboard" in full.content
    partial = viewer_client.get("/", HTTP_HX_REQUEST="true")
    assert b"<nav" not in partial.content and b"Exchange Online timeline" in partial.content
    assert "HX-Request" in full["Vary"]


def test_strict_content_security_policy(viewer_client):
    csp = viewer_client.get("/")["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "style-src 'self'" in csp


def test_russian_locale_from_accept_language(viewer_client):
    response = viewer_client.get("/", HTTP_ACCEPT_LANGUAGE="ru")
    assert response["Content-Language"] == "ru"
    assert "Панель мониторинга".encode() in response.content


def test_russian_catalogue_is_complete_and_compiled():
    from pathlib import Path

    import polib

    folder = Path(__file__).resolve().parents[2] / "locale" / "ru" / "LC_MESSAGES"
    po = polib.pofile(str(folder / "django.po"))
    assert po.untranslated_entries() == []
    assert po.fuzzy_entries() == []
    mo = polib.mofile(str(folder / "django.mo"))
    compiled = {e.msgid for e in mo if e.msgstr or any(e.msgstr_plural.values())}
    assert {e.msgid for e in po.translated_entries()} == compiled, "run compilemessages"


# What makemessages reads; not .venv, var, node_modules or tests.
CATALOGUE_SOURCES = ("manage.py", "portal", "connectivity", "templates", "locale")


def test_every_marked_string_is_in_the_russian_catalogue(tmp_path):
    """Re-extract from the sources (in a copy, so the real catalogue is untouched) with the
    project's own makemessages (it knows the engine's N_/NN_ keywords): a string marked in the
    code but missing from django.po turns up here as untranslated."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import polib

    root = Path(__file__).resolve().parents[2]
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo")
    for name in CATALOGUE_SOURCES:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=skip)
        else:
            shutil.copy2(source, tmp_path / name)
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "ru", "--no-obsolete", "-v", "0"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    po = polib.pofile(str(tmp_path / "locale" / "ru" / "LC_MESSAGES" / "django.po"))
    missing = [f"{e.msgid!r} ({', '.join(f for f, _ in e.occurrences[:2])})"
               for e in po.untranslated_entries()]  # fmt: skip
    fuzzy = [repr(e.msgid) for e in po.fuzzy_entries()]
    assert not missing and not fuzzy, (
        "Translate these in locale/ru/LC_MESSAGES/django.po (makemessages, then compilemessages):\n"
        + "\n".join([f"untranslated: {m}" for m in missing] + [f"fuzzy: {m}" for m in fuzzy])
    )


def test_every_page_answers_htmx_requests_without_an_error(admin_client):
    """A page whose template has no htmx partial answers with the whole page, never a 500."""
    from portal.tenants.models import Tenant

    tenant = Tenant.objects.create(name="Contoso", kind=Tenant.Kind.SERVER,
                                   auth_method=Tenant.Auth.BASIC)  # fmt: skip
    for url in ("/", f"/tenants/{tenant.pk}/", "/tenants/", "/jobs/", "/audit/"):
        response = admin_client.get(url, HTTP_HX_REQUEST="true")
        assert response.status_code == 200, url


def test_the_placeholder_areas_are_gone(viewer_client):
    assert viewer_client.get("/area/grants/").status_code == 404
