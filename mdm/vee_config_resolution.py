"""Which VEE rule set judges a channel-day: the assignments in effect, the resolution per
channel and day (service point > rate class > meter kind > default, then the higher priority),
the stored rule sets as mdm.vee.rules objects, and the fingerprint of the whole configuration
that a run's idempotency key carries. (mdm.vee_config is the JSON form of a rule set.)"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Q

from mdm.models import VeeRuleSet, VeeRuleSetAssignment
from mdm.vee import rules as r
from mdm.vee_config import fingerprint, rule_set_from_json

BUILT_IN = 0  # rule-set id used when no assignment is in effect: mdm.vee.rules.default_rule_set()

SPECIFICITY: dict[str, int] = {
    VeeRuleSetAssignment.Scope.SERVICE_POINT: 3,
    VeeRuleSetAssignment.Scope.RATE_CLASS: 2,
    VeeRuleSetAssignment.Scope.METER_KIND: 1,
    VeeRuleSetAssignment.Scope.DEFAULT: 0,
}


@dataclass(frozen=True)
class AssignmentRow:
    rule_set_id: int
    scope: str
    scope_value: str
    priority: int
    start_date: dt.date
    end_date: dt.date | None


def assignments_in_effect(*, start_date: dt.date, end_date: dt.date) -> list[AssignmentRow]:
    """Every assignment overlapping [start_date, end_date)."""
    qs = VeeRuleSetAssignment.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gt=start_date), start_date__lt=end_date
    ).values_list("rule_set_id", "scope", "scope_value", "priority", "start_date", "end_date")
    return [AssignmentRow(*row) for row in qs]


def resolve_rule_set_id(assignments: Sequence[AssignmentRow], *, day: dt.date, service_point_id: int | None,
                        rate_class: str, meter_kind: str) -> int:
    """The rule set of the most specific assignment in effect on `day` (service point > rate
    class > meter kind > default; then the higher priority); BUILT_IN when none applies."""
    wanted: dict[str, str | None] = {
        VeeRuleSetAssignment.Scope.SERVICE_POINT: str(service_point_id) if service_point_id is not None else None,
        VeeRuleSetAssignment.Scope.RATE_CLASS: rate_class or None,
        VeeRuleSetAssignment.Scope.METER_KIND: meter_kind or None,
        VeeRuleSetAssignment.Scope.DEFAULT: "",
    }
    best, best_key = BUILT_IN, None
    for a in assignments:
        if not (a.start_date <= day and (a.end_date is None or day < a.end_date)):
            continue
        if wanted.get(a.scope) is None or a.scope_value != wanted[a.scope]:
            continue
        key = (SPECIFICITY[a.scope], a.priority)
        if best_key is None or key > best_key:
            best, best_key = a.rule_set_id, key
    return best


def rule_sets_by_id(ids: Iterable[int]) -> dict[int, r.RuleSet]:
    """Raises mdm.vee_config.RuleSetConfigError for a stored rule set that no longer parses."""
    out: dict[int, r.RuleSet] = {}
    for rs in VeeRuleSet.objects.filter(pk__in=[i for i in ids if i != BUILT_IN]):
        out[rs.pk] = rule_set_from_json(rs.name, rs.rules)
    out[BUILT_IN] = r.default_rule_set()
    return out


def config_version() -> str:
    """A fingerprint of every rule set and assignment: a run's key changes when staff do."""
    sets = list(VeeRuleSet.objects.order_by("pk").values_list("pk", "version", "rules"))
    assignments = list(
        VeeRuleSetAssignment.objects.order_by("pk").values_list(
            "rule_set_id", "scope", "scope_value", "priority", "start_date", "end_date"
        )
    )
    return fingerprint([sets, assignments])
