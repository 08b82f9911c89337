"""A mailbox's or an item's error is shown whole and in the reader's language: the engine's
sentence is stored as its template and arguments, not as English cut at 500 characters."""

import pytest
from django.utils.html import escape
from exchangelib import errors as exerr

from connectivity.ewsjobs.errors import busy_words, explain, mailbox_error
from portal.ewsjobs import words, work
from portal.ewsjobs.models import Chunk, Found, Target
from portal.jobs.models import Job
from tests.ewsjobs.pages import BOXES, grant, make_job  # noqa: F401

pytestmark = pytest.mark.django_db


def _fail_first_mailbox(ewsjob, words_):
    target = ewsjob.targets.get(mailbox=BOXES[0])
    chunk = Chunk.objects.create(ewsjob=ewsjob, target=target, index=0, count=1,
                                 status=Chunk.Status.RUNNING)  # fmt: skip
    work.mailbox_failed(ewsjob, chunk, words_)
    return Target.objects.get(pk=target.pk)


def test_a_refused_mailbox_reads_whole_in_english_and_in_russian(operator_client, grant):  # noqa: F811
    task = {"subject": "Renew", "due": None, "importance": "Normal", "body": "", "reminder": None,
            "tz": ""}  # fmt: skip
    ewsjob = make_job(grant, kind="tasks", status=Job.Status.PROBLEMS, params={"tasks": [task]})
    refused = mailbox_error(exerr.ErrorImpersonateUserDenied("denied"), BOXES[0])
    target = _fail_first_mailbox(ewsjob, refused.words)
    assert target.status == Target.Status.FAILED
    english = str(refused.words)
    assert len(english) > 500  # what used to be cut mid-sentence
    page = operator_client.get(f"/ews-jobs/{ewsjob.pk}/").content.decode()
    assert escape(english[-60:]) in page  # the end of the hint, past the old cut
    russian = operator_client.get(f"/ews-jobs/{ewsjob.pk}/", HTTP_ACCEPT_LANGUAGE="ru")
    body = russian.content.decode()
    assert "Приложению нельзя действовать от имени anna@contoso.example" in body
    assert "The application may not act as" not in body and "What to do" not in body


def test_an_item_error_is_translated_in_the_page_and_the_csv(viewer_client, grant):  # noqa: F811
    ewsjob = make_job(grant, kind="rules", status=Job.Status.PROBLEMS)
    target = ewsjob.targets.get(mailbox=BOXES[0])
    gone = explain(exerr.ErrorItemNotFound("gone"))
    Found.objects.create(ewsjob=ewsjob, target=target, position=0, item_id="id-1",
                         folder="Inbox", subject="Invoice", outcome="failed",
                         error=words.to_store(gone))  # fmt: skip
    english = viewer_client.get(f"/ews-jobs/{ewsjob.pk}/").content.decode()
    assert "the item no longer exists" in english and '{"text"' not in english
    russian = viewer_client.get(f"/ews-jobs/{ewsjob.pk}/", HTTP_ACCEPT_LANGUAGE="ru")
    body = russian.content.decode()
    assert "элемента больше нет" in body and "the item no longer exists" not in body
    csv = b"".join(viewer_client.get(f"/ews-jobs/{ewsjob.pk}/results.csv").streaming_content)
    assert "the item no longer exists" in csv.decode() and '{"text"' not in csv.decode()


def test_plain_text_errors_of_older_rows_are_shown_as_they_were():
    assert words.shown("No such mailbox.") == "No such mailbox."
    assert words.shown('{"text": broken') == '{"text": broken'
    assert words.to_store(busy_words(2.0)).startswith('{"text"')
    assert words.shown(words.to_store(busy_words(2.0))) == str(busy_words(2.0))
