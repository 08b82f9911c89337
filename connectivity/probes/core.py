"""Shared probe machinery: steps, results and the step recorder.

A probe is a function that runs a fixed plan of named steps against one target and returns a
:class:`ProbeResult`.  Each step is run inside :meth:`Recorder.step`, which times it, turns
exceptions into ``fail`` steps with a hint, and — after a *fatal* failure — marks every remaining
planned step as ``skip``.  Every finished step is handed to the optional ``on_step`` callback so a
caller can stream progress live.

Typical probe body::

    rec = Recorder("smtp", "mail.example.com:587", plan=[...], on_step=on_step, secrets=[pw])
    with rec:
        with rec.step("Banner") as s:
            s.detail = banner
    return rec.result
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from connectivity.explain import explain
from connectivity.i18n import N_, Msg, message_of

log = logging.getLogger(__name__)

REDACTED = "***"


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass
class Step:
    name: str
    status: Status = Status.PASS
    detail: str = ""
    hint: str = ""
    ms: int = 0

    def to_dict(self, messages: bool = False) -> dict:
        """The step as JSON; ``messages`` adds the translatable form of detail and hint."""
        data = {
            "name": self.name,
            "status": str(self.status),
            "detail": self.detail,
            "hint": self.hint,
            "ms": self.ms,
        }
        if messages:
            for key in ("detail", "hint"):
                message = message_of(getattr(self, key))
                if message:
                    data[f"{key}_msg"] = message
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Step:
        """The step ``to_dict(messages=True)`` made, translatable sentences included."""
        texts = {}
        for key in ("detail", "hint"):
            text, message = data[key], data.get(f"{key}_msg")
            sentence = Msg.from_json(message) if message else None
            texts[key] = sentence if sentence is not None and sentence == text else text
        return cls(data["name"], Status(data["status"]), texts["detail"], texts["hint"],
                   data["ms"])  # fmt: skip


@dataclass
class ProbeResult:
    probe: str
    target: str
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no step failed (warnings and skips after a pass are allowed)."""
        return not any(s.status == Status.FAIL for s in self.steps)

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)

    @classmethod
    def from_dict(cls, data: dict) -> ProbeResult:
        steps = [Step.from_dict(s) for s in data["steps"]]
        return cls(data["probe"], data["target"], steps)

    def to_dict(self) -> dict:
        return {
            "probe": self.probe,
            "target": self.target,
            "ok": self.ok,
            "steps": [s.to_dict() for s in self.steps],
        }


OnStep = Callable[[Step], None]


class InvalidInput(ValueError):
    """A probe argument is unusable (e.g. CR/LF in an SMTP address); raised before any I/O."""


