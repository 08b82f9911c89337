"""portal.lib.translate: engine sentences and stored job text in the reader's language, through
the real Russian catalogue."""

from django.contrib.messages.storage.base import Message
from django.utils import translation

from connectivity.i18n import N_, NN_
from connectivity.probes.core import Status, Step
from portal.core.templatetags.translated import stored_text
from portal.lib import translate

REFUSED = N_("connection refused: nothing accepts connections on that port")
TOKEN = N_("the token endpoint %(url)s could not be reached: %(detail)s",
           url="https://login.contoso.test/t/token", detail=REFUSED)  # fmt: skip


def _step(detail, hint=""):
    return Step(N_("Access token"), Status.FAIL, detail, hint).to_dict(messages=True)


def test_a_sentence_and_its_nested_sentences_are_translated_values_kept():
    with translation.override("ru"):
        text = translate.message(TOKEN.to_json())
    assert text == (
        "конечная точка токенов https://login.contoso.test/t/token недоступна: "
        "в соединении отказано: на этом порту никто не принимает соединения"
    )
    with translation.override("en"):
        assert translate.message(TOKEN.to_json()) == TOKEN


def test_plain_arguments_that_are_catalogue_phrases_are_translated_too():
    said = N_("network error: %(error)s", error="Connection refused")  # the OS's wording
    with translation.override("ru"):
        assert translate.message(said.to_json()) == "сетевая ошибка: В соединении отказано"


def test_plural_sentences_follow_russian_number_forms():
    data = [NN_("%(n)s failed", "%(n)s failed", n).to_json() for n in (1, 3, 5)]
    with translation.override("ru"):
        assert [translate.message(d) for d in data] == [
            "1 не пройдена", "3 не пройдены", "5 не пройдено",
        ]  # fmt: skip


def test_step_text_uses_the_template_and_falls_back_to_the_stored_text():
    step = _step(TOKEN, N_("Open the tenant's settings, fill in the missing value, save and run "
                           "the test again."))  # fmt: skip
    old = {"name": "Access token", "detail": str(REFUSED), "hint": ""}  # stored before the keys
    odd = {"name": "x", "detail": "220 mail.contoso.test ESMTP ready"}  # a server's own words
    with translation.override("ru"):
        assert translate.step_text(step, "detail").startswith("конечная точка токенов")
        assert "настройки" in translate.step_text(step, "hint")
        assert translate.step_text(old, "detail").startswith("в соединении отказано")
        assert translate.step_text(odd, "detail") == odd["detail"]
        assert translate.step_text({"name": "x"}, "hint") == ""


def test_stored_job_text_whole_entries_counts_and_templates():
    with translation.override("ru"):
        assert translate.stored("Failed") == "Сбой"
        assert translate.stored("2 passed, 1 failed") == "2 пройдены, 1 не пройдена"
        assert translate.stored("All tests for Contoso Ltd") == "Все тесты для Contoso Ltd"
        assert translate.stored("TCP port: Failed") == "Порт TCP: Сбой"
        assert translate.stored("3/8 done") == "выполнено 3 из 8"


def test_stored_text_that_matches_nothing_is_shown_as_it_was():
    with translation.override("ru"):
        for text in ("Contoso: Fabrikam", "A sentence nobody wrote. Another one.", "", None):
            assert translate.stored(text) == text


def test_several_stored_sentences_are_translated_one_by_one():
    reaper = (
        "The worker running this job (celery@worker-7) stopped answering; it was last heard "
        "from at 2026-12-01 11:00:00. It was not started again: it has already been tried 3 "
        "times. What to do: check the worker, then start the job again."
    )
    with translation.override("ru"):
        text = translate.stored(reaper)
    assert "celery@worker-7" in text and "2026-12-01 11:00:00" in text
    assert "Что сделать: проверьте обработчик и запустите задание снова." in text
    assert not any(word in text for word in ("worker running", "tried", "What to do"))


def test_the_template_filter_takes_flash_messages_and_nothing():
    queue = ("The job queue is not available: the message broker at redis://broker:6379 cannot "
             "be reached (it refused the connection). Nothing was started. What to do: start the "
             "broker or correct CELERY_BROKER_URL (the health check /healthz shows the broker's "
             "state), then start the job again.")  # fmt: skip
    with translation.override("ru"):
        shown = stored_text(Message(40, queue))
        assert shown.startswith("Очередь заданий недоступна") and "redis://broker:6379" in shown
        assert stored_text(None) == ""
