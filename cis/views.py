from django.shortcuts import render

from core.permissions import role_required
from core.roles import Role


@role_required(Role.CSR, Role.BILLING, Role.METERING)
def search(request):
    return render(request, "cis/search.html", {})
