"""Target lists as people and attackers give them: a full 1 MB file of addresses is answered
(not read to the end at a quadratic cost), and refused targets are quoted as typed, never as a
Python repr."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.ewsjobs.models import EwsJob
from portal.ewsjobs.scope import MAX_TARGETS, Refused, parse_targets
from tests.ewsjobs.pages import BOXES, grant  # noqa: F401

pytestmark = pytest.mark.django_db


def test_repeats_are_dropped_in_order():
    assert parse_targets("B@x.example, a@x.example\nb@x.example") == ["b@x.example", "a@x.example"]


def test_refused_targets_are_quoted_as_typed():
    with pytest.raises(Refused) as refused:
        parse_targets("a@b@c,<script>,x\x07y@z.example,'; DROP TABLE grants--")
    words = str(refused.value)
    assert "1: “a@b@c”; 2: “<script>”; 3: “x?y@z.example”; 4: “'; drop table grants--”" in words
    assert "\x07" not in words and "'a@b@c'" not in words


def test_a_full_file_of_addresses_is_refused_in_words(operator_client, grant):  # noqa: F811
    rows = "".join(f"u{i}@contoso.example\n" for i in range(40_000))  # about 0.85 MB
    upload = SimpleUploadedFile("boxes.csv", ("mailbox\n" + rows).encode())
    response = operator_client.post("/ews-jobs/new/search/", {
        "tenant": grant.application.tenant_id, "grant": grant.pk, "targets_from": "file",
        "targets_file": upload,
    })  # fmt: skip
    assert response.status_code == 200
    assert f"at most {MAX_TARGETS} mailboxes" in response.content.decode()
    assert not EwsJob.objects.exists()
