"""A rule's dry run checks what it can of the real run: a move to a folder the mailbox does not
have fails that mailbox in words (the real run could only fail there), against the sandbox."""

import pytest
from exchangelib import Message

from connectivity import ewsjobs as engine
from portal.ewsjobs import work
from portal.ewsjobs.models import Chunk, EwsJob
from tests.ewsjobs.world import session_for, start_job

pytestmark = pytest.mark.django_db(transaction=True)


def _rule(world, folder):
    params = {"criteria": {"subject": "Seed"}, "action": {"kind": "move", "folder": folder}}
    ewsjob = start_job(world, EwsJob.Kind.RULES, params, targets=world["boxes"][:1],
                       dry_run=True)  # fmt: skip
    target = ewsjob.targets.get()
    return ewsjob, Chunk.objects.create(ewsjob=ewsjob, target=target, index=0, count=5)


def test_a_move_to_a_missing_folder_fails_the_dry_run_in_words(world):
    ewsjob, chunk = _rule(world, "inbox/No such folder")
    with session_for(world) as session, pytest.raises(engine.MailboxError) as refused:
        work.execute(ewsjob, chunk, session)
    words = str(refused.value.words)
    assert "inbox/No such folder" in words and "does not exist" in words


def test_a_move_to_an_existing_folder_lists_what_would_change(world):
    with session_for(world) as session:
        account = session.account(world["boxes"][0])
        Message(account=account, folder=account.inbox, subject="Seed report", body="x").save()
    ewsjob, chunk = _rule(world, "deleteditems")
    with session_for(world) as session:
        out = work.execute(ewsjob, chunk, session)
    assert out.found and all("Seed" in f.subject for f in out.found)


def test_a_job_whose_mailboxes_failed_does_not_say_nothing_matched(viewer_client, world):
    from portal.jobs.models import Job

    ewsjob, _chunk = _rule(world, "inbox/No such folder")
    Job.objects.filter(pk=ewsjob.pk).update(status=Job.Status.PROBLEMS)
    EwsJob.objects.filter(pk=ewsjob.pk).update(failed=1)
    body = viewer_client.get(f"/ews-jobs/{ewsjob.pk}/").content.decode()
    assert "No message matched" not in body and "Read each one's error" in body
    russian = viewer_client.get(f"/ews-jobs/{ewsjob.pk}/", HTTP_ACCEPT_LANGUAGE="ru")
    assert "Read each one's error" not in russian.content.decode()
