from django.urls import path

from core import two_factor, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/2fa/setup/", two_factor.setup, name="two-factor-setup"),
    path("accounts/2fa/verify/", two_factor.verify, name="two-factor-verify"),
]
