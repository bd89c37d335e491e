"""`{{ r.get_status_display|say }}`: another app's choice label in the portal's language."""
from __future__ import annotations

from django import template

from portal.presenting import choice_label

register = template.Library()


@register.filter(name="say")
def say(label) -> str:
    return choice_label(str(label))
