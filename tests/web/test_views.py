"""The pages without a browser: who sees what, forms and their refusals, revisions started from
an entry, and the released-data manifest."""

from __future__ import annotations

import csv
import gzip
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from filesharing.models import File
from groups.models import Group, GroupInvitation, Membership
from submissions.models import EntryFile, SequenceEntry
from tests.factories import (
    FileFactory,
    GroupFactory,
    MembershipFactory,
    UserFactory,
    processed_entry,
)

pytestmark = pytest.mark.django_db

METADATA = "submissionId\tsampleCollectionDate\tgeoLocCountry\ns1\t2024-03-01\tSwitzerland\n"


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def verified_file(group: Group, name: str, *, released: bool = False) -> File:
    now = timezone.now()
    return FileFactory(
        group=group,
        name=name,
        status=File.Status.VERIFIED,
        size=1234,
        sha256="ab" * 32,
        md5="cd" * 16,
        verified_at=now,
        released_at=now if released else None,
    )


def entry(group: Group, accession: str, *, released: bool, file: File | None = None) -> Any:
    made, processed = processed_entry(
        group, accession, released=released, metadata={"lineage": "BA.2", "country": "Kenya"}
    )
    if file is not None:
        EntryFile.objects.create(
            entry=made, kind="input", category="raw_reads", name=file.name, file=file
        )
        EntryFile.objects.create(
            entry=made,
            processed_data=processed,
            kind="output",
            category="raw_reads",
            name=file.name,
            file=file,
        )
    return made


@pytest.fixture
def lab() -> Group:
    return GroupFactory(name="Lab A")


@pytest.fixture
def ada(lab: Group) -> Any:
    user = UserFactory(username="ada")
    MembershipFactory(group=lab, user=user, role=Membership.Role.ADMIN)
    return user


def test_private_pages_ask_to_sign_in_and_hide_other_groups(lab: Group, ada: Any) -> None:
    for path in ["/groups/", f"/groups/{lab.pk}/", "/tokens/", f"/groups/{lab.pk}/upload/"]:
        response = Client().get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/?next=")
    stranger = signed_in(UserFactory())
    for path in [
        f"/groups/{lab.pk}/",
        f"/groups/{lab.pk}/upload/",
        f"/groups/{lab.pk}/submit/",
        f"/groups/{lab.pk}/members/",
        f"/files/{verified_file(lab, 'secret.fastq').pk}/",
    ]:
        assert stranger.get(path).status_code == 404, path


def test_a_group_is_created_and_a_taken_name_is_refused_on_its_field(ada: Any) -> None:
    client = signed_in(ada)
    created = client.post("/groups/", {"name": "New Lab", "institution": "Uni"})
    group = Group.objects.get(name="New Lab")
    assert created["Location"] == f"/groups/{group.pk}/"
    assert Membership.objects.get(group=group).role == "admin"

    again = client.post("/groups/", {"name": "New Lab"})
    assert again.status_code == 200
    assert again.context["form"].errors["name"] == ["You are already in a group named 'New Lab'."]


def test_a_file_row_naming_no_metadata_line_is_refused_on_that_row(lab: Group, ada: Any) -> None:
    file = verified_file(lab, "reads.fastq")
    response = signed_in(ada).post(
        f"/groups/{lab.pk}/submit/",
        {
            "organism": "sars-cov-2",
            "metadata_text": METADATA,
            "att-TOTAL_FORMS": "2",
            "att-INITIAL_FORMS": "0",
            "att-0-key": "s1",
            "att-0-category": "raw_reads",
            "att-0-file": str(file.pk),
            "att-1-key": "s9",
            "att-1-category": "raw_reads",
            "att-1-file": str(file.pk),
            "att-1-name": "other.fastq",
        },
    )
    assert response.status_code == 422
    rows = response.context["formset"].forms
    assert rows[0].placed_errors == []
    assert rows[1].placed_errors == ["s9"]
    assert "no metadata line has: s9" in response.content.decode()
    assert not SequenceEntry.objects.exists()


