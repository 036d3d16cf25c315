from django.urls import path, re_path

from filesharing.api import multipart, views

urlpatterns = [
    path("files/request-uploads", views.RequestUploadsView.as_view(), name="request-uploads"),
    path("files/confirm", views.FilesConfirmView.as_view(), name="files-confirm"),
    path("files/", views.FileListView.as_view(), name="files"),
    path("files/<str:file_id>/", views.FileDetailView.as_view(), name="file-detail"),
    path("files/<str:file_id>/confirm", views.FileConfirmView.as_view(), name="file-confirm"),
    path("files/<str:file_id>/download", views.FileDownloadView.as_view(), name="file-download"),
    path(
        "files/<str:file_id>/multipart_uploads",
        multipart.FileMultipartUploadsView.as_view(),
        name="file-multipart-uploads",
    ),
    re_path(
        r"^multipart_uploads/(?P<upload_id>[^/]+)/?$",
        multipart.MultipartUploadDetailView.as_view(),
        name="multipart-upload-detail",
    ),
    path(
        "multipart_uploads/<str:upload_id>/parts",
        multipart.MultipartPartsView.as_view(),
        name="multipart-upload-parts",
    ),
    path(
        "multipart_uploads/<str:upload_id>/part/<int32:part_no>/presigned_post",
        multipart.MultipartPartUrlView.as_view(),
        name="multipart-upload-part-url",
    ),
]
