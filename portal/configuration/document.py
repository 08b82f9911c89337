"""Reading a configuration document safely.

Everything that could cost memory or time is refused while the YAML is still a stream of
parser events, before a single Python object is built: documents over ``MAX_BYTES``, nesting
deeper than ``MAX_DEPTH``, and every anchor and alias (so "billion laughs" stops at its first
anchor). Only then does ``yaml``'s safe loader construct the data, refusing duplicate keys.
"""

from __future__ import annotations

import hashlib

import yaml
from django.utils.translation import gettext as _

MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 16

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DocumentError(Exception):
    """The file is not a readable configuration document; ``path`` says where."""

    def __init__(self, message: str, path: str = ""):
        super().__init__(message)
        self.message = message
        self.path = path


class _StrictLoader(_Loader):
    """The safe loader (C-accelerated when available), refusing duplicate keys."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, list | dict):
                raise DocumentError(_("A key must be plain text."), _where(key_node))
            if key in seen:
                raise DocumentError(
                    _("The key “%(key)s” appears twice in the same record.") % {"key": key},
                    _where(key_node),
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _aliases_message() -> str:
    return _("Anchors and aliases (&name, *name) are not accepted: write each value out in full.")


def _where(item) -> str:
    return _at(getattr(item, "start_mark", None))


def _at(mark) -> str:
    if mark is None:
        return ""
    where = {"line": mark.line + 1, "column": mark.column + 1}
    return _("line %(line)d, column %(column)d") % where


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_limited(stream) -> bytes:
    """At most one byte more than ``MAX_BYTES``: enough for ``parse`` to refuse a larger one."""
    return stream.read(MAX_BYTES + 1)


def too_large_message() -> str:
    return _("The document is larger than %(mb)d MB: split it or remove what is not needed.") % {
        "mb": MAX_BYTES // (1024 * 1024)
    }


def parse(data: bytes):
    """The document's data (dicts, lists, scalars), or DocumentError."""
    if len(data) > MAX_BYTES:
        raise DocumentError(too_large_message())
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DocumentError(_("The document is not UTF-8 text."))
    try:
        _scan(text)
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 — a SafeLoader subclass
    except DocumentError:
        raise
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or exc.context or "syntax error"
        raise DocumentError(
            _("This is not valid YAML: %(problem)s.") % {"problem": problem},
            _at(exc.problem_mark),
        )
    except yaml.YAMLError:
        raise DocumentError(_("This is not valid YAML."))


def _scan(text: str) -> None:
    """Walk the parser's events: refuse anchors, aliases, several documents and deep nesting."""
    depth = 0
    documents = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise DocumentError(_aliases_message(), _where(event))
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise DocumentError(_("Put the whole configuration in one YAML document."))
        elif isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise DocumentError(
                    _("The document nests deeper than %(n)d levels.") % {"n": MAX_DEPTH},
                    _where(event),
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
