from django.urls import path

from accounts.api import views

urlpatterns = [
    path("tokens/", views.TokenListCreateView.as_view(), name="tokens"),
    path("tokens/<id:token_id>/", views.TokenDetailView.as_view(), name="token-detail"),
]
