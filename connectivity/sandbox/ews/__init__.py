"""EWS SOAP operations of the sandbox (Exchange 2016+/Exchange Online shaped), one module per
operation family; `EWSService` (dispatch.py) combines them."""

from .base import Ctx
from .dispatch import EWSService

__all__ = ["Ctx", "EWSService"]
