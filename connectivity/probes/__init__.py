"""Connectivity probes shaped like the Remote Connectivity Analyzer's tests.

Every probe returns a :class:`~connectivity.probes.core.ProbeResult` (``probe``, ``target``,
``steps``; ``ok`` and ``to_dict()``) whose steps have ``name``, ``status`` (pass / warn / fail /
skip), ``detail``, ``hint`` and ``ms``, and accepts ``on_step(step)``, called as each step
finishes.  Invalid arguments raise :class:`~connectivity.probes.core.InvalidInput` before any I/O.

    from connectivity.probes import probe_smtp
    result = probe_smtp("smtp.office365.com", 587, username=..., password=..., on_step=print)

Probe functions are imported lazily (the EWS probe pulls in exchangelib).
"""

from importlib import import_module

from connectivity.probes.core import InvalidInput, ProbeResult, Status, Step

_PROBES = {
    "probe_tcp": "tcp",
    "probe_tls": "tls",
    "probe_smtp": "smtp",
    "probe_imap": "imap",
    "probe_pop3": "pop3",
    "probe_dns": "dns",
    "probe_autodiscover": "autodiscover",
    "probe_mapi": "mapi",
    "probe_ews": "ews",
}

__all__ = ["InvalidInput", "ProbeResult", "Status", "Step", *_PROBES]


def __getattr__(name: str):
    if name in _PROBES:
        return getattr(import_module(f"connectivity.probes.{_PROBES[name]}"), name)
    raise AttributeError(name)