def test_an_incomplete_file_row_names_the_missing_fields(lab: Group, ada: Any) -> None:
    response = signed_in(ada).post(
        f"/groups/{lab.pk}/submit/",
        {
            "organism": "sars-cov-2",
            "metadata_text": METADATA,
            "att-TOTAL_FORMS": "1",
            "att-INITIAL_FORMS": "0",
            "att-0-key": "s1",
        },
    )
    assert response.status_code == 422
    assert response.context["formset"].forms[0].errors == {
        "category": ["Needed for this row."],
        "file": ["Needed for this row."],
    }


def test_a_revision_starts_from_the_entry_it_revises(lab: Group, ada: Any) -> None:
    file = verified_file(lab, "reads.fastq", released=True)
    entry(lab, "SV_000042", released=True, file=file)
    page = signed_in(ada).get(f"/groups/{lab.pk}/revise/?entry=SV_000042.1")
    assert page.status_code == 200
    header, line = page.context["form"].initial["metadata_text"].splitlines()
    assert header.split("\t") == [
        "accession",
        "submissionId",
        "geoLocCountry",
        "sampleCollectionDate",
        "files.raw_reads",
    ]
    assert line.split("\t") == [
        "SV_000042",
        "sub-SV_000042",
        "Kenya",
        "2024-01-02",
        f"reads.fastq:{file.pk}",
    ]


def test_released_entries_are_public_and_others_are_not(lab: Group) -> None:
    released = entry(
        lab, "SV_000001", released=True, file=verified_file(lab, "a.fastq", released=True)
    )
    entry(lab, "SV_000002", released=False, file=verified_file(lab, "b.fastq"))
    anonymous = Client()

    listing = anonymous.get("/released/?q=BA.2")
    assert [row["entry"].pk for row in listing.context["rows"]] == [released.pk]
    assert sorted(listing.context["columns"]) == ["country", "lineage"]  # processed metadata
    by_field = anonymous.get("/released/?field=country&value=keny")
    assert len(by_field.context["rows"]) == 1
    assert anonymous.get("/released/?field=country&value=peru").context["rows"] == []
    assert anonymous.get("/entries/SV_000001.1/").status_code == 200
    assert anonymous.get("/entries/SV_000002.1/").status_code == 404


def test_the_manifest_lists_public_files_with_urls_sizes_and_digests(lab: Group) -> None:
    public = verified_file(lab, "a.fastq", released=True)
    entry(lab, "SV_000001", released=True, file=public)
    entry(lab, "SV_000002", released=False, file=verified_file(lab, "b.fastq"))

    for query in ["?entry=SV_000001.1&entry=SV_000002.1", "?all=1"]:
        response = Client().get(f"/released/manifest.tsv{query}")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/tab-separated-values; charset=utf-8"
        assert response["Content-Disposition"].startswith(
            'attachment; filename="seqvault-manifest-'
        )
        body = b"".join(response.streaming_content).decode()
        lines = list(csv.DictReader(io.StringIO(body), delimiter="\t"))
        assert lines == [
            {
                "accessionVersion": "SV_000001.1",
                "organism": "sars-cov-2",
                "category": "raw_reads",
                "fileName": "a.fastq",
                "fileId": str(public.pk),
                "size": "1234",
                "sha256": "ab" * 32,
                "md5": "cd" * 16,
                "url": f"http://testserver/api/files/{public.pk}/download",
                "drsUri": f"drs://testserver/{public.pk}",
            }
        ]


def test_tokens_are_shown_once_and_only_their_owner_revokes_them(ada: Any) -> None:
    client = signed_in(ada)
    client.post("/tokens/", {"name": "script", "expires_in_days": "30"})
    first = client.get("/tokens/")
    raw = first.context["new_token"]["raw"]
    assert raw.startswith("sv_") and raw in first.content.decode()
    assert raw not in client.get("/tokens/").content.decode()
    token_id = first.context["new_token"]["id"]
    assert signed_in(UserFactory()).post(f"/tokens/{token_id}/revoke").status_code == 404
    assert client.post(f"/tokens/{token_id}/revoke").status_code == 302
    assert client.get("/tokens/").context["tokens"][0].revoked_at is not None


