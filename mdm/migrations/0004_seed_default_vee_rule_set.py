"""Seed the default VEE rule set and assign it as the default from 2000-01-01, so a fresh
install (and the demo) validates and estimates without anyone configuring first."""
import datetime as dt

from django.db import migrations

from mdm.vee_config import DEFAULT_RULE_SET_NAME, default_rules_json


def seed(apps, schema_editor):
    VeeRuleSet = apps.get_model("mdm", "VeeRuleSet")
    Assignment = apps.get_model("mdm", "VeeRuleSetAssignment")
    rule_set, created = VeeRuleSet.objects.get_or_create(
        name=DEFAULT_RULE_SET_NAME,
        defaults={
            "description": "Every validation, then linear up to 3 hours, 4 like days, class profile.",
            "rules": default_rules_json(),
        },
    )
    if not Assignment.objects.filter(scope="default").exists():
        Assignment.objects.create(rule_set=rule_set, scope="default", scope_value="", start_date=dt.date(2000, 1, 1))


def unseed(apps, schema_editor):
    apps.get_model("mdm", "VeeRuleSetAssignment").objects.filter(rule_set__name=DEFAULT_RULE_SET_NAME).delete()
    apps.get_model("mdm", "VeeRuleSet").objects.filter(name=DEFAULT_RULE_SET_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("mdm", "0003_vee_runs")]
    operations = [migrations.RunPython(seed, unseed)]
