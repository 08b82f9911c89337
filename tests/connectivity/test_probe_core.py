"""Step recorder: timing, fatal failures, hints, secrets never in step text."""

from __future__ import annotations

import base64
import json

import pytest

from connectivity.probes import sasl
from connectivity.probes.core import InvalidInput, Recorder, Status


def test_fatal_failure_skips_the_rest_and_streams_every_step():
    seen = []
    rec = Recorder("demo", "host:1", ["one", "two", "three"], on_step=seen.append)
    with rec:
        with rec.step("one") as s:
            s.detail = "fine"
        with rec.step("two"):
            raise ConnectionRefusedError()
        with rec.step("three"):
            raise AssertionError("never runs")
    result = rec.result
    assert [(s.name, s.status) for s in result.steps] == [
        ("one", Status.PASS),
        ("two", Status.FAIL),
        ("three", Status.SKIP),
    ]
    assert result.step("two").hint  # explained
    assert "'two' failed" in result.step("three").detail
    assert [s.name for s in seen] == ["one", "two", "three"]
    assert not result.ok


def test_non_fatal_failure_and_warning_continue():
    rec = Recorder("demo", "t", ["a", "b", "c"])
    with rec:
        with rec.step("a", fatal=False) as s:
            s.fail("broken", "fix it")
        with rec.step("b") as s:
            s.warn("meh", "tune it")
        with rec.step("c") as s:
            s.skip("not applicable")
    got = {s.name: (s.status, s.hint) for s in rec.result.steps}
    assert got == {
        "a": (Status.FAIL, "fix it"),
        "b": (Status.WARN, "tune it"),
        "c": (Status.SKIP, ""),
    }


def test_ok_allows_warnings():
    rec = Recorder("demo", "t", ["a"])
    with rec, rec.step("a") as s:
        s.warn("old TLS", "upgrade")
    assert rec.result.ok


def test_secret_never_appears_in_step_text():
    secret = "hunter2-very-secret"
    rec = Recorder("demo", "t", ["auth", "echo"], secrets=[secret])
    with rec:
        with rec.step("echo", fatal=False) as s:
            s.detail = f"server said: bad password {secret}"
        with rec.step("auth"):
            raise RuntimeError(f"login failed for password {secret}")
    text = json.dumps(rec.result.to_dict())
    assert secret not in text
    assert "***" in text


def test_encoded_credentials_are_scrubbed_too():
    plain = base64.b64encode(b"\0carol\0pa55").decode()
    bearer = base64.b64encode(b"user=carol\x01auth=Bearer tok.en\x01\x01").decode()
    forms = sasl.secret_forms("carol", "pa55", "tok.en")
    assert set(forms) == {"pa55", "tok.en", plain, bearer}
    rec = Recorder("demo", "t", ["auth"], secrets=forms)
    with rec, rec.step("auth", fatal=False) as s:
        s.detail = f"AUTH PLAIN {plain} / AUTHENTICATE XOAUTH2 {bearer}"
    text = json.dumps(rec.result.to_dict())
    assert plain not in text and bearer not in text
    assert sasl.secret_forms(None, None, None) == []


def test_broken_listener_does_not_break_the_probe():
    def listener(step):
        raise RuntimeError("browser went away")

    rec = Recorder("demo", "t", ["a"], on_step=listener)
    with rec, rec.step("a") as s:
        s.detail = "ok"
    assert rec.result.ok and rec.result.steps[0].detail == "ok"


def test_to_dict_shape():
    rec = Recorder("smtp", "h:25", ["a"])
    with rec, rec.step("a") as s:
        s.detail = "x"
    d = rec.result.to_dict()
    assert set(d) == {"probe", "target", "ok", "steps"}
    assert set(d["steps"][0]) == {"name", "status", "detail", "hint", "ms"}
    assert d["steps"][0]["status"] == "pass" and isinstance(d["steps"][0]["ms"], int)
    json.dumps(d)


def test_connectivity_package_never_imports_django_or_portal():
    import ast
    import pathlib

    import connectivity

    root = pathlib.Path(connectivity.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [
                f"{path.relative_to(root)}: {n}"
                for n in names
                if n.split(".")[0] in ("django", "portal")
            ]
    assert offenders == []


def test_xoauth2_refusal_reads_the_error_challenge():
    challenge = b'{"status":"401","schemes":"bearer","scope":"https://outlook.office365.com/"}'
    assert sasl.xoauth2_refusal(challenge) == (
        "status 401, schemes bearer, scope https://outlook.office365.com/"
    )
    assert sasl.xoauth2_refusal(b"not json") == "the server refused the token"
    assert sasl.xoauth2_refusal(b"[1, 2]") == "the server refused the token"


@pytest.mark.parametrize("host", ["1e309", "12345678901234567890123456", "0x7f.0.0.1",
                                  "256.1.1.1", "[::zz]", "1::2::3"])  # fmt: skip
def test_the_engine_refuses_numbers_posing_as_host_names(host):
    from connectivity.probes.core import validate_host

    with pytest.raises(InvalidInput):
        validate_host(host)


@pytest.mark.parametrize("host", ["::1", "[::1]", "127.0.0.1", "mail.contoso.com", "x1e3.test"])
def test_the_engine_accepts_names_and_ip_literals(host):
    from connectivity.probes.core import validate_host

    assert validate_host(host) == host
