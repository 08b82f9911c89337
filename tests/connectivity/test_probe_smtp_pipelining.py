"""The SMTP probe's test message with and without PIPELINING (RFC 2920), against a peer that
records every read: one write for MAIL/RCPT/DATA where offered, refusals reported by stage, an
accepted DATA after a refusal ended empty, overlong lines, hang-ups and bytes injected ahead of
the STARTTLS handshake."""

from __future__ import annotations

import email
import email.policy

import pytest
from probe_certs import server_context
from probe_rawsmtp import ScriptedSMTP

from connectivity.probes.core import Status
from connectivity.probes.smtp import probe_smtp

FROM, TO = "relay@contoso.test", "noc@contoso.test"
MAIL, RCPT = f"mail FROM:<{FROM}>\r\n".encode(), f"rcpt TO:<{TO}>\r\n".encode()
PIPELINED = MAIL + RCPT + b"data\r\n"


@pytest.fixture(scope="module")
def tls(pki):
    return server_context(pki.leaf("localhost"), pki.tmpdir)


def send(server: ScriptedSMTP, pki):
    return probe_smtp("localhost", server.port, mail_from=FROM, rcpt_to=TO,
                      ca_file=pki.ca_file, timeout=5)  # fmt: skip


def verbs(server: ScriptedSMTP) -> list[str]:
    return [command.split(" ", 1)[0].upper() for command in server.commands]


def no_traceback(result) -> None:
    text = str(result.to_dict())
    assert "Traceback" not in text and "Error(" not in text, text


@pytest.mark.parametrize("pipelining", [True, False])
def test_the_message_is_accepted_with_the_commands_in_one_write_where_offered(pki, tls, pipelining):
    with ScriptedSMTP(tls=tls, pipelining=pipelining) as server:
        result = send(server, pki)
    assert result.ok, result.to_dict()
    assert ("PIPELINING" in result.step("EHLO").detail) is pipelining
    assert verbs(server) == ["EHLO", "STARTTLS", "EHLO", "MAIL", "RCPT", "DATA", "QUIT"]
    over_tls = [chunk for tls_, chunk in server.chunks if tls_]
    if pipelining:
        assert PIPELINED in over_tls  # one TLS record: the client wrote the three at once
    else:
        assert over_tls[1:4] == [MAIL, RCPT, b"data\r\n"]  # each waited for its reply
    [raw] = server.messages
    received = email.message_from_bytes(raw, policy=email.policy.default)
    sent = result.step("Send test message").detail
    assert sent == (f"accepted as {received['Message-ID'].strip()}: "
                    "250 2.6.0 <raw@mail.contoso.test> Queued mail for delivery")  # fmt: skip
    assert server.errors == []


def test_a_refused_recipient_whose_data_got_354_is_ended_empty_then_quit(pki, tls):
    replies = {
        "RCPT": "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP "
        "address lookup",
        ".": "554 5.5.1 Error: no valid recipients",
    }
    with ScriptedSMTP(tls=tls, replies=replies) as server:
        result = send(server, pki)
    step = result.step("Send test message")
    assert step.status == Status.FAIL
    assert step.detail.startswith("RCPT TO rejected: 550 5.1.10 RESOLVER.ADR.RecipientNotFound")
    assert step.hint
    assert PIPELINED in server.chunk_with(b"data\r\n")
    assert server.messages == [b""]  # "." alone: no message went out to a refused recipient
    assert (True, b".\r\n") in server.chunks
    assert verbs(server)[-4:] == ["MAIL", "RCPT", "DATA", "QUIT"]  # and the session closed
    assert server.errors == []
    no_traceback(result)


def test_a_refused_sender_with_503_for_the_rest_names_mail_from(pki, tls):
    replies = {
        "MAIL": "530 5.7.57 Client not authenticated to send mail",
        "RCPT": "503 5.5.1 Bad sequence of commands",
        "DATA": "503 5.5.1 Bad sequence of commands",
    }
    with ScriptedSMTP(tls=tls, replies=replies) as server:
        result = send(server, pki)
    step = result.step("Send test message")
    assert step.status == Status.FAIL
    assert step.detail.startswith("MAIL FROM rejected: 530 5.7.57")
    assert "anonymous" in step.detail  # the reply table's explanation of 5.7.57
    assert PIPELINED in server.chunk_with(b"data\r\n")
    assert server.messages == [] and (True, b".\r\n") not in server.chunks
    assert verbs(server)[-1] == "QUIT"
    assert server.errors == []


def test_without_pipelining_a_refused_recipient_stops_before_data(pki, tls):
    replies = {"RCPT": "550 5.1.1 User unknown"}
    with ScriptedSMTP(tls=tls, pipelining=False, replies=replies) as server:
        result = send(server, pki)
    step = result.step("Send test message")
    assert step.status == Status.FAIL
    assert step.detail.startswith("RCPT TO rejected: 550 5.1.1 User unknown")
    assert verbs(server) == ["EHLO", "STARTTLS", "EHLO", "MAIL", "RCPT", "QUIT"]
    assert (True, MAIL) in server.chunks and (True, RCPT) in server.chunks
    assert server.messages == []


