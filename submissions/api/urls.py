from django.urls import path

from submissions.api import entries, pipeline, public

urlpatterns = [
    path("organisms/", public.OrganismListView.as_view(), name="organisms"),
    path("submit", entries.SubmitView.as_view(), name="submit"),
    path("revise", entries.ReviseView.as_view(), name="revise"),
    path("revoke", entries.RevokeView.as_view(), name="revoke"),
    path("approve", entries.ApproveView.as_view(), name="approve"),
    path("entries/", entries.EntryListView.as_view(), name="entries"),
    path(
        "entries/<str:accession_version>/",
        entries.EntryDetailView.as_view(),
        name="entry-detail",
    ),
    path("pipeline/unprocessed", pipeline.UnprocessedView.as_view(), name="pipeline-unprocessed"),
    path("pipeline/processed", pipeline.ProcessedView.as_view(), name="pipeline-processed"),
    path("pipeline/versions", pipeline.PipelineVersionsView.as_view(), name="pipeline-versions"),
    path("released-data", public.ReleasedDataView.as_view(), name="released-data"),
]
