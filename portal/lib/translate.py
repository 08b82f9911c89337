"""Text written in one language and read in another: steps of the engine and stored job text.

Two kinds of text reach a page already written, so template tags cannot translate it:

* **Engine steps.** The engine (no Django) keeps each sentence's English template and arguments
  (``detail_msg``/``hint_msg`` in a step, see connectivity/i18n.py). :func:`message` translates
  the template and every argument that is itself a sentence, then fills them in. Steps stored
  before those keys existed are translated when their whole text is a catalogue entry and
  otherwise shown as they were.
* **Job labels and messages.** They are stored in English (workers run without a reader) and
  :func:`stored` translates them when shown: the whole text if it is a catalogue entry, else
  the first of :data:`STORED_TEMPLATES` it matches (arguments translated in turn), else sentence
  by sentence. Text that matches nothing is shown as it was stored.
"""

import functools
import re

from django.utils.translation import gettext, gettext_noop, ngettext

# Django 6 labels the empty choice of every select "- Select an option -" and ships no Russian
# for it; marked here so the project's catalogue (read before Django's own) carries it.
DJANGO_WITHOUT_RUSSIAN = (gettext_noop("- Select an option -"),)

# English templates of text stored in job rows (labels, progress, results, reaper messages).
STORED_TEMPLATES = (
    gettext_noop("%(done)s/%(total)s done"),
    gettext_noop("%(probe)s · %(target)s"),
    gettext_noop("%(probe)s: %(status)s"),
    gettext_noop("All tests for %(name)s"),
    gettext_noop(
        "The worker running this job (%(worker)s) stopped answering; it was last heard from at "
        "%(seen)s."
    ),
    gettext_noop("It was not started again: it has already been tried %(n)s times."),
    gettext_noop("Started again (attempt %(n)s of %(max)s)."),
    # portal/jobs/queue.py: a job that could not be handed to the queue.
    gettext_noop(
        "The job queue is not available: the queue folder %(place)s cannot be written "
        "(%(why)s). Nothing was started. What to do: make sure the portal's account can "
        "write to that folder (VAR_DIR/celery), then start the job again."
    ),
    gettext_noop(
        "The job queue is not available: the message broker at %(place)s cannot be reached "
        "(%(why)s). Nothing was started. What to do: start the broker or correct "
        "CELERY_BROKER_URL (the health check /healthz shows the broker's state), then start "
        "the job again."
    ),
    # portal/jobs/execution.py: the task raised.
    gettext_noop(
        "The job stopped because of an internal error (%(kind)s). Nothing more was done. "
        "What to do: start it again; if it fails again, the worker's log has the details "
        "for job %(job)s."
    ),
)
# Templates of apps that store their own job text (registered from their AppConfig.ready).
_REGISTERED: list[str] = []


def register_stored(*templates: str) -> None:
    _REGISTERED.extend(t for t in templates if t not in _REGISTERED)


# counts_in_words' sentences (catalogued with their plural forms by portal/runs/jobkinds.py).
_PLURAL_COUNTS = (
    "%(n)s passed", "%(n)s passed with warnings", "%(n)s failed", "%(n)s could not run",
    "%(n)s running", "%(n)s waiting",
)  # fmt: skip
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_LIST = re.compile(r",\s+")
_MAX_DEPTH = 4


def message(data, depth: int = 0) -> str:
    """An engine sentence (``{"text", "args", "plural"?}``) in the active language."""
    if not isinstance(data, dict) or depth > _MAX_DEPTH:
        return data if isinstance(data, str) else str(data)
    template = str(data.get("text", ""))
    args = {
        key: message(value, depth + 1) if isinstance(value, dict) else _word(value)
        for key, value in (data.get("args") or {}).items()
    }
    if "plural" in data and isinstance(args.get("n"), int):
        translated = ngettext(template, str(data["plural"]), args["n"])
    else:
        translated = gettext(template) if template else ""
    if not args:
        return translated
    try:
        return translated % args
    except (KeyError, ValueError, TypeError):  # a broken translation: the English sentence
        return template % args


def _word(value):
    """A plain argument: a catalogue phrase (an OS error wording, a step name) is translated."""
    return gettext(value) if isinstance(value, str) and value else value


def step_text(step: dict, key: str) -> str:
    """A step's ``detail`` or ``hint`` in the active language."""
    data = step.get(f"{key}_msg")
    if isinstance(data, dict):
        return message(data)
    return stored(step.get(key) or "")


@functools.cache
def _pattern(template: str) -> re.Pattern:
    parts = re.split(r"%\((\w+)\)s", template)
    regex = "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<{part}>.+?)"
        for index, part in enumerate(parts)
    )
    return re.compile(regex, re.DOTALL)


def stored(text: str, depth: int = 0) -> str:
    """Stored English text in the active language (unchanged when nothing matches)."""
    if not text or not isinstance(text, str) or depth > _MAX_DEPTH:
        return text
    translated = gettext(text)
    if translated != text:
        return translated
    for template in _PLURAL_COUNTS:
        match = _pattern(template).fullmatch(text)
        if match and match["n"].isdigit():
            return ngettext(template, template, int(match["n"])) % {"n": match["n"]}
    templates = STORED_TEMPLATES + tuple(_REGISTERED)
    skeletons = [t for t in templates if gettext(t) != t]
    generic = [t for t in templates if gettext(t) == t]
    found = _by_template(text, skeletons, depth, need_change=False)
    if found is not None:
        return found
    for splitter, joiner in ((_SENTENCE_END, " "), (_LIST, ", ")):
        pieces = splitter.split(text)
        if len(pieces) > 1:
            localized = [stored(piece, depth + 1) for piece in pieces]
            if localized != pieces:
                return joiner.join(localized)
    found = _by_template(text, generic, depth, need_change=True)
    return text if found is None else found


def _by_template(text: str, templates, depth: int, need_change: bool) -> str | None:
    """The first template ``text`` matches, filled with its translated parts."""
    for template in templates:
        match = _pattern(template).fullmatch(text)
        if not match:
            continue
        parts = match.groupdict()
        if any(_SENTENCE_END.search(value) for value in parts.values()):
            continue  # a sentence of its own swallowed by a placeholder: split by sentences
        args = {key: stored(value, depth + 1) for key, value in parts.items()}
        if need_change and args == parts:
            continue  # a bare skeleton such as "%(a)s: %(b)s" only helps when a part translates
        return gettext(template) % args
    return None
