from django.urls import path

from interop.drs import views

app_name = "drs"

urlpatterns = [
    path("service-info", views.ServiceInfoView.as_view(), name="service-info"),
    path("objects/<str:object_id>", views.ObjectView.as_view(), name="object"),
    path(
        "objects/<str:object_id>/access/<str:access_id>",
        views.AccessView.as_view(),
        name="access",
    ),
]
