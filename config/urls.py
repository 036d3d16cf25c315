from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.api import views as accounts_views
from core.api import views as core_views
from filesharing.api import views as files_views
from groups.api import views as groups_views

api = [
    path("health/", core_views.HealthView.as_view(), name="health"),
    path("jobs/<str:job_id>", core_views.JobDetailView.as_view(), name="job-detail"),
    path("tokens/", accounts_views.TokenListCreateView.as_view(), name="tokens"),
    path("tokens/<int:token_id>/", accounts_views.TokenDetailView.as_view(), name="token-detail"),
    path("groups/", groups_views.GroupListCreateView.as_view(), name="groups"),
    path("groups/<int:group_id>/", groups_views.GroupDetailView.as_view(), name="group-detail"),
    path(
        "groups/<int:group_id>/members/",
        groups_views.GroupMembersView.as_view(),
        name="group-members",
    ),
    path(
        "groups/<int:group_id>/members/<str:username>/",
        groups_views.GroupMemberDetailView.as_view(),
        name="group-member-detail",
    ),
    path("files/request-uploads", files_views.RequestUploadsView.as_view(), name="request-uploads"),
    path("files/", files_views.FileListView.as_view(), name="files"),
    path("files/<str:file_id>/", files_views.FileDetailView.as_view(), name="file-detail"),
    path("files/<str:file_id>/confirm", files_views.FileConfirmView.as_view(), name="file-confirm"),
    path(
        "files/<str:file_id>/download", files_views.FileDownloadView.as_view(), name="file-download"
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", include(api)),
]

if settings.OIDC_ENABLED:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))