class StepFailed(Exception):  # noqa: N818 - reads naturally as ``raise StepFailed(...)``
    def __init__(self, detail: str, hint: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.hint = hint


class StepWarned(Exception):  # noqa: N818
    """End a step as a warning (used where a check is reported but not enforced)."""

    def __init__(self, detail: str, hint: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.hint = hint


class StepSkipped(Exception):  # noqa: N818
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ProbeAborted(Exception):  # noqa: N818
    """Raised out of a fatal failed step; caught by the Recorder's ``with`` block."""


class StepHandle:
    """What the body of ``with rec.step(...)`` gets: set ``detail``, or warn/fail/skip."""

    def __init__(self, step: Step) -> None:
        self._step = step

    @property
    def detail(self) -> str:
        return self._step.detail

    @detail.setter
    def detail(self, value: str) -> None:
        self._step.detail = value

    def warn(self, detail: str, hint: str) -> None:
        """Mark the step as a warning; the body continues."""
        self._step.status = Status.WARN
        self._step.detail = detail
        self._step.hint = hint

    def fail(self, detail: str, hint: str) -> None:
        raise StepFailed(detail, hint)

    def skip(self, detail: str) -> None:
        raise StepSkipped(detail)


HintFn = Callable[[BaseException], "tuple[str, str] | None"]


def explain_exception(exc: BaseException, timeout: float | None = None) -> tuple[str, str]:
    """Turn a network exception into (detail, hint) in plain words (see connectivity.explain)."""
    return explain(exc, timeout=timeout)


class Recorder:
    """Runs and records the steps of one probe run."""

    def __init__(
        self,
        probe: str,
        target: str,
        plan: Iterable[str] = (),
        on_step: OnStep | None = None,
        secrets: Iterable[str | None] = (),
        timeout: float | None = None,
    ) -> None:
        self.result = ProbeResult(probe, target)
        self.plan = list(plan)
        self.on_step = on_step
        self.secrets = [s for s in secrets if s]
        self.timeout = timeout
        self.aborted_by: str | None = None
        self.context: dict = {}  # free-form facts shared between steps (e.g. tls trust)

    # -- secrets ---------------------------------------------------------------
    def add_secret(self, value: str | None) -> None:
        if value:
            self.secrets.append(value)

    def scrub(self, text: str) -> str:
        if not self.secrets or not text:
            return text
        if isinstance(text, Msg):
            if not _mentions(text, self.secrets):
                return text  # nothing to replace: keep the sentence, do not rebuild it
            # Scrub the arguments so the sentence stays translatable; a secret that only
            # appears across arguments falls through to the plain replacement below.
            text = text.replace_in_args(self._scrub_plain)
            if not any(secret in text for secret in self.secrets):
                return text
        return self._scrub_plain(text)

    def _scrub_plain(self, text: str) -> str:
        for secret in self.secrets:
            if secret and secret in text:
                text = text.replace(secret, REDACTED)
        return text

    # -- recording -------------------------------------------------------------
    def _emit(self, step: Step) -> None:
        step.detail = self.scrub(step.detail or "")
        step.hint = self.scrub(step.hint or "")
        self.result.steps.append(step)
        if self.on_step is not None:
            try:
                self.on_step(step)
            except Exception:  # a broken listener must not break the probe
                log.exception("on_step callback failed")

    def record(self, name: str, status: Status, detail: str = "", hint: str = "") -> Step:
        step = Step(name, status, detail, hint, 0)
        self._emit(step)
        return step

    def skip_rest(self, reason: str) -> None:
        done = {s.name for s in self.result.steps}
        for name in self.plan:
            if name not in done:
                self.record(name, Status.SKIP, reason)
                done.add(name)

    def step(self, name: str, *, fatal: bool = True, hints: HintFn | None = None) -> _StepBlock:
        """Time one step. Exceptions become a ``fail`` step; fatal ones abort the probe."""
        if name not in self.plan:
            self.plan.append(name)
        return _StepBlock(self, Step(name), fatal, hints)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is ProbeAborted:
            self.skip_rest(N_("skipped: step '%(step)s' failed", step=N_(self.aborted_by)))
            return True
        if exc_type is None:
            self.skip_rest(N_("not run"))
            return False
        return False

    def failed(self, name: str) -> bool:
        step = self.result.step(name)
        return step is not None and step.status == Status.FAIL


class _StepBlock:
    """The ``with rec.step(...)`` block: a plain context manager, not a generator one, because a
    probe runs a dozen steps and a fan-out runs hundreds of probes per core."""

    __slots__ = ("rec", "step", "fatal", "hints", "started")

    def __init__(self, rec: Recorder, step: Step, fatal: bool, hints: HintFn | None) -> None:
        self.rec, self.step, self.fatal, self.hints = rec, step, fatal, hints

    def __enter__(self) -> StepHandle:
        self.started = time.perf_counter()
        return StepHandle(self.step)

    def __exit__(self, exc_type, exc, tb) -> bool:
        step, failed = self.step, False
        if exc_type is None:
            pass
        elif issubclass(exc_type, StepSkipped):
            step.status, step.detail = Status.SKIP, exc.detail
        elif issubclass(exc_type, StepWarned):
            step.status, step.detail, step.hint = Status.WARN, exc.detail, exc.hint
        elif issubclass(exc_type, StepFailed):
            step.status, step.detail, step.hint = Status.FAIL, exc.detail, exc.hint
            failed = True
        elif issubclass(exc_type, ProbeAborted) or not issubclass(exc_type, Exception):
            return False  # an abort from a nested step, or KeyboardInterrupt/SystemExit
        else:
            explained = self.hints(exc) if self.hints else None
            detail, hint = explained or explain_exception(exc, self.rec.timeout)
            step.status, step.detail, step.hint = Status.FAIL, detail, hint
            failed = True
        step.ms = round((time.perf_counter() - self.started) * 1000)
        self.rec._emit(step)  # noqa: SLF001 - the block is part of the recorder
        if failed and self.fatal:
            self.rec.aborted_by = step.name
            raise ProbeAborted(step.name) from None
        return True  # the step's exception is recorded, not raised


def _mentions(message: Msg, secrets: list[str]) -> bool:
    """Whether a secret is in the sentence or in any of its arguments (shown or not)."""
    for secret in secrets:
        if secret in message:
            return True
    for value in message.args.values():
        if isinstance(value, Msg):
            if _mentions(value, secrets):
                return True
        elif isinstance(value, str):
            for secret in secrets:
                if secret in value:
                    return True
    return False


# -- input validation (before any I/O) ----------------------------------------------------

_HOST_ALLOWED = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]%")


def reject_crlf(label: str, value: str | None) -> None:
    """Refuse CR, LF and NUL in anything that ends up on a protocol line."""
    if value is not None and any(c in value for c in "\r\n\0"):
        raise InvalidInput(f"{label} must not contain CR, LF or NUL characters")


def looks_numeric(label: str) -> bool:
    """ "1e309", "0x7f", "26 digits": resolvers read such a last label as a number, not a name."""
    if not label[:1].isdigit():
        return False
    if label.lower().startswith("0x"):
        return True
    try:
        float(label)
    except ValueError:
        return False
    return True


def validate_host(host: str) -> str:
    """A host name or IP literal: no spaces, no control characters, sane length, no number
    posing as a name, a well-formed IPv6 literal."""
    if not host or len(host) > 253:
        raise InvalidInput("host must be 1-253 characters")
    bad = sorted({c for c in host if c not in _HOST_ALLOWED})
    if bad:
        raise InvalidInput(f"host contains characters not allowed in a host name: {bad!r}")
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in literal:
        try:
            ipaddress.IPv6Address(literal)
        except ValueError:
            raise InvalidInput(f"host {host!r} is not a valid IPv6 address") from None
        return host
    name = host.removesuffix(".")
    if looks_numeric(name.split(".")[-1]):
        try:
            ipaddress.IPv4Address(name)
        except ValueError:
            raise InvalidInput(
                f"host {host!r} is neither a host name nor a valid IPv4 address"
            ) from None
    return host


def validate_port(port: int) -> int:
    if not 0 < int(port) < 65536:
        raise InvalidInput("port must be 1-65535")
    return int(port)
