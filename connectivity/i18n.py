"""Sentences a front end can translate: English text that remembers its template and arguments.

The engine speaks English, and the command line prints it as it is.  Every sentence a person
reads is written as ``N_("no MX records for %(domain)s", domain=domain)``: the result *is* the
English string (a ``str``), so nothing else in the engine changes, and it also keeps the
template and the arguments, so the web portal can translate the template and fill in the same
arguments when it shows the step (see :meth:`connectivity.probes.core.Step.to_dict`).

``N_`` is the keyword the portal's ``makemessages`` extracts from this package, so every
template lands in the translation catalogue.  Templates use only ``%(name)s`` placeholders;
an argument may itself be a translatable sentence (it is translated too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


class Msg(str):
    """An English sentence plus the template and arguments it was made from."""

    template: str
    args: dict[str, Any]

    plural: str | None

    def __new__(
        cls, template: str, args: dict[str, Any] | None = None, plural: str | None = None
    ) -> Msg:
        args = {key: _plain(value) for key, value in (args or {}).items()}
        chosen = plural if plural is not None and args.get("n") != 1 else template
        text = str.__new__(cls, chosen % args if args else chosen)
        text.template, text.args, text.plural = template, args, plural
        return text

    def to_json(self) -> dict:
        """``{"text": template, "args": {...}}`` with nested sentences as nested dicts
        (and ``"plural"`` for a sentence whose wording depends on the number ``n``)."""
        data = {
            "text": self.template,
            "args": {k: v.to_json() if isinstance(v, Msg) else v for k, v in self.args.items()},
        }
        if self.plural is not None:
            data["plural"] = self.plural
        return data

    @classmethod
    def from_json(cls, data: dict) -> Msg:
        """The sentence :meth:`to_json` describes (how a step crosses a process boundary)."""
        args = {k: cls.from_json(v) if isinstance(v, dict) else v
                for k, v in data.get("args", {}).items()}  # fmt: skip
        return cls(data["text"], args, data.get("plural"))

    def replace_in_args(self, rewrite: Callable[[str], str]) -> Msg:
        """The same sentence with ``rewrite`` applied to every text argument (to scrub secrets)."""
        args = {
            k: v.replace_in_args(rewrite) if isinstance(v, Msg) else
            rewrite(v) if isinstance(v, str) else v
            for k, v in self.args.items()
        }  # fmt: skip
        return Msg(self.template, args, self.plural)


def _plain(value: Any) -> Any:
    """Arguments stay JSON-friendly: sentences, text and numbers; anything else as its text."""
    if isinstance(value, Msg | int | float) and not isinstance(value, bool):
        return value
    return str(value)


def N_(template: str, /, **args: Any) -> Msg:  # noqa: N802 - the gettext convention
    """Mark ``template`` for translation and fill in ``args`` (English result)."""
    return Msg(template, args)


def NN_(singular: str, plural: str, n: int, /, **args: Any) -> Msg:  # noqa: N802
    """Like :func:`N_` for a sentence about ``n`` things (``%(n)s`` in both forms)."""
    return Msg(singular, {"n": n, **args}, plural)


def join(separator: str, items: Iterable[Any]) -> Msg:
    """``separator.join(items)`` that keeps each item translatable (a list of sentences)."""
    args = {f"i{index}": item for index, item in enumerate(items)}
    return Msg(separator.replace("%", "%%").join(f"%({key})s" for key in args), args)


def message_of(text: Any) -> dict | None:
    """The translatable form of ``text``, or None for text that is not a marked sentence."""
    return text.to_json() if isinstance(text, Msg) else None
