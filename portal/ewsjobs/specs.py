"""The parameters of each kind, checked by the engine's own parsers and stored as plain JSON."""

from django.conf import settings
from django.utils.translation import gettext_noop

from connectivity.i18n import Msg
from portal.ewsjobs.scope import Refused

# The word for what a batch holds, filled into the refusals below: translated when shown (a
# bare "events" stayed English inside the Russian sentence).
WHAT = {"events": gettext_noop("calendar events"), "tasks": gettext_noop("tasks")}


def _reason(exc: Exception) -> str:
    """The engine's sentence, kept translatable (a Msg) so the page can show it in Russian."""
    first = exc.args[0] if exc.args else ""
    return first if isinstance(first, Msg) else str(exc)[:300]


def _items(params: dict, name: str, parse, csv_parse, ics_parse=None) -> list[dict]:
    items = params.get(name)
    try:
        if isinstance(params.get("csv"), str):
            specs = csv_parse(params["csv"])
        elif ics_parse and isinstance(params.get("ics"), str):
            specs = ics_parse(params["ics"].encode("utf-8", "surrogateescape"))
        elif isinstance(items, list):
            specs = [parse(item) for item in items]
        elif isinstance(params.get(name[:-1]), dict):
            specs = [parse(params[name[:-1]])]
        else:
            raise ValueError(f"give {name} as a list, one {name[:-1]}, or a csv")
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        words = gettext_noop("The %(what)s are not valid: %(error)s. Nothing was started.")
        raise Refused(words, what=WHAT[name], error=_reason(exc)) from exc
    if not specs:
        raise Refused(gettext_noop("There is nothing to create: the list of %(what)s is empty."),
                      what=WHAT[name])  # fmt: skip
    if len(specs) > settings.EWS_JOB_MAX_ITEMS:
        raise Refused(gettext_noop("A job creates at most %(max)s %(what)s per mailbox."),
                      max=settings.EWS_JOB_MAX_ITEMS, what=WHAT[name])  # fmt: skip
    return [s.as_json() for s in specs]


def _criteria(params: dict) -> dict:
    from connectivity import ewsjobs as engine

    try:
        return engine.Criteria.from_json(params.get("criteria") or {}).as_json()
    except (ValueError, TypeError) as exc:
        raise Refused(gettext_noop("The search criteria are not valid: %(error)s."),
                      error=_reason(exc)) from exc  # fmt: skip


def validate(kind: str, params: dict) -> dict:
    from connectivity import ewsjobs as engine

    if not isinstance(params, dict):
        raise Refused(gettext_noop("The parameters must be a JSON object."))
    if kind == "publish":
        return {"events": _items(params, "events", engine.event_from_json,
                                 engine.parse_events_csv, engine.parse_ics)}  # fmt: skip
    if kind == "tasks":
        return {"tasks": _items(params, "tasks", engine.task_from_json, engine.parse_tasks_csv)}
    criteria = _criteria(params)
    if kind == "search":
        return {"criteria": criteria}
    try:
        action = engine.Action.from_json(params.get("action") or {}).as_json()
    except (ValueError, TypeError) as exc:
        raise Refused(gettext_noop("The rule's action is not valid: %(error)s."),
                      error=_reason(exc)) from exc  # fmt: skip
    return {"criteria": criteria, "action": action}
