"""Filters rewritten so that the database reads only what the newest page needs.

Time range: ``created_at`` never decreases along the chain (``record`` keeps it so), so the
events of a time range are one run of ``seq``. Two index lookups on ``created_at`` (in one
statement) find the run's ends; filtering by ``seq`` then lets every ``(column, -seq)`` index
and the ``seq`` index itself read the newest page directly, instead of walking back from the
newest event and discarding everything after the range's end. The ``created_at`` conditions
stay too, so no event is ever shown outside the range; events written before ``record`` kept
the order, while the clock stepped back, can be missed only within that step of the range's
ends. (``bulk_append``, for tests and benchmarks, takes the times it is given: give it times
after the events before.)

Free text on PostgreSQL: the trigram index answers ``UPPER(label) LIKE '%TEXT%'`` by reading
the posting list of every trigram of the text; a word found in most labels (a domain, "mailbox")
makes that a read of the whole table's worth of entries. When the text has a rarer word, that
word alone goes to the index and the whole text is checked on the few rows it finds.
"""

import re
import time

from django.db import connections
from django.db.models import Subquery, Value
from django.db.models.functions import StrIndex, Upper

# Words as pg_trgm splits them (letters and digits); shorter than three, a word has no trigram.
_WORD = re.compile(r"[^\W_]{3,}")
SAMPLE_SIZE = 1000
SAMPLE_SECONDS = 300
# A word in more than this share of the newest labels is too common to lead the index search.
COMMON_SHARE = 0.02
_sample: dict = {}


def seq_range(qs, since, until):
    """``qs`` limited to the events created in [since, until) (either end may be None)."""
    events = qs.model._default_manager.using(qs.db)
    bounds = (("first", since), ("end", until))
    ends = {name: _first_seq_at(events, moment) for name, moment in bounds if moment is not None}
    # Both lookups in one statement (one round trip); no row at all means no events at all.
    found = next(iter(events.order_by().values(**ends)[:1]), dict.fromkeys(ends))
    if since is not None:
        qs = qs.filter(created_at__gte=since)
        if found["first"] is None:
            return qs.none()
        qs = qs.filter(seq__gte=found["first"])
    if until is not None:
        qs = qs.filter(created_at__lt=until)
        if found["end"] is not None:
            qs = qs.filter(seq__lt=found["end"])
    return qs


def _first_seq_at(events, moment) -> Subquery:
    # The first event at or after ``moment``, ordered by (created_at, seq): of events sharing
    # the boundary's time, the first in the chain.
    return Subquery(
        events.filter(created_at__gte=moment).order_by("created_at", "seq").values("seq")[:1]
    )


def label_contains(qs, text: str):
    """Case-insensitive substring of ``target_label``, led by the text's rarest word."""
    if connections[qs.db].vendor != "postgresql":
        return qs.filter(target_label__icontains=text)
    word = _rare_word(qs, text)
    if word is None:
        return qs.filter(target_label__icontains=text)
    # STRPOS is not indexable, so the planner leaves it as a check on the rows the word found.
    found = StrIndex(Upper("target_label"), Upper(Value(text)))
    return qs.filter(target_label__icontains=word).alias(text_at=found).filter(text_at__gt=0)


def _rare_word(qs, text: str) -> str | None:
    """The word of ``text`` found in the fewest of the newest labels, if it is rare enough and
    not the whole text."""
    words = _WORD.findall(text)
    if len(words) < 2 and (not words or words[0] == text):
        return None
    labels = _newest_labels(qs)
    if not labels:
        return None
    # Fewest labels first; of equally rare words, the longest (more trigrams to narrow by).
    hits, _, word = min((sum(w.upper() in label for label in labels), -len(w), w) for w in words)
    return word if hits <= COMMON_SHARE * len(labels) else None


def forget_sample() -> None:
    """Drop the kept labels (tests that load new events and look at the plan)."""
    _sample.clear()


def _newest_labels(qs) -> list[str]:
    """The newest labels, upper-cased: what people search for looks like them. Kept a few
    minutes per process; it only chooses the plan, never the result."""
    now = time.monotonic()
    cached = _sample.get(qs.db)
    if cached is not None and now - cached[0] < SAMPLE_SECONDS:
        return cached[1]
    events = qs.model._default_manager.using(qs.db)
    labels = [
        label.upper()
        for label in events.order_by("-seq").values_list("target_label", flat=True)[:SAMPLE_SIZE]
    ]
    _sample[qs.db] = (now, labels)
    return labels
