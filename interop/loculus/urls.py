"""Served under /loculus/ (point Loculus's website at <host>/loculus) and at the site's root
(root_urls): Loculus's preprocessing pipeline keeps only the scheme and host of its backend URL
and asks <host>/files/request-upload."""

from typing import Any

from django.urls import URLPattern, path

from interop.loculus import views

app_name = "loculus"


def loculus_patterns(**view_options: Any) -> list[URLPattern]:
    return [
        path(
            "files/request-upload",
            views.RequestUploadView.as_view(**view_options),
            name="request-upload",
        ),
        path(
            "files/request-multipart-upload",
            views.RequestMultipartUploadView.as_view(**view_options),
            name="request-multipart-upload",
        ),
        path(
            "files/complete-multipart-upload",
            views.CompleteMultipartUploadView.as_view(**view_options),
            name="complete-multipart-upload",
        ),
        path(
            "files/get/<str:accession>/<int:version>/<str:category>/<str:name>",
            views.FileGetView.as_view(**view_options),
            name="files-get",
        ),
    ]


urlpatterns = loculus_patterns()
