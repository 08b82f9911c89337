"""The grants list and an application's page keep a constant number of queries as rows grow."""

import pytest

from portal.grants.models import Application
from tests.grants.conftest import make_grant

pytestmark = pytest.mark.django_db


def _queries(client, url, django_assert_max_num_queries):
    with django_assert_max_num_queries(100) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_grant_lists_do_not_grow_with_rows(admin_client, operator_user, tenant, application,
                                           django_assert_max_num_queries):  # fmt: skip
    def add(n):
        for _ in range(n):
            name = f"app {Application.objects.count()}"
            app = Application.objects.create(tenant=tenant, name=name, owner="o", client_id="c",
                                             protocols=["ews"], ews_uses=["mail_read"])  # fmt: skip
            make_grant(app, operator_user)
            make_grant(application, operator_user)

    add(2)
    admin_client.get("/grants/")  # the first request of a session does one-off work
    urls = ["/grants/", f"/grants/applications/{application.pk}/", "/grants/ews-retirement/"]
    few = [_queries(admin_client, u, django_assert_max_num_queries) for u in urls]
    add(30)
    many = [_queries(admin_client, u, django_assert_max_num_queries) for u in urls]
    assert many == few
