"""What can go wrong while a job works a mailbox, sorted the way the caller must react.

* :class:`Busy` — Exchange throttled the call (ErrorServerBusy): wait ``back_off_s`` and send
  the same batch again (or hand the chunk back). Nothing in the batch is known to be done.
* :class:`MailboxError` — this mailbox cannot be worked at all (not in the application's scope,
  no such mailbox, EWS off for it, token refused, folder missing): record it for the mailbox
  and go on with the others. ``transient`` says whether retrying later may help.
* Anything else (network, TLS, Exchange's internal errors) propagates as raised; the caller
  decides whether to retry the chunk. :func:`explain` words every one of them for people.

Per-item errors never raise: they come back as failed outcomes (see :mod:`.services`).
"""

from __future__ import annotations

import contextlib
import re

import requests
from exchangelib import errors as exerr
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from connectivity import explain as netexplain
from connectivity.ews import TokenError
from connectivity.i18n import N_, Msg
from connectivity.probes.ews import ACCESS_DENIED_HINT, IMPERSONATION_HINT

DEFAULT_BACK_OFF_S = 1.0


class Busy(Exception):
    """Exchange said ErrorServerBusy; wait ``back_off_s`` seconds before the next try."""

    def __init__(self, back_off_s: float | None = None):
        self.back_off_s = float(back_off_s) if back_off_s and back_off_s > 0 else DEFAULT_BACK_OFF_S
        super().__init__(busy_words(self.back_off_s))


class MailboxError(Exception):
    """The whole mailbox cannot be worked: ``code`` (Exchange response code, ``"token"``,
    ``"http403"``...) and ``words`` (a sentence for people, with what to do)."""

    def __init__(self, code: str, words: str, *, transient: bool = False):
        self.code = code
        self.words = words
        self.transient = transient
        super().__init__(words)


def busy_words(seconds: float) -> Msg:
    return N_(
        "Exchange is throttling the application (ErrorServerBusy) and asked it to wait "
        "%(seconds)s s. What to do: nothing, the job waits and goes on; if it happens often, "
        "run fewer mailboxes at a time.",
        seconds=f"{seconds:g}",
    )


# --- mailbox-level failures -----------------------------------------------------------------
_IMPERSONATION = (exerr.ErrorImpersonateUserDenied, exerr.ErrorImpersonationDenied)
_NO_MAILBOX = (exerr.ErrorNonExistentMailbox, exerr.ErrorInvalidSmtpAddress)
_UNAVAILABLE = (exerr.ErrorMailboxStoreUnavailable, exerr.ErrorMailboxMoveInProgress)
_EXCHANGE_TRANSIENT = (
    exerr.ErrorTimeoutExpired, exerr.ErrorInternalServerError,
    exerr.ErrorInternalServerTransientError, exerr.ErrorTooManyObjectsOpened,
    exerr.ErrorExceededConnectionCount,
)  # fmt: skip
_HTTP_STATUS = re.compile(r"Code: (\d{3}) ")
_HTTP_CONTENT = re.compile(r"content: b?['\"]?(.*?)['\"]?$", re.S)


def token_words(error: str, mailbox: str = "") -> Msg:
    advice = N_(
        "What to do: check the application's client id and secret (secrets expire) and that it "
        "has the full_access_as_app permission with admin consent."
    )
    if mailbox:
        return N_(
            "The application could not sign in: the token endpoint refused it (%(error)s). "
            "Nothing was done in %(mailbox)s. %(advice)s",
            error=error, mailbox=mailbox, advice=advice,
        )  # fmt: skip
    return N_(
        "The application could not sign in: the token endpoint refused it (%(error)s). "
        "%(advice)s",
        error=error, advice=advice,
    )  # fmt: skip


def _http_status(exc: BaseException) -> int | None:
    found = _HTTP_STATUS.search(str(exc))
    return int(found.group(1)) if found else None


def _http_content(exc: BaseException) -> str:
    found = _HTTP_CONTENT.search(str(exc))
    return (found.group(1).strip() if found else "")[:200]


