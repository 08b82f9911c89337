"""List pages keep a constant number of SQL queries as their rows grow."""

import pytest

from portal.audit.api import record
from portal.jobs.models import Job
from portal.lib.access import Role
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def _queries_for(client, url, django_assert_max_num_queries):
    with django_assert_max_num_queries(100) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("url", ["/jobs/", "/audit/", "/accounts/users/"])
def test_list_pages_do_not_grow_with_rows(
    url, admin_user, reauthenticated_admin_client, django_assert_max_num_queries
):
    def add_rows(n):
        for i in range(n):
            Job.objects.create(kind="test", label=f"job {i}", created_by=admin_user)
            record("test.event", target={"type": "x", "id": i, "label": f"row {i}"})
            make_user(f"user-{len(Job.objects.all())}", Role.VIEWER, mfa=False)

    add_rows(2)
    few = _queries_for(reauthenticated_admin_client, url, django_assert_max_num_queries)
    add_rows(40)
    many = _queries_for(reauthenticated_admin_client, url, django_assert_max_num_queries)
    assert many == few, f"{url}: {few} queries with few rows, {many} with many"
