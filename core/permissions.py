"""Role-based access for DRF views and for hub views.

A DRF view declares `read_roles` and `write_roles` (tuples of core.roles.Role); an
unauthenticated caller gets 401, an authenticated caller without the role gets 403.
Views that declare neither are administrator-only, so a forgotten declaration fails closed.
"""
from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from core.roles import Role, has_role


class RolePermission(BasePermission):
    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if request.method in SAFE_METHODS:
            roles = getattr(view, "read_roles", None) or getattr(view, "write_roles", None) or ()
        else:
            roles = getattr(view, "write_roles", None) or ()
        return has_role(user, Role.ADMIN, *roles)


def role_required(*roles: str):
    """Decorator for hub views: login required, then one of `roles` (administrators always pass)."""

    def decorator(view_func):
        @wraps(view_func)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, Role.ADMIN, *roles):
                raise PermissionDenied("Your role does not allow this page.")
            return view_func(request, *args, **kwargs)

        return wrapped

    return decorator
