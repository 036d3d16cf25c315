"""The same endpoints at the site's root, for Loculus's pipeline; documented once, under
/loculus/ (schema=None keeps these out of the OpenAPI document)."""

from interop.loculus.urls import loculus_patterns

app_name = "loculus-root"

urlpatterns = loculus_patterns(schema=None)
