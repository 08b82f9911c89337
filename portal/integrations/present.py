"""What the integrations pages show, computed from the records and the lifecycle data."""

from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from connectivity import availability, lifecycle
from portal.integrations.models import Feature, FeatureStatus, Status

STATE_CSS = {lifecycle.SUPPORTED: "pass", lifecycle.ENDING: "warn", lifecycle.ENDED: "fail",
             lifecycle.RETIRED: "fail"}  # fmt: skip
LIGHT_CSS = {Status.GREEN: "pass", Status.AMBER: "warn", Status.RED: "fail",
             Status.RETIRED: "skip"}  # fmt: skip


def state_label(state: str) -> str:
    return {
        lifecycle.SUPPORTED: _("Supported"),
        lifecycle.ENDING: _("Support ends soon"),
        lifecycle.ENDED: _("Out of support"),
        lifecycle.RETIRED: _("Retired"),
    }[state]


@dataclass
class LifeState:
    label: str
    state: str
    state_label: str
    css: str
    end: object
    recommended: str
    source: str


def product_state(info: lifecycle.Lifecycle, today) -> LifeState:
    state = info.state_on(today)
    return LifeState(str(info.label), state, state_label(state), STATE_CSS[state],
                     info.end_of_support, _(info.recommended), info.source)  # fmt: skip


def feature_labels(integration):
    labels = dict(Feature.choices)
    return [(f, str(labels[f])) for f in integration.feature_list()]


def feature_rows(integration, today) -> list[dict]:
    states = {s.feature: s for s in integration.states.all()}
    online = integration.tenant.kind == "online"
    rows = []
    for feature, label in feature_labels(integration):
        info = lifecycle.FEATURES[feature]
        life = lifecycle.feature_state(feature, today, online=online, product=integration.product)
        rows.append({"feature": feature, "label": label, "state": states.get(feature),
                     "life": life, "life_label": state_label(life), "life_css": STATE_CSS[life],
                     "recommended": _(info.recommended), "source": info.source})  # fmt: skip
    return rows


def matrix(integrations) -> list[dict]:
    """Per tenant: its integrations, each with one cell per feature it uses."""
    groups: dict = {}
    for integration in integrations:
        states = {s.feature: s for s in integration.states.all()}
        cells = [(label, states.get(f)) for f, label in feature_labels(integration)]
        group = groups.setdefault(integration.tenant_id,
                                  {"tenant": integration.tenant, "rows": []})  # fmt: skip
        group["rows"].append({"integration": integration, "cells": cells})
    return list(groups.values())


def tiles(integrations, states) -> dict:
    """The dashboard tiles. ``integrations`` need only name, product and features; ``states``
    are (integration id, feature, status) rows: the tiles count them all, so they are read as
    plain values, not objects with their details."""
    today = timezone.localdate()
    by_integration: dict = {}
    for integration_id, feature, status in states:
        by_integration.setdefault(integration_id, []).append((feature, status))
    red, unsupported, counts, lives = [], [], {}, {}
    integrations = list(integrations)
    for integration in integrations:
        used = set(integration.features or [])
        for feature, status in by_integration.get(integration.pk, []):
            if feature not in used:
                continue  # a feature taken off the integration keeps its history, not a tile
            counts[status] = counts.get(status, 0) + 1
            if status == Status.RED:
                red.append((integration, FeatureStatus(feature=feature, status=status)))
        if integration.product not in lives:
            lives[integration.product] = product_state(integration.lifecycle, today)
        life = lives[integration.product]
        if life.state in (lifecycle.ENDED, lifecycle.RETIRED, lifecycle.ENDING):
            unsupported.append((integration, life))
    return {"count": len(integrations), "red": red, "unsupported": unsupported,
            "counts": counts}  # fmt: skip


def availability_rows(plan: str) -> list[dict]:
    rows = []
    for feature, entries in availability.table():
        cells = [
            {
                "plan": p.key,
                "value": e.value,
                "note": _(e.note) if e.note else "",
                "current": p.key == plan,
            }
            for p, e in zip(availability.PLANS, entries, strict=True)
        ]
        rows.append({"label": _(feature.label), "source": feature.source, "cells": cells})
    return rows


def tenant_rows(tenants, today) -> list[dict]:
    """Each tenant with its plan and, for Exchange Server, its version's support state."""
    rows = []
    for tenant in tenants:
        profile = getattr(tenant, "profile", None)
        info = lifecycle.PRODUCTS.get(profile.exchange_version) if profile else None
        rows.append({"tenant": tenant, "profile": profile,
                     "version": product_state(info, today) if info else None})  # fmt: skip
    return rows
