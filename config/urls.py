from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

api_patterns: list[URLPattern | URLResolver] = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("", include("cis.api.urls")),
    path("mdm/", include("mdm.api.urls")),
    path("billing/", include("billing.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include(api_patterns)),
    path("", include("core.urls")),
    path("hub/", include("cis.urls")),
    path("meters/", include("mdm.urls")),
    path("billing/", include("billing.urls")),
]
