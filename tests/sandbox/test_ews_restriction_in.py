"""``field__in=[...]`` (an Or of IsEqualTo on one property) answers like the single filters."""

import pytest
from exchangelib import ExtendedProperty, Message, Q


class Ticket(ExtendedProperty):
    property_set_id = "6f1a7c1e-3b7e-4c55-9a43-0c4c1f1d2b11"
    property_name = "SandboxTicket"
    property_type = "Integer"


@pytest.fixture
def ticket_field():
    Message.register("sandbox_ticket", Ticket)
    yield
    Message.deregister("sandbox_ticket")


def test_in_on_fields_and_extended_properties(account, ticket_field):
    items = [Message(account=account, folder=account.inbox, subject=f"S{i}", body=f"body {i}",
                     sandbox_ticket=100 + i) for i in range(6)]  # fmt: skip
    account.bulk_create(account.inbox, items)
    inbox = account.inbox

    def subjects(query):
        return sorted(inbox.filter(query).values_list("subject", flat=True))

    assert subjects(Q(subject__in=["S1", "S3", "nope"])) == ["S1", "S3"]
    assert subjects(Q(sandbox_ticket__in=[102, 105, 999])) == ["S2", "S5"]
    # Different properties in one Or are evaluated one by one, as before.
    assert subjects(Q(subject="S0") | Q(body__contains="body 4")) == ["S0", "S4"]
    assert subjects(Q(subject__in=["S0", "S1"]) & Q(sandbox_ticket=101)) == ["S1"]
    assert subjects(~Q(subject__in=["S0", "S1", "S2", "S3"])) == ["S4", "S5"]
