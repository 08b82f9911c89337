"""The engine's sentences stay English text for the command line and keep their template and
arguments for the portal (connectivity/i18n.py)."""

import json
import socket
import subprocess
import sys

from connectivity.i18n import N_, NN_, Msg, join, message_of
from connectivity.probes.core import Status, Step
from tests.conftest import ROOT

# Under other names: makemessages collects N_() calls, and these sentences are not the portal's.
sentence, plural = N_, NN_


def test_a_sentence_is_its_english_text_and_remembers_how_it_was_made():
    text = sentence("no MX records for %(domain)s", domain="contoso.test")
    assert text == "no MX records for contoso.test" and isinstance(text, str)
    assert message_of(text) == {
        "text": "no MX records for %(domain)s",
        "args": {"domain": "contoso.test"},
    }
    assert message_of("plain text") is None


def test_nested_sentences_plurals_and_lists_keep_their_parts():
    inner = sentence("connection refused")
    outer = sentence("%(host)s: %(why)s", host="mail.contoso.test", why=inner)
    assert outer == "mail.contoso.test: connection refused"
    assert message_of(outer)["args"]["why"] == {"text": "connection refused", "args": {}}
    one, many = (plural("%(n)s record", "%(n)s records", n) for n in (1, 3))
    assert (one, many) == ("1 record", "3 records")
    assert message_of(many) == {"text": "%(n)s record", "plural": "%(n)s records",
                                "args": {"n": 3}}  # fmt: skip
    listed = join("; ", [sentence("a %(x)s", x="1"), "b%"])
    assert listed == "a 1; b%"
    assert message_of(listed)["args"]["i1"] == "b%"


def test_arguments_stay_json_and_scrubbing_reaches_every_argument():
    text = sentence("%(who)s said %(what)s (%(ok)s)", who=ValueError("bad key"), what=sentence(
        "password %(p)s", p="hunter2"), ok=True)  # fmt: skip
    assert message_of(text)["args"]["who"] == "bad key" and message_of(text)["args"]["ok"] == (
        "True"
    )  # bools and objects become text, so the step stays JSON
    json.dumps(message_of(text))
    scrubbed = text.replace_in_args(lambda s: s.replace("hunter2", "***"))
    assert "hunter2" not in scrubbed and "hunter2" not in json.dumps(message_of(scrubbed))
    assert isinstance(scrubbed, Msg)


def test_a_step_carries_the_translatable_form_only_on_request():
    detail = sentence("refused by %(host)s", host="h")
    step = Step("TCP connect", Status.FAIL, detail, sentence("Open it."))
    assert "detail_msg" not in step.to_dict()
    data = step.to_dict(messages=True)
    assert data["detail"] == "refused by h" and data["detail_msg"]["args"] == {"host": "h"}
    assert data["hint_msg"] == {"text": "Open it.", "args": {}}


def test_the_command_line_still_prints_english():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens
    done = subprocess.run(
        [sys.executable, "-m", "connectivity", "tcp", "--host", "127.0.0.1", "--port", str(port),
         "--json"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "LANG": "ru_RU.UTF-8", "LANGUAGE": "ru"},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    failed = result["steps"][-1]
    assert failed["status"] == "fail" and failed["detail"].startswith("connection refused")
    assert "firewall" in failed["hint"]
    assert "detail_msg" not in failed  # the public JSON is unchanged
