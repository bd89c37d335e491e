from django.conf import settings
from django.utils.functional import SimpleLazyObject

from core.background import preparation_steps
from core.roles import Role, user_roles


def utility(request):
    roles = user_roles(getattr(request, "user", None))
    return {
        "utility_name": settings.UTILIS_UTILITY_NAME,
        "user_roles": roles,
        "Role": Role,
    }


def background(request):
    """`background_steps`: what is still being prepared (core.background), for the status line
    of base.html; read only when a page shows it, i.e. to a signed-in user."""
    return {"background_steps": SimpleLazyObject(preparation_steps)}
