from django.apps import AppConfig


class InteropConfig(AppConfig):
    """Adapters for the clients other communities run (Loculus, ArtifactDB, GA4GH DRS) and the
    capabilities document; each is a thin layer over the services and selectors of the apps
    that own the data. It owns no tables."""

    name = "interop"
    verbose_name = "Interfaces for other clients"