def test_only_a_group_admin_manages_members(lab: Group, ada: Any) -> None:
    member = UserFactory(username="bob")
    MembershipFactory(group=lab, user=member, role=Membership.Role.MEMBER)
    UserFactory(username="carol")
    refused = signed_in(member).post(
        f"/groups/{lab.pk}/members/",
        {"action": "add", "add-username": "carol", "add-role": "member"},
    )
    assert refused.status_code == 400
    assert not Membership.objects.filter(user__username="carol").exists()
    assert not GroupInvitation.objects.exists()
    page = signed_in(member).get(f"/groups/{lab.pk}/members/")
    assert "Invite a member" not in page.content.decode()
    assert "Pending invitations" not in page.content.decode()

    admin = signed_in(ada)
    added = admin.post(
        f"/groups/{lab.pk}/members/",
        {"action": "add", "add-username": "carol", "add-role": "admin"},
    )
    assert added.status_code == 302
    assert not Membership.objects.filter(user__username="carol").exists()
    assert GroupInvitation.objects.get(username="carol").role == "admin"
    changed = admin.post(
        f"/groups/{lab.pk}/members/",
        {"action": "add", "add-username": "bob", "add-role": "admin"},
        follow=True,
    )
    assert "bob is now admin." in changed.content.decode()
    assert Membership.objects.get(user__username="bob").role == "admin"


def test_inviting_says_the_same_whether_or_not_the_account_exists(lab: Group, ada: Any) -> None:
    UserFactory(username="carol")
    admin = signed_in(ada)
    pages = [
        admin.post(
            f"/groups/{lab.pk}/members/",
            {"action": "add", "add-username": name, "add-role": "member"},
            follow=True,
        )
        for name in ("carol", "nobody")
    ]
    said = [[str(m) for m in page.context["messages"]] for page in pages]
    assert said == [
        [
            f"Invitation sent to {name}. If an account of that name exists, they become a "
            "member once they accept it."
        ]
        for name in ("carol", "nobody")
    ]
    assert [page.status_code for page in pages] == [200, 200]
    listed = [i.username for i in pages[1].context["invitations"]]
    assert listed == ["carol", "nobody"]


def test_invitations_are_answered_and_revoked_from_the_pages(lab: Group, ada: Any) -> None:
    carol, dave = UserFactory(username="carol"), UserFactory(username="dave")
    admin = signed_in(ada)
    for name in ("carol", "dave", "erin"):
        admin.post(
            f"/groups/{lab.pk}/members/",
            {"action": "add", "add-username": name, "add-role": "member"},
        )
    invitation = {i.username: i for i in GroupInvitation.objects.all()}

    home = signed_in(carol).get("/")
    assert [i.pk for i in home.context["invitations"]] == [invitation["carol"].pk]
    assert f"/invitations/{invitation['carol'].pk}/accept" in home.content.decode()
    # Someone else's invitation: not found, as if it did not exist.
    assert signed_in(dave).post(f"/invitations/{invitation['carol'].pk}/accept").status_code == 404
    accepted = signed_in(carol).post(f"/invitations/{invitation['carol'].pk}/accept")
    assert accepted["Location"] == "/"
    assert Membership.objects.get(user=carol, group=lab).role == "member"
    assert signed_in(carol).get("/").context["invitations"] == []

    declined = signed_in(dave).post(f"/invitations/{invitation['dave'].pk}/decline")
    assert declined["Location"] == "/"
    assert not Membership.objects.filter(user=dave).exists()
    assert GroupInvitation.objects.get(pk=invitation["dave"].pk).status == "declined"

    assert (
        signed_in(carol)
        .post(f"/groups/{lab.pk}/invitations/{invitation['erin'].pk}/revoke")
        .status_code
        == 302
    )  # carol is a member, not an admin: refused with a message
    assert GroupInvitation.objects.get(pk=invitation["erin"].pk).status == "pending"
    revoked = admin.post(f"/groups/{lab.pk}/invitations/{invitation['erin'].pk}/revoke")
    assert revoked["Location"] == f"/groups/{lab.pk}/members/"
    assert GroupInvitation.objects.get(pk=invitation["erin"].pk).status == "revoked"
    assert admin.get("/").status_code == 200
    assert Client().post(f"/invitations/{invitation['erin'].pk}/accept").status_code == 302


