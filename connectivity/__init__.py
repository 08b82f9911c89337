"""The protocol engine: probes, EWS operations and the sandbox Exchange.

Plain Python: nothing in this package imports Django or anything under ``portal``.
"""
