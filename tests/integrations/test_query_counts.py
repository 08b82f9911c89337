"""The integrations list (the status matrix), the dashboard tile and an integration's page keep
a constant number of SQL queries as integrations, statuses and checks grow."""

import pytest
from django.utils import timezone

from portal.integrations.models import CheckResult, FeatureStatus, Integration
from portal.tenants.models import Tenant

pytestmark = pytest.mark.django_db


def _add(n, start=0):
    now = timezone.now()
    for i in range(start, start + n):
        tenant = Tenant.objects.create(name=f"T{i}")
        integration = Integration.objects.create(
            tenant=tenant,
            name=f"I{i}",
            product="sfb_2015",
            features=["ews_calendar", "im_presence"],
        )
        for feature in ("ews_calendar", "im_presence"):
            FeatureStatus.objects.create(integration=integration, feature=feature, status="red",
                                         step="x", checked_at=now, since=now)  # fmt: skip
            CheckResult.objects.create(integration=integration, feature=feature, status="red",
                                       checked_at=now)  # fmt: skip


def _count(client, url, django_assert_max_num_queries):
    with django_assert_max_num_queries(60) as captured:
        assert client.get(url, HTTP_HX_REQUEST="true").status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("url", ["/integrations/", "/integrations/tiles/"])
def test_lists_do_not_grow_with_rows(url, viewer_client, django_assert_max_num_queries):
    _add(2)
    few = _count(viewer_client, url, django_assert_max_num_queries)
    _add(30, start=2)
    many = _count(viewer_client, url, django_assert_max_num_queries)
    assert many == few, f"{url}: {few} queries with few rows, {many} with many"


def test_detail_page_does_not_grow_with_checks(viewer_client, django_assert_max_num_queries):
    _add(1)
    integration = Integration.objects.get()
    url = f"/integrations/{integration.pk}/"
    few = _count(viewer_client, url, django_assert_max_num_queries)
    now = timezone.now()
    for day in range(60):
        CheckResult.objects.create(
            integration=integration,
            feature="im_presence",
            status="green",
            checked_at=now - timezone.timedelta(days=day),
        )
    assert _count(viewer_client, url, django_assert_max_num_queries) == few