def mailbox_error(exc: BaseException, mailbox: str) -> MailboxError | None:
    """The MailboxError for ``exc`` when it means the whole mailbox cannot be worked."""
    code = type(exc).__name__
    if isinstance(exc, _IMPERSONATION):
        return MailboxError(code, N_(
            "The application may not act as %(mailbox)s: Exchange refused to impersonate it "
            "(%(code)s). What to do: add the mailbox to the scope the application was granted, "
            "or remove it from the job's targets. %(hint)s",
            mailbox=mailbox, code=code, hint=IMPERSONATION_HINT,
        ))  # fmt: skip
    if isinstance(exc, _NO_MAILBOX):
        return MailboxError(code, N_(
            "Exchange has no mailbox %(mailbox)s (%(code)s). What to do: check the address (a "
            "typing error, a removed user or a contact without a mailbox) and remove it from the "
            "job's targets.",
            mailbox=mailbox, code=code,
        ))  # fmt: skip
    if isinstance(exc, exerr.ErrorAccessDenied) or (
        isinstance(exc, exerr.MalformedResponseError) and _http_status(exc) == 403
    ):
        code = code if isinstance(exc, exerr.ErrorAccessDenied) else "http403"
        return MailboxError(code, N_(
            "Exchange refused access to %(mailbox)s (%(code)s: %(reason)s). What to do: %(hint)s",
            mailbox=mailbox, code=code, reason=_reason(exc), hint=ACCESS_DENIED_HINT,
        ))  # fmt: skip
    if isinstance(exc, exerr.UnauthorizedError):
        return MailboxError("http401", N_(
            "Exchange refused the application's sign-in (401) for %(mailbox)s. What to do: check "
            "that the token is for https://outlook.office365.com with the full_access_as_app "
            "permission (Exchange Online), or the service account's password (Exchange Server).",
            mailbox=mailbox,
        ))  # fmt: skip
    if isinstance(exc, TokenError):
        return MailboxError("token", token_words(f"HTTP {exc.status} {exc.error}", mailbox))
    if isinstance(exc, OAuth2Error):
        return MailboxError("token", token_words(exc.error or code, mailbox))
    if isinstance(exc, _UNAVAILABLE):
        return MailboxError(code, N_(
            "%(mailbox)s cannot be opened right now (%(code)s: it is being moved or its database "
            "is offline). What to do: retry this mailbox later.",
            mailbox=mailbox, code=code,
        ), transient=True)  # fmt: skip
    if isinstance(exc, exerr.ErrorQuotaExceeded):
        return MailboxError(code, N_(
            "%(mailbox)s is full (ErrorQuotaExceeded). What to do: free space in it or raise its "
            "quota, then retry the failed mailboxes.",
            mailbox=mailbox,
        ))  # fmt: skip
    return None


def folder_missing(mailbox: str, folder: str) -> MailboxError:
    return MailboxError("ErrorFolderNotFound", N_(
        "The folder %(folder)s does not exist in %(mailbox)s. What to do: check the folder path "
        "(names separated by /, starting with a well-known folder such as inbox) or create the "
        "folder in that mailbox.",
        folder=folder, mailbox=mailbox,
    ))  # fmt: skip


@contextlib.contextmanager
def ews_call(mailbox: str):
    """Turn throttling into Busy and mailbox-level failures into MailboxError."""
    try:
        yield
    except exerr.ErrorServerBusy as exc:
        raise Busy(exc.back_off) from exc
    except (exerr.EWSError, TokenError, OAuth2Error) as exc:
        found = mailbox_error(exc, mailbox)
        if found is None:
            raise
        raise found from exc


def raise_for_results(results: list, mailbox: str) -> None:
    """A per-item answer that concerns the whole call or mailbox is raised as such."""
    for result in results:
        if isinstance(result, exerr.ErrorServerBusy):
            raise Busy(result.back_off) from result
        if isinstance(result, BaseException):
            found = mailbox_error(result, mailbox)
            if found is not None:
                raise found from result


# --- words for anything -------------------------------------------------------------------
def _reason(exc: BaseException) -> str:
    """Exchange's own text for an error, without headers or dicts."""
    if isinstance(exc, exerr.MalformedResponseError):
        return _http_content(exc) or f"HTTP {_http_status(exc)}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text[:200]


