"""A job's results as CSV: one row per message, safe to open in a spreadsheet.

Subjects and senders come from other people's mailboxes: a cell that starts like a formula
(= + - @, or a tab or carriage return that some spreadsheets skip) is prefixed with a quote,
so it is shown as text and never run.
"""

import csv

from portal.ewsjobs import words

COLUMNS = ["mailbox", "folder", "subject", "sender", "received", "has_attachments", "size",
           "outcome", "error"]  # fmt: skip
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str:
    if isinstance(value, bool):
        value = "yes" if value else "no"
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


class _Line:
    """csv.writer writes into this; each row is handed on as soon as it is written."""

    def write(self, text):
        return text


def results_csv(rows, ewsjob):
    """The CSV a row at a time (a search may have found many thousands of messages)."""
    writer = csv.writer(_Line(), lineterminator="\r\n")
    yield "\ufeff"  # Excel reads the file as UTF-8 only with a byte order mark
    yield writer.writerow(COLUMNS)
    for f in rows.iterator(chunk_size=500):
        received = f.received.isoformat() if f.received else ""
        yield writer.writerow([cell(v) for v in (
            f.target.mailbox, f.folder, f.subject, f.sender, received, f.has_attachments,
            f.size, f.outcome, words.shown(f.error))])  # fmt: skip


def filename(ewsjob) -> str:
    kind = "dry-run" if ewsjob.dry_run else ewsjob.kind
    return f"ews-{kind}-{str(ewsjob.pk)[:8]}-{ewsjob.job.created_at:%Y%m%d}.csv"
