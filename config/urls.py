from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from billing.payments.card_views import card_webhook
from core.auth import LogoutAllView, LogoutView, TokenView
from core.two_factor import LoginView

api_patterns: list[URLPattern | URLResolver] = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("auth/logout/", LogoutView.as_view(), name="api-logout"),
    path("auth/logout-all/", LogoutAllView.as_view(), name="api-logout-all"),
    path("", include("cis.api.urls")),
    path("mdm/", include("mdm.api.urls")),
    path("billing/", include("billing.api.urls")),
    # A customer's own data, for their personal token (docs/api.md "My data").
    path("portal/", include("portal.api.urls")),
]

# Swagger UI: its start-up script is a separate request (the split view), so the page needs no
# inline script; its bundle adds <style> elements, which this one page allows.
api_docs = csp_update({"style-src": [UNSAFE_INLINE]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)

def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """The static icon's address is resolved per request (the manifest exists only after collectstatic)."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


# The admin says whose it is, not "Django administration".
admin.site.site_header = "Utilis administration"
admin.site.site_title = "Utilis admin"
admin.site.index_title = "Customers, meters, billing and their settings"

urlpatterns = [
    # Browsers ask for /favicon.ico whatever the page links: answer with the icon, not a 404.
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("api/", include(api_patterns)),
    path("", include("core.urls")),
    path("hub/", include("cis.urls")),
    path("meters/", include("mdm.urls")),
    path("billing/", include("billing.urls")),
    path("field/", include("service_orders.urls")),
    path("portal/", include("portal.urls")),
    # The card gateway's signed confirmations (CSRF-exempt; docs/payments.md "Card payments").
    path("webhooks/payments/card/", card_webhook, name="card-webhook"),
]
