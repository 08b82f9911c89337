"""NTLM (NTLMv2) authentication for the sandbox's HTTP endpoints, as Exchange Server's IIS
offers it next to Basic.

NTLM authenticates a connection, not a request: the client sends NEGOTIATE, the server answers
401 with a CHALLENGE, the client sends AUTHENTICATE on the same connection and from then on the
connection is the user's. `NtlmAcceptor` holds that per-connection state; the HTTP handler keeps
one per connection. Only NTLMv2 responses are accepted (NTLMv1/LM are refused, as current
Windows servers do with the default LmCompatibilityLevel); the proof is verified against the
mailbox password. Message signing/sealing is not offered — HTTP relies on TLS for that.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import struct
import time

from spnego._ntlm_raw.md4 import md4  # hashlib's MD4 is gone from OpenSSL 3's default set

from .auth import AuthError, Principal
from .store import Store

SIGNATURE = b"NTLMSSP\x00"
NEGOTIATE_UNICODE = 0x00000001
REQUEST_TARGET = 0x00000004
NEGOTIATE_NTLM = 0x00000200
NEGOTIATE_ALWAYS_SIGN = 0x00008000
TARGET_TYPE_DOMAIN = 0x00010000
NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000
NEGOTIATE_TARGET_INFO = 0x00800000
NEGOTIATE_VERSION = 0x02000000
NEGOTIATE_128 = 0x20000000
NEGOTIATE_KEY_EXCH = 0x40000000
NEGOTIATE_56 = 0x80000000
SERVER_FLAGS = (
    NEGOTIATE_UNICODE | REQUEST_TARGET | NEGOTIATE_NTLM | NEGOTIATE_ALWAYS_SIGN
    | TARGET_TYPE_DOMAIN | NEGOTIATE_EXTENDED_SESSIONSECURITY | NEGOTIATE_TARGET_INFO
    | NEGOTIATE_VERSION | NEGOTIATE_128 | NEGOTIATE_KEY_EXCH | NEGOTIATE_56
)  # fmt: skip
# Windows Server 2016 build 14393, NTLM revision 15.
VERSION = struct.pack("<BBHxxxB", 10, 0, 14393, 15)
SCHEMES = ("NTLM", "Negotiate")


class NtlmError(AuthError):
    def __init__(self, reason: str):
        super().__init__(401, reason, error="")


def _fields(data: bytes, offset: int) -> bytes:
    length, _, start = struct.unpack_from("<HHI", data, offset)
    if start + length > len(data):
        raise NtlmError("Malformed NTLM message.")
    return data[start : start + length]


def _av_pairs(pairs: list[tuple[int, bytes]]) -> bytes:
    out = b"".join(struct.pack("<HH", av_id, len(value)) + value for av_id, value in pairs)
    return out + struct.pack("<HH", 0, 0)  # MsvAvEOL


def nt_proof(password: str, user: str, domain: str, challenge: bytes, blob: bytes) -> bytes:
    """NTProofStr of NTLMv2 (MS-NLMP 3.3.2)."""
    nt_hash = md4(password.encode("utf-16-le"))
    key = hmac.digest(nt_hash, (user.upper() + domain).encode("utf-16-le"), "md5")
    return hmac.digest(key, challenge + blob, "md5")


class NtlmAcceptor:
    """The server side of one connection's NTLM handshake."""

    def __init__(self, store: Store, domain: str):
        self.store = store
        self.domain = domain
        self.netbios = domain.split(".")[0].upper()[:15]
        self.challenge: bytes | None = None
        self.principal: Principal | None = None  # set once the connection is authenticated

    def step(self, token_b64: str) -> tuple[str | None, Principal | None]:
        """Feed the client's token: (challenge to send back, None) or (None, principal)."""
        try:
            data = base64.b64decode(token_b64.strip(), validate=True)
        except binascii.Error:
            raise NtlmError("Malformed NTLM token.") from None
        if len(data) < 12 or not data.startswith(SIGNATURE):
            raise NtlmError("Only raw NTLM tokens are accepted.")
        (kind,) = struct.unpack_from("<I", data, 8)
        if kind == 1:
            self.principal = None
            return base64.b64encode(self._challenge_message()).decode(), None
        if kind == 3 and self.challenge is not None:
            challenge, self.challenge = self.challenge, None
            self.principal = self._verify(data, challenge)
            return None, self.principal
        raise NtlmError("Unexpected NTLM message.")

    def _challenge_message(self) -> bytes:
        self.challenge = os.urandom(8)
        name = self.netbios.encode("utf-16-le")
        filetime = int((time.time() + 11644473600) * 10_000_000)
        info = _av_pairs(
            [
                (2, name),  # MsvAvNbDomainName
                (1, "SANDBOX-EX01".encode("utf-16-le")),  # MsvAvNbComputerName
                (4, self.domain.encode("utf-16-le")),  # MsvAvDnsDomainName
                (3, f"ex01.{self.domain}".encode("utf-16-le")),  # MsvAvDnsComputerName
                (7, struct.pack("<Q", filetime)),  # MsvAvTimestamp
            ]
        )
        header_len = 56
        return (
            SIGNATURE
            + struct.pack("<I", 2)
            + struct.pack("<HHI", len(name), len(name), header_len)
            + struct.pack("<I", SERVER_FLAGS)
            + self.challenge
            + b"\x00" * 8
            + struct.pack("<HHI", len(info), len(info), header_len + len(name))
            + VERSION
            + name
            + info
        )

    def _verify(self, data: bytes, challenge: bytes) -> Principal:
        if len(data) < 64:
            raise NtlmError("Malformed NTLM message.")
        nt_response = _fields(data, 20)
        domain_raw, user_raw = _fields(data, 28), _fields(data, 36)
        try:
            domain = domain_raw.decode("utf-16-le")
            user = user_raw.decode("utf-16-le")
        except UnicodeDecodeError:
            raise NtlmError("Malformed NTLM message.") from None
        if len(nt_response) <= 24:
            raise NtlmError("NTLMv1 and anonymous logons are refused; NTLMv2 is required.")
        address = user if "@" in user else f"{user}@{self.domain}"
        mailbox = self.store.get_mailbox(address)
        proof, blob = nt_response[:16], nt_response[16:]
        if mailbox is None or not hmac.compare_digest(
            proof, nt_proof(mailbox["password"], user, domain, challenge, blob)
        ):
            raise NtlmError("Invalid user name or password.")
        return Principal("user", user=mailbox["address"])
