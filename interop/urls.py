from django.urls import path

from interop.views import CapabilitiesView

urlpatterns = [
    path("capabilities", CapabilitiesView.as_view(), name="capabilities"),
]
