from portal.audit.alerts import ChainAlert


def chain_alert(request):
    """``audit_chain_alert``: lazy, so pages that show no banner pay no query."""
    return {"audit_chain_alert": ChainAlert()}
