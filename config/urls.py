from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.sign_in import SignInView
from core import converters

converters.register()

api = [
    path("", include("core.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("groups.api.urls")),
    path("", include("filesharing.api.urls")),
    path("", include("submissions.api.urls")),
    path("", include("projects.api.urls")),
    path("", include("interop.urls")),
]

urlpatterns = [
    # One sign-in page, with its failed sign-in limits, for the admin too.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", include(api)),
    # Other communities' clients (docs/interop.md).
    path("loculus/", include("interop.loculus.urls", namespace="loculus")),
    path("", include("interop.loculus.root_urls")),
    path("ga4gh/drs/v1/", include("interop.drs.urls")),
    path("", include("interop.artifactdb.urls")),
    path("", include("web.urls")),
]

if settings.OIDC_ENABLED:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))

handler400 = "core.api.handlers.bad_request"
handler403 = "core.api.handlers.permission_denied"
handler404 = "core.api.handlers.page_not_found"
handler500 = "core.api.handlers.server_error"
