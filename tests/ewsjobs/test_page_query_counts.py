"""The EWS job list and a job's page (full and the polled partial) keep a constant number of
queries as jobs, mailboxes and found messages grow."""

import pytest

from portal.jobs.models import Job
from tests.ewsjobs.pages import add_found, grant, make_job  # noqa: F401

pytestmark = pytest.mark.django_db


def _queries(client, url, django_assert_max_num_queries, **headers):
    with django_assert_max_num_queries(60) as captured:
        assert client.get(url, **headers).status_code == 200
    return len(captured.captured_queries)


def test_pages_do_not_grow_with_rows(admin_client, operator_user, grant,  # noqa: F811
                                     django_assert_max_num_queries):  # fmt: skip
    boxes = [f"user{i}@contoso.example" for i in range(3)]
    dry = make_job(grant, kind="rules", dry_run=True, status=Job.Status.SUCCEEDED,
                   user=operator_user, boxes=boxes)  # fmt: skip
    add_found(dry, 2)
    make_job(grant, kind="rules", status=Job.Status.RUNNING, dry_run_of=dry)

    def add(n):
        for _ in range(n):
            make_job(grant, status=Job.Status.PROBLEMS, user=operator_user)

    def grow_job(boxes, found):
        names = [f"extra{boxes}-{i}@contoso.example" for i in range(boxes)]
        more = make_job(grant, kind="rules", dry_run=True, status=Job.Status.SUCCEEDED,
                        boxes=names)  # fmt: skip
        add_found(more, found)
        return more

    add(2)
    small = grow_job(3, 2)
    admin_client.get("/ews-jobs/")  # the first request of a session does one-off work
    urls = ["/ews-jobs/", f"/ews-jobs/{dry.pk}/", f"/ews-jobs/{dry.pk}/run/"]
    few = [_queries(admin_client, u, django_assert_max_num_queries) for u in urls]
    few_job = _queries(admin_client, f"/ews-jobs/{small.pk}/", django_assert_max_num_queries)
    few_live = _queries(admin_client, f"/ews-jobs/{small.pk}/", django_assert_max_num_queries,
                        HTTP_HX_REQUEST="true")  # fmt: skip
    add(60)
    big = grow_job(70, 30)
    many = [_queries(admin_client, u, django_assert_max_num_queries) for u in urls]
    many_job = _queries(admin_client, f"/ews-jobs/{big.pk}/", django_assert_max_num_queries)
    many_live = _queries(admin_client, f"/ews-jobs/{big.pk}/", django_assert_max_num_queries,
                         HTTP_HX_REQUEST="true")  # fmt: skip
    assert many == few
    assert (many_job, many_live) == (few_job, few_live)
