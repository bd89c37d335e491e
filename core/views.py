from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render

from core.roles import Role, has_role


# Each role's start page, by URL name (core names the pages; it imports none of the apps).
_LANDING = (
    (Role.ADMIN, "cis:search"),
    (Role.CSR, "cis:search"),
    (Role.BILLING, "billing:hub"),
    (Role.METERING, "mdm:search"),
    (Role.FIELD_CREW, "service_orders:field-home"),
    (Role.API_CLIENT, "api-docs"),
    (Role.CUSTOMER, "portal:home"),
)


@login_required
def home(request):
    """Send each person to a page their role may use (never to a 403)."""
    for role, page in _LANDING:
        if has_role(request.user, role):
            return redirect(page)
    if request.user.is_staff:
        return redirect("admin:index")
    message = "Your account has no role yet: ask an administrator for one."
    return render(request, "403.html", {"exception": message}, status=403)


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
