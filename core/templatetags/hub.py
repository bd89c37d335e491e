"""Template helpers for the staff hubs."""
from __future__ import annotations

from django import template

from core.roles import Role

register = template.Library()


@register.filter
def has_any_role(user_roles, names: str) -> bool:
    """`{% if user_roles|has_any_role:"csr,billing" %}`; administrators hold every role."""
    wanted = {n.strip() for n in names.split(",") if n.strip()}
    return bool(set(user_roles or ()) & (wanted | {Role.ADMIN.value}))


# The main navigation's sections by URL namespace (and, inside the CSR hub, by view name): a
# page is in exactly one section, so the Meter Hub's own "search" view is not the CSR search.
_CIS_MOVES = frozenset({"pending-moves", "move-in", "move-detail", "move-cancel", "move-sp-candidates"})
_SECTION_OF_NAMESPACE = {"mdm": "meters", "billing": "billing", "service_orders": "field"}


@register.filter
def nav_section(request) -> str:
    """`{% with section=request|nav_section %}`: 'search', 'moves', 'meters', 'billing', 'field'
    or '' for the page being shown (the top navigation marks that item as the current page)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    namespace = match.namespaces[0] if match.namespaces else ""
    if namespace == "cis":
        return "moves" if match.url_name in _CIS_MOVES else "search"
    return _SECTION_OF_NAMESPACE.get(namespace, "")


@register.filter
def audit_value(value) -> str:
    """A before/after value of the audit trail, with 'empty' made visible."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@register.filter
def accessible(bound_field):
    """Render a form field's widget tied to its help text and errors (aria-describedby), and
    marked invalid when it has errors, so screen readers announce why."""
    ids = []
    attrs = {}
    if bound_field.help_text:
        ids.append(f"{bound_field.auto_id}_help")
    if bound_field.errors:
        ids.append(f"{bound_field.auto_id}_errors")
        attrs["aria-invalid"] = "true"
    if ids:
        attrs["aria-describedby"] = " ".join(ids)
    return bound_field.as_widget(attrs=attrs)


@register.filter
def widget_type(bound_field) -> str:
    return getattr(bound_field.field.widget, "input_type", "") or bound_field.field.widget.__class__.__name__.lower()


@register.filter
def lookup(mapping, key):
    """`{{ labels|lookup:value }}`: a dict entry by a variable key, or the key itself."""
    try:
        return mapping.get(key, key)
    except AttributeError:
        return key


@register.filter
def active_on(obj, day) -> bool:
    """`{% if agreement|active_on:today %}` for anything with is_active_on(day)."""
    return bool(day) and obj.is_active_on(day)
