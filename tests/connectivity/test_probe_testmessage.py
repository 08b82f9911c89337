"""The SMTP probe's test message: written directly, byte for byte what the email package writes."""

from __future__ import annotations

import email
import email.policy
import email.utils
import random

from probe_certs import server_context
from probe_servers import PASSWORD, USER, smtp_server

from connectivity.probes import testmessage
from connectivity.probes.smtp import probe_smtp

ADDRESSES = ["user@contoso.com", "first.last+tag@mail.contoso-test.org", "a@b", "x'y@z.test",
             "a..b@c.d", ".a@b.c", "a(b)@c.d", 'a"b@c.d', "a:b@c.d", "a@[10.0.0.1]",
             "ü@x.test"]  # fmt: skip
SUBJECTS = ["Exchange Interop Portal test message", "", " lead", "trail ", "a  b", "tab\there",
            "(c) say \"hi\"; <x>, y: z", "=?utf-8?q?caf=C3=A9?=", "café", "x" * 69, "x" * 70,
            "word " * 20, "\\back"]  # fmt: skip


def _inputs(count: int):
    rnd = random.Random(17)  # fixed: the same inputs every run
    printable = [chr(c) for c in range(32, 127)]
    for _ in range(count):
        length = rnd.choice([1, 8, 40, 66, 69, 70, 71, 90])
        subject = "".join(rnd.choice(printable) for _ in range(length))
        when = rnd.randint(0, 2_000_000_000)
        date = email.utils.formatdate(when, localtime=rnd.random() < 0.5)
        message_id = testmessage.new_message_id()
        if rnd.random() < 0.2:
            message_id = "<" + "7" * rnd.randint(1, 90) + "@probe.invalid>"
        yield rnd.choice(ADDRESSES), rnd.choice(ADDRESSES), subject, date, message_id
    for subject in SUBJECTS:
        yield ADDRESSES[0], ADDRESSES[1], subject, email.utils.formatdate(), "<1.2@x.invalid>"


def test_direct_bytes_equal_the_email_packages_for_every_input():
    direct = 0
    for mail_from, rcpt_to, subject, date, message_id in _inputs(1500):
        reference = testmessage.build_with_email_package(
            mail_from, rcpt_to, subject, date, message_id
        )
        built, reported = testmessage.build(mail_from, rcpt_to, subject, date, message_id)
        assert built == reference, (mail_from, rcpt_to, subject, date, message_id)
        assert b"\n" not in built.replace(b"\r\n", b""), "bare LF: servers may refuse it"
        assert reported == message_id
        direct += testmessage._direct(mail_from, rcpt_to, subject, date, message_id) is not None
    assert direct > 100  # the common shape really takes the direct path


def test_the_default_message_takes_the_direct_path_and_parses_back():
    message, message_id = testmessage.build(
        "relay@contoso.com", "noc@contoso.com", "Exchange Interop Portal test message"
    )
    assert testmessage._direct(
        "relay@contoso.com", "noc@contoso.com", "Exchange Interop Portal test message",
        email.utils.formatdate(), message_id,
    ) is not None  # fmt: skip
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    assert parsed["Message-ID"].strip() == message_id  # folded onto its own line when long
    assert message_id.endswith("@exchange-interop.invalid>")
    assert parsed["From"] == "relay@contoso.com" and parsed["To"] == "noc@contoso.com"
    assert parsed.get_content().replace("\r\n", "\n") == testmessage.BODY
    assert b"\n" not in message.replace(b"\r\n", b""), "every line ends in CRLF (RFC 5321)"


def test_the_server_receives_the_message_id_the_send_step_reports(pki):
    ctx = server_context(pki.leaf("localhost"), pki.tmpdir)
    with smtp_server(tls_context=ctx) as (port, handler):
        result = probe_smtp(
            "localhost", port, username=USER, password=PASSWORD, mail_from=USER,
            rcpt_to="bob@contoso.test", subject="Größe und Maß", ca_file=pki.ca_file, timeout=5,
        )  # fmt: skip
    assert result.ok, result.to_dict()
    raw = handler.messages[0]
    assert b"\n" not in raw.replace(b"\r\n", b""), "the wire carries CRLF lines only"
    received = email.message_from_bytes(raw, policy=email.policy.default)
    assert received["Subject"] == "Größe und Maß"  # encoded by the email package, as before
    sent = result.step("Send test message").detail
    assert f"accepted as {received['Message-ID'].strip()}: 250" in sent
