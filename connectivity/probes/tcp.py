"""TCP connect probe, and the resolve + connect steps every other probe starts with."""

from __future__ import annotations

import socket

from connectivity import netguard
from connectivity.i18n import N_
from connectivity.netguard import Resolver
from connectivity.probes.core import OnStep, ProbeResult, Recorder, validate_host

RESOLVE = N_("Resolve host")
CONNECT = N_("TCP connect")


def open_connection(
    rec: Recorder,
    host: str,
    port: int,
    *,
    timeout: float,
    allow_link_local: bool = False,
    resolver: Resolver | None = None,
) -> socket.socket:
    """Run the 'Resolve host' and 'TCP connect' steps; return the connected socket."""
    with rec.step(RESOLVE) as s:
        addresses = netguard.resolve(
            host, port, allow_link_local=allow_link_local, resolver=resolver, timeout=timeout
        )
        s.detail = f"{host} → {', '.join(addresses)}"
    with rec.step(CONNECT) as s:
        sock, address = netguard.connect_first(
            addresses, port, timeout=timeout, allow_link_local=allow_link_local
        )
        s.detail = N_("connected to %(address)s", address=_hostport(address, port))
    rec.context["address"] = address
    return sock


def _hostport(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def probe_tcp(
    host: str,
    port: int,
    *,
    timeout: float = 10.0,
    allow_link_local: bool = False,
    resolver: Resolver | None = None,
    on_step: OnStep | None = None,
) -> ProbeResult:
    validate_host(host)
    rec = Recorder("tcp", f"{host}:{port}", [RESOLVE, CONNECT], on_step, timeout=timeout)
    with rec:
        sock = open_connection(
            rec, host, port, timeout=timeout, allow_link_local=allow_link_local, resolver=resolver
        )
        sock.close()
    return rec.result
