"""Which language a portal page speaks: English or French (settings.LANGUAGES).

In order: the switch on every portal page (a cookie, so the choice survives signing out), the
preferred language on file of the signed-in customer (their first linked account's customer;
looked up once per session), then the browser's Accept-Language, then English. Only paths
under /portal/ are translated: the staff hubs, the admin and the API stay English, and the
language is put back after each portal request so nothing else inherits it."""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme

from portal.models import AccountLink

# The session remembers the customer's language on file ("" when it is not one we speak).
ON_FILE_KEY = "portal_language_on_file"
COOKIE_MAX_AGE = 365 * 24 * 3600


def _supported(code: str | None) -> str | None:
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def mail_language(code: str | None) -> str:
    """The language of mail sent outside a request (alerts from Celery): the customer's on file
    when we speak it, else English."""
    return _supported(code) or settings.LANGUAGE_CODE


def _on_file(request: HttpRequest) -> str | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    session = request.session
    if ON_FILE_KEY not in session:
        link = (AccountLink.objects.filter(user=user).order_by("linked_at", "id")
                .select_related("account__customer").first())
        preferred = link.account.customer.preferred_language if link is not None else ""
        session[ON_FILE_KEY] = _supported(preferred) or ""
    return session[ON_FILE_KEY] or None


def portal_language(request: HttpRequest) -> str:
    """The language code ("en" or "fr") this portal request is answered in."""
    return (_supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
            or _on_file(request)
            or translation.get_language_from_request(request))


def _portal_prefix() -> str:
    return reverse("portal:home")


class PortalLanguageMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(_portal_prefix()):
            return self.get_response(request)
        language = portal_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response = self.get_response(request)
        finally:
            translation.deactivate()
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", language)
        return response


def language_switch(request: HttpRequest) -> HttpResponse:
    """The switch on every portal page (POST language, next): remembers the choice in a cookie
    and goes back to the page it was pressed on (another site's address goes to the portal home)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    target = request.POST.get("next") or ""
    if not (url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                            require_https=request.is_secure())
            and target.startswith(_portal_prefix())):
        target = _portal_prefix()
    response = HttpResponseRedirect(target)
    language = _supported(request.POST.get("language"))
    if language is not None:
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=COOKIE_MAX_AGE, samesite="Lax",
                            secure=request.is_secure(), httponly=True)
    return response
