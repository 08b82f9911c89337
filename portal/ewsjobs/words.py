"""Errors of mailboxes, chunks and items as they are stored and as a person reads them.

The engine's errors are sentences made from a template and arguments (connectivity.i18n.Msg).
They are stored as that template and its arguments (JSON), so a page shows them whole and in
the reader's language; stored as English text they were cut at 500 characters mid-sentence and,
being whole paragraphs, matched no catalogue entry, so Russian pages showed them in English.
Errors stored as plain text (older rows, a cut-down worker message) are shown as before.
"""

import json

from connectivity.i18n import Msg
from portal.lib import translate

ERROR_MAX = 8000  # the column's cap: far above any engine sentence with its arguments


def to_store(words) -> str:
    """What goes into an ``error`` column: an engine sentence as JSON, other text as it is."""
    if not words:
        return ""
    if isinstance(words, Msg):
        data = json.dumps(words.to_json(), ensure_ascii=False)
        if len(data) <= ERROR_MAX:
            return data
    return str(words)[:ERROR_MAX]


def shown(stored: str) -> str:
    """A stored error in the active language."""
    if not stored:
        return ""
    if stored.startswith('{"text"'):
        try:
            data = json.loads(stored)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return translate.message(data)
    return translate.stored(stored)
