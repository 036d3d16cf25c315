from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from core import converters

converters.register()

api = [
    path("", include("core.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("groups.api.urls")),
    path("", include("filesharing.api.urls")),
    path("", include("submissions.api.urls")),
    path("", include("projects.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", include(api)),
    path("", include("web.urls")),
]

if settings.OIDC_ENABLED:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))

handler400 = "core.api.handlers.bad_request"
handler403 = "core.api.handlers.permission_denied"
handler404 = "core.api.handlers.page_not_found"
handler500 = "core.api.handlers.server_error"
