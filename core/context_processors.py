from django.conf import settings

from core.roles import Role, user_roles


def utility(request):
    roles = user_roles(getattr(request, "user", None))
    return {
        "utility_name": settings.UTILIS_UTILITY_NAME,
        "user_roles": roles,
        "Role": Role,
    }