def test_every_processed_entry_of_a_group_is_approved_at_once(lab: Group, ada: Any) -> None:
    ready = entry(lab, "SV_000007", released=False)
    failing = entry(lab, "SV_000008", released=False)
    failing.processed.update(errors=[{"message": "no coverage"}])
    response = signed_in(ada).post(
        "/entries/approve",
        {"scope": "all", "group": str(lab.pk), "next": f"/groups/{lab.pk}/entries/"},
    )
    assert response["Location"] == f"/groups/{lab.pk}/entries/"
    ready.refresh_from_db()
    failing.refresh_from_db()
    assert (ready.status, failing.status) == ("APPROVED_FOR_RELEASE", "PROCESSED")
    assert ready.approver == ada


def test_approval_is_refused_to_other_groups_and_says_why(lab: Group, ada: Any) -> None:
    other = entry(GroupFactory(), "SV_000009", released=False)
    client = signed_in(ada)
    response = client.post("/entries/approve", {"entry": "SV_000009.1"}, follow=True)
    assert "No entries of your groups have accession versions: SV_000009.1" in (
        response.content.decode()
    )
    other.refresh_from_db()
    assert other.status == "PROCESSED"


def test_a_refused_table_file_comes_back_as_text_to_correct(lab: Group, ada: Any) -> None:
    bad = METADATA.replace("2024-03-01", "yesterday")
    response = signed_in(ada).post(
        f"/groups/{lab.pk}/submit/",
        {
            "organism": "sars-cov-2",
            "metadata_file": SimpleUploadedFile("metadata.tsv", bad.encode()),
            "att-TOTAL_FORMS": "0",
            "att-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 422
    assert response.context["form"].data["metadata_text"] == bad
    [line] = response.context["placed"].lines
    assert (line.number, line.key) == (2, "s1")
    assert "'yesterday' is not a 'date'" in line.errors[0]

    gzipped = signed_in(ada).post(
        f"/groups/{lab.pk}/submit/",
        {
            "organism": "sars-cov-2",
            "metadata_file": SimpleUploadedFile("metadata.tsv.gz", gzip.compress(bad.encode())),
            "att-TOTAL_FORMS": "0",
            "att-INITIAL_FORMS": "0",
        },
    )
    assert gzipped.context["choose_again"] == ["Metadata table file (TSV)"]
    assert "Metadata table file (TSV): choose the file again" in gzipped.content.decode()


def test_a_file_page_names_the_entries_that_cite_it(lab: Group, ada: Any) -> None:
    file = verified_file(lab, "a.fastq", released=True)
    entry(lab, "SV_000003", released=True, file=file)
    page = signed_in(ada).get(f"/files/{file.pk}/")
    cited = [(a.entry.accession_version, a.kind) for a in page.context["attachments"]]
    assert cited == [("SV_000003.1", "input"), ("SV_000003.1", "output")]
    public = Client().get(f"/files/{file.pk}/")
    assert public.status_code == 200
    assert len(public.context["attachments"]) == 2


def test_a_form_sent_without_its_csrf_token_is_refused_with_a_readable_page(ada: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(ada)
    response = client.post("/tokens/", {"name": "x", "expires_in_days": "30"})
    assert response.status_code == 403
    assert "Please try again" in response.content.decode()
    assert not ada.api_tokens.exists()
