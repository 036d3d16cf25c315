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
]
