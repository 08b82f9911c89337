"""Django 6's empty choice label ("- Select an option -") has no Russian in Django itself: the
project's catalogue supplies it, so a Russian form never shows that English line."""

import pytest

from portal.grants.models import Application
from portal.tenants.models import Tenant

pytestmark = pytest.mark.django_db


def test_the_empty_choice_of_a_select_is_russian_on_russian_pages(operator_client):
    tenant = Tenant.objects.create(name="Contoso", accepted_domains=["contoso.example"])
    Application.objects.create(tenant=tenant, name="Archiver", owner="Records", client_id="a-1",
                               protocols=["ews"])  # fmt: skip
    english = operator_client.get("/grants/request/")
    assert english.status_code == 200
    assert "- Select an option -" in english.text  # the line exists: the check can fail
    russian = operator_client.get("/grants/request/", headers={"accept-language": "ru"})
    assert "- Select an option -" not in russian.text
    assert "— выберите —" in russian.text
