"""What the jobs app needs to know about each kind of job, registered by the app that owns it.

The jobs app never imports the apps whose work it runs: each app registers its kinds (from its
``AppConfig.ready``), and the reaper, the start path and the job page call these hooks.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    status: str = ""  # a status value for the badge colour (pass, warn, fail, error, …)
    status_label: str = ""


@dataclass(frozen=True)
class Summary:
    text: str
    links: list[Link] = field(default_factory=list)


def _never(job) -> bool:
    return False


def _nothing(job, *args) -> None:
    return None


@dataclass(frozen=True)
class JobKind:
    name: str
    # Safe to run again from the start (or to resume) after its worker died mid-way?
    repeatable: Callable = _never
    # Before a repeat: put the job's own rows back to where a fresh attempt expects them.
    requeued: Callable = _nothing
    # The job ends without finishing (worker lost, queue unavailable): close its rows with
    # ``reason`` so nothing it created stays "queued" or "running".
    interrupted: Callable = _nothing
    # The outcome in words, with links, for the job page.
    describe: Callable | None = None


_KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    _KINDS[kind.name] = kind
    return kind


def get(name: str) -> JobKind:
    return _KINDS.get(name) or JobKind(name)
