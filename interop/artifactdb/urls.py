"""The URLs an ArtifactDB upload answer hands out (`completion_url`, `abort_url`, links,
`job_url`) are relative to the API root (`/projects/…`), so that a client configured with
`<host>/api` reaches them as `<host>/api/projects/…`. A client that joins them with the host
instead reaches `<host>/projects/…`: the same views are served there too (documented once,
under /api/)."""

from django.urls import path

from core.api.views import JobDetailView
from projects.api import views

urlpatterns = [
    path(
        "projects/<str:project_id>/version/<int:version>/complete",
        views.CompleteView.as_view(schema=None),
        name="artifactdb-root-complete",
    ),
    path(
        "projects/<str:project_id>/version/<int:version>/abort",
        views.AbortView.as_view(schema=None),
        name="artifactdb-root-abort",
    ),
    path(
        "link/<str:source>/to/<str:target>",
        views.LinkView.as_view(schema=None),
        name="artifactdb-root-link",
    ),
    path("jobs/<str:job_id>", JobDetailView.as_view(schema=None), name="artifactdb-root-job"),
]
