import datetime as dt

from django.db import models


class DemoPreparation(models.Model):
    """What `bin/utilis start` left to the background for the demo (demo.preparation): the AMI
    period to import and how far it got, the VEE runs it queued, and the bill run. One row."""

    seed = models.IntegerField()
    ami_end_date = models.DateField(help_text="First day not generated: data covers [end - days, end).")
    ami_days = models.PositiveIntegerField()
    ami_days_done = models.PositiveIntegerField(default=0, help_text="Days imported and handed to VEE, oldest first.")
    service_point_ids = models.JSONField(default=list, help_text="The metered service points the fleet plan used.")
    vee_run_ids = models.JSONField(default=list)
    bill_cycle_code = models.CharField(max_length=10, blank=True, default="")
    bill_date = models.DateField(null=True, blank=True)
    bill_run_id = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(ami_days_done__lte=models.F("ami_days")),
                                   name="demo_preparation_days_done_within_period"),
        ]

    def __str__(self) -> str:
        return f"demo preparation ({self.ami_days_done}/{self.ami_days} AMI days)"

    @property
    def ami_start_date(self) -> dt.date:
        return self.ami_end_date - dt.timedelta(days=self.ami_days)
