from django.urls import path

from web.views import (
    entries,
    files,
    groups,
    home,
    invitations,
    released,
    submissions,
    tokens,
    uploads,
)

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    path("groups/", groups.group_list, name="groups"),
    path("groups/<id:group_id>/", groups.group_detail, name="group"),
    path("groups/<id:group_id>/members/", groups.group_members_page, name="group-members"),
    path(
        "groups/<id:group_id>/invitations/<uuid:invitation_id>/revoke",
        groups.group_invitation_revoke_view,
        name="group-invitation-revoke",
    ),
    path(
        "invitations/<uuid:invitation_id>/accept",
        invitations.invitation_accept_view,
        name="invitation-accept",
    ),
    path(
        "invitations/<uuid:invitation_id>/decline",
        invitations.invitation_decline_view,
        name="invitation-decline",
    ),
    path("groups/<id:group_id>/upload/", uploads.upload_page, name="upload"),
    path("groups/<id:group_id>/submit/", submissions.submit_page, name="submit"),
    path("groups/<id:group_id>/revise/", submissions.revise_page, name="revise"),
    path("groups/<id:group_id>/entries/", entries.entry_list, name="entries"),
    path("entries/approve", entries.approve, name="approve"),
    path("entries/<str:accession_version>/", entries.entry_detail, name="entry"),
    path("files/<uuid:file_id>/", files.file_detail, name="file"),
    path("files/<uuid:file_id>/check", files.file_check, name="file-check"),
    path("files/<uuid:file_id>/delete", files.file_delete, name="file-delete"),
    path("released/", released.released_list, name="released"),
    path("released/manifest.tsv", released.manifest, name="manifest"),
    path("tokens/", tokens.token_list, name="tokens"),
    path("tokens/<id:token_id>/revoke", tokens.token_revoke_view, name="token-revoke"),
]
