from django.urls import path

from groups.api import views

urlpatterns = [
    path("groups/", views.GroupListCreateView.as_view(), name="groups"),
    path("groups/<id:group_id>/", views.GroupDetailView.as_view(), name="group-detail"),
    path("groups/<id:group_id>/members/", views.GroupMembersView.as_view(), name="group-members"),
    path(
        "groups/<id:group_id>/members/<str:username>/",
        views.GroupMemberDetailView.as_view(),
        name="group-member-detail",
    ),
    path(
        "groups/<id:group_id>/invitations/",
        views.GroupInvitationListView.as_view(),
        name="group-invitations",
    ),
    path(
        "groups/<id:group_id>/invitations/<uuid:invitation_id>",
        views.GroupInvitationDetailView.as_view(),
        name="group-invitation-detail",
    ),
    path("invitations/", views.InvitationListView.as_view(), name="invitations"),
    path(
        "invitations/<uuid:invitation_id>/accept",
        views.InvitationAcceptView.as_view(),
        name="invitation-accept",
    ),
    path(
        "invitations/<uuid:invitation_id>/decline",
        views.InvitationDeclineView.as_view(),
        name="invitation-decline",
    ),
]
