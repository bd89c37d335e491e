"""Seed a commercial/industrial VEE rule set (2,000 kW demand limit) assigned by rate class:
under the default's 100 kW limit every large customer's day went to the worklist."""
import datetime as dt

from django.db import migrations

from mdm.vee_config import LARGE_RATE_CLASSES, LARGE_RULE_SET_NAME, large_customer_rules_json


def seed(apps, schema_editor):
    VeeRuleSet = apps.get_model("mdm", "VeeRuleSet")
    Assignment = apps.get_model("mdm", "VeeRuleSetAssignment")
    rule_set, _ = VeeRuleSet.objects.get_or_create(
        name=LARGE_RULE_SET_NAME,
        defaults={"description": "The default with a 2,000 kW demand limit.", "rules": large_customer_rules_json()},
    )
    for rate_class in LARGE_RATE_CLASSES:
        if not Assignment.objects.filter(scope="rate_class", scope_value=rate_class).exists():
            Assignment.objects.create(rule_set=rule_set, scope="rate_class", scope_value=rate_class,
                                      start_date=dt.date(2000, 1, 1))


def unseed(apps, schema_editor):
    apps.get_model("mdm", "VeeRuleSetAssignment").objects.filter(rule_set__name=LARGE_RULE_SET_NAME).delete()
    apps.get_model("mdm", "VeeRuleSet").objects.filter(name=LARGE_RULE_SET_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("mdm", "0004_seed_default_vee_rule_set")]
    operations = [migrations.RunPython(seed, unseed)]
