from django.urls import path

from filesharing.api import views

urlpatterns = [
    path("files/request-uploads", views.RequestUploadsView.as_view(), name="request-uploads"),
    path("files/", views.FileListView.as_view(), name="files"),
    path("files/<str:file_id>/", views.FileDetailView.as_view(), name="file-detail"),
    path("files/<str:file_id>/confirm", views.FileConfirmView.as_view(), name="file-confirm"),
    path("files/<str:file_id>/download", views.FileDownloadView.as_view(), name="file-download"),
]
