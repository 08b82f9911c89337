"""Acting as the application: one :class:`Session` per worker thread, one Account per mailbox.

Like :mod:`connectivity.grants_verify`, the application signs in app-only (client credentials
token) and impersonates each mailbox (ExchangeImpersonation + X-AnchorMailbox); on Exchange
Server a service account with ApplicationImpersonation signs in with its password instead.

Why one Session per thread: exchangelib shares one Protocol (HTTP session pool, retry policy)
between every Account whose credentials compare equal, and exchangelib 5.6 can deadlock when
ErrorServerBusy shrinks a pool that several threads are using. Each Session therefore gets
credentials of its own (a private marker makes them compare unequal to any other Session's),
hence a Protocol of its own with a single HTTP connection, and never retries inside
exchangelib (FailFast): throttling surfaces as :class:`~.errors.Busy` to the caller.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass

from exchangelib import Account, FailFast, Identity
from exchangelib.folders import Root
from exchangelib.properties import DistinguishedFolderId, Mailbox
from exchangelib.protocol import Protocol

from connectivity.ews import (
    EXO_SCOPE,
    PASSWORD_AUTH,
    basic_credentials,
    build_account,
    fetch_token,
    oauth_credentials,
)

from .errors import ews_call

AUTH_KINDS = ("oauth", *PASSWORD_AUTH)  # oauth | basic | ntlm
ACCOUNT_CACHE = 16  # mailboxes kept open per Session (each holds its folders' ids)
TOKEN_MARGIN_S = 300  # fetch a new token this long before the current one expires
BUSY_WAIT_S = 1.0  # what ErrorServerBusy without BackOffMilliseconds asks for


@dataclass(frozen=True)
class AppAccess:
    """How to act as the application; plain fields only (stored as JSON, passed to tasks)."""

    ews_url: str
    token_url: str = ""
    client_id: str = ""
    client_secret: str = ""
    scope: str = EXO_SCOPE
    ca_file: str | None = None
    timeout: float = 30.0
    username: str = ""
    password: str = ""
    auth: str = "oauth"  # oauth | basic | ntlm

    def __post_init__(self):
        if self.auth not in AUTH_KINDS:
            raise ValueError(f"auth must be one of {', '.join(AUTH_KINDS)}")
        if not self.timeout or self.timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")

    def as_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> AppAccess:
        return cls(**data)

    def __repr__(self) -> str:  # never print the secret or the password
        return (
            f"AppAccess(ews_url={self.ews_url!r}, client_id={self.client_id!r}, "
            f"username={self.username!r}, auth={self.auth!r})"
        )


class Session:
    """The application's connection for ONE thread: token, Protocol and mailbox Accounts."""

    def __init__(self, access: AppAccess):
        self.access = access
        self._marker = uuid.uuid4().hex
        self._credentials = None
        self._token: dict | None = None
        self._accounts: OrderedDict[str, Account] = OrderedDict()
        self.folders: dict[tuple[str, str], object] = {}  # (mailbox, path) -> exchangelib folder
        self._closed = False

    # --- credentials --------------------------------------------------------------------------
    def _current_credentials(self, mailbox: str):
        access = self.access
        if access.auth != "oauth":
            if self._credentials is None:
                self._credentials = basic_credentials(access.username, access.password)
                self._credentials._session_marker = self._marker
            return self._credentials
        if self._token is None or self._token["expires_at"] - TOKEN_MARGIN_S < time.time():
            with ews_call(mailbox):  # a refused token becomes MailboxError("token")
                self._token = fetch_token(
                    access.token_url, access.client_id, access.client_secret,
                    scope=access.scope, ca_file=access.ca_file, timeout=access.timeout,
                )  # fmt: skip
            if self._credentials is not None:
                # Sessions in exchangelib's pool notice the new token when theirs expires.
                self._credentials.on_token_auto_refreshed(self._token)
        if self._credentials is None:
            creds = oauth_credentials(
                access.token_url, access.client_id, access.client_secret,
                token=self._token, scope=access.scope,
            )  # fmt: skip
            creds._session_marker = self._marker  # this Session's own Protocol (see above)
            # exchangelib caches the OAuth client in the credentials' __dict__ on first use,
            # which changes their hash: every later Account would miss the Protocol cache and
            # build (and leak) a Protocol of its own, with a version check each. Creating the
            # client now keeps the hash stable: one Protocol for the whole Session.
            _ = creds.client
            self._credentials = creds
        return self._credentials

    # --- accounts -----------------------------------------------------------------------------
    def account(self, mailbox: str) -> Account:
        """The exchangelib Account for ``mailbox`` (impersonated), kept for the next calls."""
        if self._closed:
            raise RuntimeError("this Session is closed")
        mailbox = mailbox.strip().lower()
        creds = self._current_credentials(mailbox)
        found = self._accounts.get(mailbox)
        if found is not None:
            self._accounts.move_to_end(mailbox)
            return found
        access = self.access
        if access.auth == "oauth" and not self._version_known():
            # exchangelib learns the server version with a call that is not about a mailbox; an
            # app-only token must impersonate someone even then (as in grants_verify).
            creds.identity = Identity(primary_smtp_address=mailbox)
        account = build_account(
            mailbox, creds, ews_url=access.ews_url, impersonation=True, ca_file=access.ca_file,
            timeout=access.timeout, retry_policy=FailFast(), max_connections=1,
            auth=access.auth if access.auth in PASSWORD_AUTH else "basic",
        )  # fmt: skip
        account.protocol.RETRY_WAIT = BUSY_WAIT_S
        self._accounts[mailbox] = account
        while len(self._accounts) > ACCOUNT_CACHE:
            old, _ = self._accounts.popitem(last=False)
            self.folders = {k: v for k, v in self.folders.items() if k[0] != old}
        return account

    def well_known(self, mailbox: str, folder_cls):
        """A well-known folder of ``mailbox`` (Calendar, Tasks, Inbox...), addressed by its
        distinguished name. exchangelib's ``account.calendar`` first asks Exchange for the root
        and then for the folder: two requests per mailbox that a batch does not need."""
        key = (mailbox.strip().lower(), f"well-known:{folder_cls.DISTINGUISHED_FOLDER_ID}")
        found = self.folders.get(key)
        if found is None:
            account = self.account(mailbox)
            # The id is set from the start: exchangelib hashes folders by it while paging.
            found = folder_cls(
                root=Root(account=account),
                _distinguished_id=DistinguishedFolderId(
                    id=folder_cls.DISTINGUISHED_FOLDER_ID,
                    mailbox=Mailbox(email_address=account.primary_smtp_address),
                ),
            )
            self.folders[key] = found
        return found

    def _version_known(self) -> bool:
        versions = (a.protocol.config.version for a in self._accounts.values())
        return any(getattr(v, "build", None) for v in versions)

    def close(self) -> None:
        """Close the HTTP connections and drop this Session's Protocol from exchangelib's cache."""
        self._closed = True
        accounts, self._accounts = list(self._accounts.values()), OrderedDict()
        self.folders = {}
        if not accounts:
            return
        for protocol in {id(a.protocol): a.protocol for a in accounts}.values():
            with contextlib.suppress(KeyError):
                del Protocol[protocol.config]
            with contextlib.suppress(Exception):  # closing must not hide the caller's error
                protocol.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
