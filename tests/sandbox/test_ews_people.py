"""People and directory through unmodified exchangelib: ResolveNames over the directory and the
caller's Contacts folder, with and without full contact data."""

from exchangelib import Contact, Mailbox
from exchangelib.errors import ErrorNameResolutionNoResults
from exchangelib.indexed_properties import EmailAddress, PhoneNumber

from connectivity import ews


def test_resolve_names_finds_mailboxes_and_contacts(info, new_mailbox):
    me = new_mailbox("people")
    creds = ews.basic_credentials(me["address"], me["password"])
    account = ews.build_account(me["address"], creds, ews_url=info["ews_url"],
                                ca_file=info["ca_file"], timeout=20)  # fmt: skip
    colleague = new_mailbox("zebra")["address"]
    Contact(
        account=account, folder=account.contacts, display_name="Quincy Partner",
        given_name="Quincy", surname="Partner",
        email_addresses=[EmailAddress(label="EmailAddress1", email="quincy@partner.example")],
        phone_numbers=[PhoneNumber(label="BusinessPhone", phone_number="+44 20 0000")],
    ).save()  # fmt: skip
    (mailbox,) = account.protocol.resolve_names([colleague])
    assert isinstance(mailbox, Mailbox) and mailbox.email_address == colleague
    (contact,) = account.protocol.resolve_names(["Quincy"])
    assert contact.email_address == "quincy@partner.example"
    assert contact.mailbox_type == "Contact" and contact.item_id is not None
    ((found, data),) = account.protocol.resolve_names(["quincy"], return_full_contact_data=True)
    assert data.display_name == "Quincy Partner"
    assert data.phone_numbers[0].phone_number == "+44 20 0000"
    (missing,) = account.protocol.resolve_names(["nobody-by-this-name"])
    assert isinstance(missing, ErrorNameResolutionNoResults)


def _delegate_account(info, new_mailbox):
    me = new_mailbox("dir")
    creds = ews.basic_credentials(me["address"], me["password"])
    return ews.build_account(me["address"], creds, ews_url=info["ews_url"],
                             ca_file=info["ca_file"], timeout=20)  # fmt: skip


def test_expand_private_list_rooms_and_delegates(info, new_mailbox):
    from exchangelib import DistributionList
    from exchangelib.properties import Member

    account = _delegate_account(info, new_mailbox)
    member = Member(mailbox=Mailbox(email_address="x@example.com"))
    dl = DistributionList(account=account, folder=account.contacts, display_name="Crew",
                          members=[member])  # fmt: skip
    dl.save()
    expanded = list(account.protocol.expand_dl(Mailbox(item_id=dl._id)))
    assert [m.email_address for m in expanded] == ["x@example.com"]
    assert list(account.protocol.get_roomlists()) == []
    assert account.delegates == []


def test_mark_as_junk_moves_the_message(info, new_mailbox):
    from exchangelib import Message

    account = _delegate_account(info, new_mailbox)
    msg = Message(account=account, folder=account.inbox, subject="spam?")
    msg.save()
    msg.mark_as_junk(is_junk=True, move_item=True)
    assert [m.subject for m in account.junk.all()] == ["spam?"]
    assert not account.inbox.filter(subject="spam?").exists()


def test_mail_tips_report_automatic_replies(info, new_mailbox):
    from exchangelib import OofSettings
    from exchangelib.properties import SendingAs
    from exchangelib.services import GetMailTips

    account = _delegate_account(info, new_mailbox)
    away = new_mailbox("away")
    away_account = ews.build_account(
        away["address"], ews.basic_credentials(away["address"], away["password"]),
        ews_url=info["ews_url"], ca_file=info["ca_file"], timeout=20,
    )  # fmt: skip
    away_account.oof_settings = OofSettings(state=OofSettings.ENABLED, internal_reply="On leave",
                                            external_reply="On leave")  # fmt: skip
    recipients = [Mailbox(email_address=away["address"]), Mailbox(email_address="x@ext.example")]
    service = GetMailTips(protocol=account.protocol)
    tips = list(service.call(sending_as=SendingAs(email_address=account.primary_smtp_address),
                             recipients=recipients, mail_tips_requested="All"))  # fmt: skip
    addresses = [tip.recipient_address.email_address for tip in tips]
    assert addresses == [away["address"], "x@ext.example"]
    assert "On leave" in tips[0].out_of_office.reply_body
    assert tips[1].external_member_count == 1 and tips[0].mailbox_full is False
    own = away_account.mail_tips  # the Account property, for its own mailbox
    assert own.recipient_address.email_address == away["address"]
