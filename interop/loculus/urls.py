"""Served under /loculus/ (point Loculus's website at <host>/loculus) and at the site's root:
Loculus's preprocessing pipeline keeps only the scheme and host of its backend URL and asks
<host>/files/request-upload."""

from django.urls import path

from interop.loculus import views

app_name = "loculus"

urlpatterns = [
    path("files/request-upload", views.RequestUploadView.as_view(), name="request-upload"),
    path(
        "files/request-multipart-upload",
        views.RequestMultipartUploadView.as_view(),
        name="request-multipart-upload",
    ),
    path(
        "files/complete-multipart-upload",
        views.CompleteMultipartUploadView.as_view(),
        name="complete-multipart-upload",
    ),
    path(
        "files/get/<str:accession>/<int:version>/<str:category>/<str:name>",
        views.FileGetView.as_view(),
        name="files-get",
    ),
]