ITEM_WORDS = {
    "ErrorItemNotFound": N_(
        "the item no longer exists (it was moved or deleted after it was found). What to do: "
        "nothing, or run the search again."
    ),
    "ErrorCalendarEndDateIsEarlierThanStartDate": N_(
        "the event ends before it starts. What to do: correct its end time and publish it again."
    ),
    "ErrorCalendarDurationIsTooLong": N_(
        "the event is longer than Exchange allows (five years). What to do: shorten it."
    ),
    "ErrorInvalidRecipients": N_(
        "Exchange refused the recipient address. What to do: check the forwarding address."
    ),
    "ErrorMessageSizeExceeded": N_(
        "the message is larger than the size limit. What to do: forward a smaller message or "
        "raise the limit."
    ),
    "ErrorIrresolvableConflict": N_(
        "the item changed while the job worked on it. What to do: run the job again."
    ),
    "ErrorInvalidPropertySet": N_(
        "Exchange refused one of the item's values. What to do: check the item's fields."
    ),
}


def explain(exc: BaseException) -> str:
    """English words and what to do, for any exchangelib / requests / token error."""
    if isinstance(exc, MailboxError):
        return exc.words
    if isinstance(exc, Busy):
        return str(exc)
    if isinstance(exc, exerr.ErrorServerBusy):
        return busy_words(exc.back_off or DEFAULT_BACK_OFF_S)
    if isinstance(exc, TokenError):
        return token_words(f"HTTP {exc.status} {exc.error}")
    if isinstance(exc, OAuth2Error):
        return token_words(exc.error or type(exc).__name__)
    if isinstance(exc, Msg):  # already words
        return exc
    if isinstance(exc, ValueError):
        if exc.args and isinstance(exc.args[0], Msg):
            return exc.args[0]
        return N_("the item is not valid (%(reason)s). What to do: correct it and try again.",
                  reason=str(exc)[:200])  # fmt: skip
    code = type(exc).__name__
    if isinstance(exc, exerr.ResponseMessageError):
        found = mailbox_error(exc, N_("the mailbox"))
        if found is not None:
            return found.words
        if code in ITEM_WORDS:
            return N_("Exchange refused it: %(what)s", what=ITEM_WORDS[code])
        if isinstance(exc, _EXCHANGE_TRANSIENT):
            return N_(
                "Exchange failed on its side (%(code)s). What to do: try again later; if it "
                "persists, ask the Exchange administrators to check the server.",
                code=code,
            )
        return N_(
            "Exchange refused it (%(code)s: %(reason)s). What to do: check the item and the "
            "job's settings; if the reason is unclear, look the code up in Microsoft's EWS "
            "response code list.",
            code=code, reason=_reason(exc),
        )  # fmt: skip
    found = mailbox_error(exc, N_("the mailbox")) if isinstance(exc, exerr.EWSError) else None
    if found is not None:
        return found.words
    if isinstance(exc, exerr.MalformedResponseError | exerr.CASError):
        status = _http_status(exc)
        return N_(
            "Exchange answered with an error page (HTTP %(status)s: %(reason)s) instead of an EWS "
            "answer. What to do: check the EWS address and that EWS is enabled; try again later "
            "if the server was restarting.",
            status=status or "?", reason=_reason(exc),
        )  # fmt: skip
    if isinstance(exc, requests.RequestException | OSError | exerr.TransportError):
        detail, hint = netexplain.explain(exc)
        return N_("%(problem)s. %(advice)s", problem=detail, advice=hint)
    return N_(
        "The job stopped on an unexpected error (%(kind)s). What to do: try again; if it fails "
        "again, the worker's log has the details.",
        kind=code,
    )


def is_transient(exc: BaseException) -> bool:
    """Whether trying the same chunk again later may succeed (network, throttling, Exchange's
    temporary failures) rather than fail the same way."""
    if isinstance(exc, Busy | exerr.ErrorServerBusy):
        return True
    if isinstance(exc, MailboxError):
        return exc.transient
    if isinstance(exc, exerr.ResponseMessageError):
        return isinstance(exc, _EXCHANGE_TRANSIENT + _UNAVAILABLE)
    if isinstance(exc, exerr.MalformedResponseError):
        return (_http_status(exc) or 0) >= 500
    return isinstance(exc, requests.RequestException | OSError | exerr.TransportError)
