"""Concurrency cap (EWSMaxConcurrency-like), injected failures and latency knobs."""

import threading
import time

import pytest
from exchangelib import FaultTolerance
from exchangelib.errors import ErrorServerBusy
from lxml import etree

from connectivity import ews

from .conftest import GET_INBOX, soap

ENS = "http://schemas.microsoft.com/exchange/services/2006/errors"
TNS = "http://schemas.microsoft.com/exchange/services/2006/types"


def parallel(n, func):
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = func(i)
        except Exception as e:  # noqa: BLE001 - collected for assertions
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_over_the_cap_answers_server_busy_with_backoff(info, restore_policies, new_mailbox):
    admin = restore_policies
    address = new_mailbox()["address"]
    token = ews.fetch_token(
        info["token_url"], info["app_client_id"], info["app_client_secret"], ca_file=info["ca_file"]
    )["access_token"]
    admin.set_knobs(max_concurrency=1, latency_ms=400, backoff_ms=150)
    responses = parallel(3, lambda i: soap(info, token, GET_INBOX, impersonate=address))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 500, 500]
    busy = next(r for r in responses if r.status_code == 500)
    fault = etree.fromstring(busy.content)
    assert fault.findtext(f".//{{{ENS}}}ResponseCode") == "ErrorServerBusy"
    value = fault.find(f".//{{{TNS}}}MessageXml/{{{TNS}}}Value")
    assert value.get("Name") == "BackOffMilliseconds" and value.text == "150"
    assert admin.state()["stats"]["throttled"] >= 2


def test_fault_tolerance_recovers_from_server_busy(info, restore_policies, new_mailbox):
    admin = restore_policies
    address = new_mailbox()["address"]
    app = admin.create_app("throttled-workers", scope="all")

    def worker_account(policy=None):
        # One account per worker, each with its own cached token: exchangelib keys its
        # protocol (one HTTP session by default) on the credentials, so the workers really run
        # in parallel while the sandbox counts them against one application.
        token = ews.fetch_token(
            info["token_url"], app["client_id"], app["client_secret"], ca_file=info["ca_file"]
        )
        creds = ews.oauth_credentials(
            info["token_url"], app["client_id"], app["client_secret"], token=token
        )
        acc = ews.build_account(
            address, creds, ews_url=info["ews_url"], ca_file=info["ca_file"], retry_policy=policy
        )
        acc.inbox  # noqa: B018 - warm up (version + folder) before throttling
        return acc

    fail_fast = [worker_account() for _ in range(3)]
    tolerant = [worker_account(FaultTolerance(max_wait=30)) for _ in range(3)]
    before = admin.state()["stats"]["throttled"]
    admin.set_knobs(max_concurrency=1, latency_ms=300, backoff_ms=200)

    errors = parallel(3, lambda i: fail_fast[i].inbox.all().count())
    assert any(isinstance(e, ErrorServerBusy) for e in errors), errors

    started = time.monotonic()
    counts = parallel(3, lambda i: tolerant[i].inbox.all().count())
    assert counts == [0, 0, 0], counts
    assert time.monotonic() - started < 20
    assert admin.state()["stats"]["throttled"] > before + 2


def test_failure_rate_and_latency_knobs(info, restore_policies, new_mailbox):
    admin = restore_policies
    address = new_mailbox()["address"]
    token = ews.fetch_token(
        info["token_url"], info["app_client_id"], info["app_client_secret"], ca_file=info["ca_file"]
    )["access_token"]
    admin.set_knobs(failure_rate=1.0)
    statuses = {soap(info, token, GET_INBOX, impersonate=address).status_code for _ in range(6)}
    assert statuses == {500}
    assert admin.state()["stats"]["injected_failures"] >= 6
    admin.set_knobs(failure_rate=0.0, latency_ms=250)
    started = time.monotonic()
    assert soap(info, token, GET_INBOX, impersonate=address).status_code == 200
    assert time.monotonic() - started >= 0.25
    with pytest.raises(Exception, match="failure_rate"):
        admin.set_knobs(failure_rate=2)
