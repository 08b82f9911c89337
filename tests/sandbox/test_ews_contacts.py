"""Contacts through unmodified exchangelib: indexed contact fields (phone numbers, postal
addresses, e-mail addresses) read whole and field by field."""

from exchangelib import Contact
from exchangelib.indexed_properties import EmailAddress, PhoneNumber, PhysicalAddress


def test_contact_indexed_fields_round_trip(account):
    Contact(
        account=account, folder=account.contacts, given_name="Ann", surname="Lee",
        display_name="Ann Lee", company_name="Example",
        phone_numbers=[PhoneNumber(label="BusinessPhone", phone_number="+1 555 0100"),
                       PhoneNumber(label="MobilePhone", phone_number="+1 555 0199")],
        physical_addresses=[PhysicalAddress(label="Business", street="Main 1", city="Town",
                                            zipcode="12345", country="US")],
        email_addresses=[EmailAddress(label="EmailAddress1", email="ann@example.com")],
    ).save()  # fmt: skip
    full = account.contacts.get(display_name="Ann Lee")
    assert {p.label: p.phone_number for p in full.phone_numbers} == {
        "BusinessPhone": "+1 555 0100",
        "MobilePhone": "+1 555 0199",
    }
    assert full.physical_addresses[0].city == "Town" and full.company_name == "Example"
    # Field by field (IndexedFieldURI in AdditionalProperties), as jobs read them.
    (slim,) = account.contacts.all().only("phone_numbers", "physical_addresses", "email_addresses")
    assert len(slim.phone_numbers) == 2 and slim.physical_addresses[0].street == "Main 1"
    assert slim.email_addresses[0].email == "ann@example.com"


def test_distribution_list_round_trip(account):
    from exchangelib import DistributionList
    from exchangelib.properties import Mailbox as MemberMailbox
    from exchangelib.properties import Member

    dl = DistributionList(
        account=account, folder=account.contacts, display_name="Team",
        members=[Member(mailbox=MemberMailbox(email_address="a@example.com")),
                 Member(mailbox=MemberMailbox(email_address="b@example.com"))],
    )  # fmt: skip
    dl.save()
    got = account.contacts.get(id=dl.id)
    assert isinstance(got, DistributionList) and got.item_class == "IPM.DistList"
    assert sorted(m.mailbox.email_address for m in got.members) == [
        "a@example.com",
        "b@example.com",
    ]
