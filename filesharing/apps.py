from django.apps import AppConfig


class FilesharingConfig(AppConfig):
    name = "filesharing"
    verbose_name = "Files"