@pytest.mark.parametrize("pipelining", [True, False])
def test_a_421_and_hang_up_is_reported_as_the_refusal_it_is(pki, tls, pipelining):
    # RFC 5321 3.8: a server may answer any command with 421 and close; pipelined, the replies to
    # RCPT and DATA then never come, and the admin still needs the 421 and its meaning.
    replies = {"MAIL": "421 4.7.0 Too many connections, closing transmission channel"}
    with ScriptedSMTP(tls=tls, pipelining=pipelining, replies=replies,
                      hang_up_after="MAIL") as server:  # fmt: skip
        result = send(server, pki)
    step = result.step("Send test message")
    assert step.status == Status.FAIL
    assert step.detail.startswith("MAIL FROM rejected: 421 4.7.0 Too many connections")
    assert "throttling" in step.detail
    no_traceback(result)


@pytest.mark.parametrize(
    ("pipelining", "replies", "hang_up_after"),
    [
        (True, {"RCPT": None}, "RCPT"),  # MAIL answered, then silence and a hang-up
        (False, {"RCPT": None}, "RCPT"),
        (True, {".": None}, "."),  # the message sent, its reply never comes
    ],
    ids=["pipelined-after-mail", "one-by-one-after-mail", "after-the-message"],
)
def test_a_hang_up_mid_transaction_fails_the_step_in_words(pki, tls, pipelining, replies,
                                                            hang_up_after):  # fmt: skip
    with ScriptedSMTP(tls=tls, pipelining=pipelining, replies=replies,
                      hang_up_after=hang_up_after) as server:  # fmt: skip
        result = send(server, pki)
    step = result.step("Send test message")
    assert step.status == Status.FAIL
    assert step.detail.startswith("the server closed the connection"), step.detail
    assert "hung up" in step.hint
    assert len(server.messages) == (hang_up_after == ".")
    no_traceback(result)


@pytest.mark.parametrize(
    "reply",
    [
        b"250 " + b"x" * 9000 + b"\r\n",
        b"250 " + b"x" * 9000,  # never ended
        b"250 " + b"x" * (8193 - 6) + b"\r\n",  # one byte over smtplib's limit
    ],
    ids=["with-crlf", "without-crlf", "8193-bytes"],
)
def test_a_reply_line_over_8192_bytes_fails_the_step_in_words(pki, tls, reply):
    with ScriptedSMTP(tls=tls, replies={"MAIL": reply}) as server:
        result = send(server, pki)
    step = result.step("Send test message")
    assert step.status == Status.FAIL
    assert step.detail == "the server sent a reply line longer than 8192 bytes", step.detail
    assert "SMTP service" in step.hint and "server's reply" not in step.hint
    assert server.messages == []
    no_traceback(result)


def test_a_reply_line_of_exactly_8192_bytes_is_read(pki, tls):
    reply = "250 2.1.0 " + "x" * (8192 - len("250 2.1.0 \r\n"))  # smtplib's limit, CRLF included
    with ScriptedSMTP(tls=tls, replies={"MAIL": reply}) as server:
        result = send(server, pki)
    assert result.ok, result.to_dict()
    assert len(server.messages) == 1


def test_bytes_injected_before_the_handshake_are_not_read_as_the_tls_ehlo_answer(pki, tls):
    # One write: "220" and an injected "250" reach the client's buffer together, before TLS.
    injected = b"220 2.0.0 SMTP server ready\r\n250 injected\r\n"
    with ScriptedSMTP(tls=tls, starttls_reply=injected) as server:
        result = send(server, pki)
    assert result.ok, result.to_dict()
    assert result.step("STARTTLS").detail.startswith("220 2.0.0 SMTP server ready; TLSv1.")
    # The capabilities are the TLS EHLO's (SIZE, PIPELINING), not the injected line's nothing.
    assert "after TLS" in result.step("Capabilities").detail
    assert "SIZE: 35 MB" in result.step("Capabilities").detail
    assert PIPELINED in server.chunk_with(b"data\r\n")
    assert "injected" not in str(result.to_dict())
    assert len(server.messages) == 1


def test_bytes_injected_after_the_220_in_clear_text_break_the_handshake(pki, tls):
    # A separate clear-text write after the 220: the client is already in its handshake, so the
    # bytes arrive as a (malformed) TLS record; nothing is sent after STARTTLS.
    parts = (b"220 2.0.0 SMTP server ready\r\n", b"250 injected\r\n")
    with ScriptedSMTP(tls=tls, starttls_reply=parts) as server:
        result = send(server, pki)
    assert result.step("STARTTLS").status == Status.FAIL
    assert result.step("Certificate chain").status == Status.SKIP
    assert result.step("Send test message").status == Status.FAIL
    assert verbs(server) == ["EHLO", "STARTTLS"]
    assert "injected" not in str(result.to_dict())
    no_traceback(result)


@pytest.mark.parametrize("pipelining", [True, False])
def test_a_server_that_stays_silent_times_out_in_words_not_as_a_hang_up(pki, tls, pipelining):
    silent = {"MAIL": None, "RCPT": None, "DATA": None}  # connected, then no word at all
    with ScriptedSMTP(tls=tls, pipelining=pipelining, replies=silent) as server:
        result = probe_smtp("localhost", server.port, mail_from=FROM, rcpt_to=TO,
                            ca_file=pki.ca_file, timeout=1)  # fmt: skip
    step = result.step("Send test message")
    assert step.status == Status.FAIL
    assert step.detail == "no answer after 1 s: the connection timed out", step.detail
    assert "closed the connection" not in step.detail
    no_traceback(result)
