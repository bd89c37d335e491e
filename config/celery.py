import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("utilis")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# core.runs' sweeper (core/runs/tasks.py) lives below core's own package.
app.autodiscover_tasks(["core.runs"])
