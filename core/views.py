from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect

from core.roles import Role, has_role


@login_required
def home(request):
    """Send each person to the surface their role works in."""
    if has_role(request.user, Role.ADMIN, Role.CSR, Role.BILLING, Role.METERING, Role.FIELD_CREW):
        return redirect("cis:search")
    return redirect("admin:index") if request.user.is_staff else redirect("login")


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
