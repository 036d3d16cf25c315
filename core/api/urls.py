from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core.api import views

urlpatterns = [
    path("health/", views.HealthView.as_view(), name="health"),
    path("jobs/<str:job_id>", views.JobDetailView.as_view(), name="job-detail"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
]
