"""The EWS job list and a job's page (full, its last pages, its CSV and the polled partial) keep
a constant number of queries as jobs, mailboxes and found messages grow."""

import pytest

from portal.jobs.models import Job
from tests.ewsjobs.pages import add_found, grant, make_job  # noqa: F401

pytestmark = pytest.mark.django_db


def _queries(client, url, django_assert_max_num_queries, **headers):
    with django_assert_max_num_queries(60) as captured:
        response = client.get(url, **headers)
        assert response.status_code == 200
        if response.streaming:  # the CSV queries while it is read
            assert b"".join(response.streaming_content)
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
    urls = ["/ews-jobs/", "/ews-jobs/?page=999", f"/ews-jobs/{dry.pk}/",
            f"/ews-jobs/{dry.pk}/run/"]  # fmt: skip
    # A job's page, its last pages of mailboxes and of messages, its CSV, the polled partial.
    job_urls = [
        ("/ews-jobs/{}/", {}),
        ("/ews-jobs/{}/?mpage=999&rpage=999", {}),
        ("/ews-jobs/{}/results.csv", {}),
        ("/ews-jobs/{}/", {"HTTP_HX_REQUEST": "true"}),
    ]

    def job_queries(ewsjob):
        return [_queries(admin_client, u.format(ewsjob.pk), django_assert_max_num_queries, **h)
                for u, h in job_urls]  # fmt: skip

    few = [_queries(admin_client, u, django_assert_max_num_queries) for u in urls]
    few_job = job_queries(small)
    add(60)
    big = grow_job(70, 30)  # two pages of mailboxes, 43 of messages
    many = [_queries(admin_client, u, django_assert_max_num_queries) for u in urls]
    many_job = job_queries(big)
    assert many == few
    assert many_job == few_job
