"""The EWS job engine: act as an application on many mailboxes, in batches, exactly once.

Plain Python on exchangelib (no Django, no portal imports); the portal's job app schedules
the chunks and keeps the records. One :class:`Session` per worker thread.
"""

from .actions import KINDS as ACTION_KINDS
from .actions import Action, apply_action, check_action
from .csvfiles import parse_events_csv, parse_tasks_csv
from .errors import Busy, MailboxError, explain, is_transient
from .ics import parse_ics
from .props import item_key, job_key_prefix
from .publish import ItemOutcome, create_tasks, publish_events
from .search import Criteria, Found, search
from .session import AppAccess, Session
from .specs import EventSpec, TaskSpec, event_from_json, task_from_json

__all__ = [
    "ACTION_KINDS",
    "Action",
    "AppAccess",
    "Busy",
    "Criteria",
    "EventSpec",
    "Found",
    "ItemOutcome",
    "MailboxError",
    "Session",
    "TaskSpec",
    "apply_action",
    "check_action",
    "create_tasks",
    "event_from_json",
    "explain",
    "is_transient",
    "item_key",
    "job_key_prefix",
    "parse_events_csv",
    "parse_ics",
    "parse_tasks_csv",
    "publish_events",
    "search",
    "task_from_json",
]
