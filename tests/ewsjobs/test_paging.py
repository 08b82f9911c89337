"""The EWS job pages page through jobs, mailboxes and messages with the portal's pager: a page
number past the end (or below 1) shows the last page, one that is not a number the first (never
an error), each table's links keep the other table's page, the polled progress keeps the page
being read, and the pager speaks Russian."""

import pytest

from portal.jobs.models import Job
from tests.ewsjobs.pages import add_found, grant, make_job  # noqa: F401

pytestmark = pytest.mark.django_db


def _body(client, url, **headers) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200, url
    return response.content.decode()


@pytest.fixture
def big_search(grant):  # noqa: F811
    # Made in reverse order: the pages must sort by mailbox, not by when a row was written.
    boxes = [f"box{i:02d}@contoso.example" for i in reversed(range(60))]
    ewsjob = make_job(grant, status=Job.Status.RUNNING, boxes=boxes, done=60)
    add_found(ewsjob, 2)  # 120 messages: three pages
    return ewsjob


def test_the_list_pages_through_jobs(viewer_client, grant):  # noqa: F811
    for _ in range(55):
        make_job(grant, status=Job.Status.SUCCEEDED)
    first = _body(viewer_client, "/ews-jobs/")
    assert "Showing 1–50 of 55" in first and 'href="?page=2"' in first
    for number in ("abc", "1e9", "2.5", "%00", ""):
        assert "Showing 1–50 of 55" in _body(viewer_client, f"/ews-jobs/?page={number}"), number
    for number in ("2", "999", "-3", "0", "9" * 40):
        assert "Showing 51–55 of 55" in _body(viewer_client, f"/ews-jobs/?page={number}"), number
    russian = _body(viewer_client, "/ews-jobs/?page=2", HTTP_ACCEPT_LANGUAGE="ru")
    assert "Показаны 51–55 из 55" in russian and 'aria-label="Страницы заданий EWS"' in russian


def test_a_short_list_has_no_pager(viewer_client, grant):  # noqa: F811
    make_job(grant, status=Job.Status.SUCCEEDED)
    assert "Showing" not in _body(viewer_client, "/ews-jobs/?page=7")


def test_mailboxes_and_messages_page_apart(viewer_client, big_search):
    url = f"/ews-jobs/{big_search.pk}/"
    first = _body(viewer_client, url)
    assert "Showing 1–50 of 60" in first and "Showing 1–50 of 120" in first
    assert 'href="?mpage=2"' in first and 'href="?rpage=2"' in first
    # Mailboxes 51–60 and messages 51–100 (mailboxes 25–49, two each): each table's links
    # keep the other table's page.
    both = _body(viewer_client, f"{url}?mpage=2&rpage=2")
    assert "Showing 51–60 of 60" in both and "Showing 51–100 of 120" in both
    assert 'href="?mpage=1&amp;rpage=2"' in both and 'href="?mpage=2&amp;rpage=3"' in both
    assert "<code>box25@" in both and "<code>box49@" in both
    assert "<code>box24@" not in both and "<code>box00@" not in both
    odd = _body(viewer_client, f"{url}?mpage=abc&rpage=999")
    assert "Showing 1–50 of 60" in odd and "Showing 101–120 of 120" in odd


def test_the_polled_progress_keeps_the_page_being_read(viewer_client, big_search):
    url = f"/ews-jobs/{big_search.pk}/?rpage=3"
    live = _body(viewer_client, url, HTTP_HX_REQUEST="true")
    assert 'id="main-nav"' not in live and 'id="ewsjob-live"' in live
    assert f'hx-get="{url}"' in live and "Showing 101–120 of 120" in live


def test_the_pager_speaks_russian(viewer_client, big_search):
    body = _body(viewer_client, f"/ews-jobs/{big_search.pk}/?rpage=2",
                 HTTP_ACCEPT_LANGUAGE="ru")  # fmt: skip
    for words in ("Показаны 1–50 из 60", "Показаны 51–100 из 120", "Предыдущая страница",
                  "Следующая страница", 'aria-label="Страницы почтовых ящиков"',
                  'aria-label="Страницы сообщений"'):  # fmt: skip
        assert words in body, words
    assert "Showing" not in body and "Pages of" not in body and "Next page" not in body
