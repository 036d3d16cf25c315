from django.urls import path

from projects.api import uploads, views

urlpatterns = [
    path("projects/upload", uploads.ProjectUploadView.as_view(), name="project-upload"),
    path("projects/search", views.SearchView.as_view(), name="project-search"),
    path(
        "projects/<str:project_id>/upload",
        uploads.ProjectVersionUploadView.as_view(),
        name="project-new-version-upload",
    ),
    path(
        "projects/<str:project_id>/versions",
        views.VersionsView.as_view(),
        name="project-versions",
    ),
    path(
        "projects/<str:project_id>/version/<int32:version>/upload",
        uploads.QualifiedUploadView.as_view(),
        name="project-version-upload",
    ),
    path(
        "projects/<str:project_id>/version/<int32:version>/complete",
        views.CompleteView.as_view(),
        name="project-version-complete",
    ),
    path(
        "projects/<str:project_id>/version/<int32:version>/abort",
        views.AbortView.as_view(),
        name="project-version-abort",
    ),
    path(
        "projects/<str:project_id>/version/<int32:version>/metadata",
        views.MetadataView.as_view(),
        name="project-version-metadata",
    ),
    path("link/<str:source>/to/<str:target>", views.LinkView.as_view(), name="project-link"),
    path("index/build", views.IndexBuildView.as_view(), name="index-build"),
    path("index/status", views.IndexStatusView.as_view(), name="index-status"),
    path("schemas", views.SchemaListView.as_view(), name="schemas"),
    path("schemas/<path:schema_id>", views.SchemaDetailView.as_view(), name="schema-detail"),
]
