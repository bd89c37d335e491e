"""Imports and VEE runs on core.runs: one status vocabulary, `started_by`, timings, a progress
heartbeat for the sweeper; chunks numbered `number` with a status. Import chunks keep their
records as versioned JSON instead of a pickle (pending pickled chunks are dropped: their runs
are marked failed, so the file can be imported again); VEE chunks carry their own channel ids
(moved here from the run's channel_ids array, which is dropped)."""
import django.contrib.postgres.fields
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def fail_unfinished_imports(apps, schema_editor):
    ImportRun = apps.get_model("mdm", "ImportRun")
    ImportRun.objects.filter(status__in=["queued", "running"], chunks_total__gt=0).update(
        status="failed", error="Stopped when import chunks moved to core.runs: import the file again.",
    )


def import_keys(apps, schema_editor):
    ImportRun = apps.get_model("mdm", "ImportRun")
    ImportRun.objects.update(idempotency_key=models.F("sha256"))


def vee_chunks_carry_channels(apps, schema_editor):
    VeeRun = apps.get_model("mdm", "VeeRun")
    VeeRunChunk = apps.get_model("mdm", "VeeRunChunk")
    for run in VeeRun.objects.only("pk", "channel_ids", "chunk_size").iterator(chunk_size=100):
        ids, size = list(run.channel_ids or []), run.chunk_size or 500
        for chunk in VeeRunChunk.objects.filter(run_id=run.pk).order_by("number"):
            part = ids[chunk.number * size:(chunk.number + 1) * size]
            chunk.channel_ids, chunk.size = part, len(part)
            if chunk.done_at is not None:
                chunk.status, chunk.finished_at = "done", chunk.done_at
            chunk.save(update_fields=["channel_ids", "size", "status", "finished_at"])
        VeeRun.objects.filter(pk=run.pk).update(chunks_total=-(-len(ids) // size) if ids else 0)


STATUS = models.CharField(
    choices=[("queued", "Queued"), ("running", "Running"), ("done", "Done"), ("failed", "Failed")],
    default="queued", max_length=20,
)
CHUNK_STATUS = models.CharField(
    choices=[("pending", "Pending"), ("done", "Done"), ("failed", "Failed")], default="pending", max_length=10,
)


def run_fields(model: str) -> list:
    return [
        migrations.RenameField(model, "created_by", "started_by"),
        migrations.AlterField(model, "status", STATUS),
        migrations.AlterField(model, "progress_done", models.PositiveBigIntegerField(
            default=0, help_text="Work items done (records, channels, accounts).")),
        migrations.AlterField(model, "progress_total", models.PositiveBigIntegerField(default=0)),
        migrations.AlterField(model, "created_at", models.DateTimeField(default=django.utils.timezone.now)),
        migrations.AddField(model, "timings", models.JSONField(
            blank=True, default=dict, help_text="Seconds per phase, summed over chunks.")),
        migrations.AddField(model, "progress_at", models.DateTimeField(
            blank=True, null=True, help_text="When a chunk last finished: the sweeper's sign that a worker is alive.")),
        migrations.AlterField(model, "started_by", models.ForeignKey(
            blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+",
            to=settings.AUTH_USER_MODEL)),
    ]


KEY_HELP = "What makes two requests the same run (its uniqueness is the app's)."


class Migration(migrations.Migration):
    dependencies = [
        ("mdm", "0006_partition_ensure_fresh_catalog"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Imports.
        migrations.RunPython(fail_unfinished_imports, migrations.RunPython.noop),
        migrations.DeleteModel("ImportChunk"),
        *run_fields("importrun"),
        migrations.AlterField("importrun", "chunks_total", models.PositiveIntegerField(default=0)),
        migrations.AddField("importrun", "idempotency_key", models.CharField(blank=True, help_text=KEY_HELP, max_length=100)),
        migrations.RunPython(import_keys, migrations.RunPython.noop),
        migrations.CreateModel(
            name="ImportChunk",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("number", models.PositiveIntegerField()),
                ("status", CHUNK_STATUS),
                ("size", models.PositiveIntegerField(default=0, help_text="Work items in the chunk: what the run's progress moves by.")),
                ("error", models.TextField(blank=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("payload", models.JSONField(blank=True, help_text="The parsed records, until loaded.", null=True)),
                ("run", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="chunks", to="mdm.importrun")),
            ],
            options={
                "ordering": ["run_id", "number"],
                "abstract": False,
                "constraints": [models.UniqueConstraint(fields=("run", "number"), name="import_chunk_unique")],
            },
        ),
        # VEE runs.
        *run_fields("veerun"),
        migrations.AlterField("veerun", "idempotency_key", models.CharField(blank=True, help_text=KEY_HELP, max_length=100)),
        migrations.AddField("veerun", "chunks_total", models.PositiveIntegerField(default=0)),
        migrations.RemoveConstraint("veerunchunk", "vee_chunk_unique"),
        migrations.RenameField("veerunchunk", "vee_run", "run"),
        migrations.AlterModelOptions("veerunchunk", {"ordering": ["run_id", "number"]}),
        migrations.RenameField("veerunchunk", "index", "number"),
        migrations.AddField("veerunchunk", "status", CHUNK_STATUS),
        migrations.AddField("veerunchunk", "size", models.PositiveIntegerField(
            default=0, help_text="Work items in the chunk: what the run's progress moves by.")),
        migrations.AddField("veerunchunk", "error", models.TextField(blank=True)),
        migrations.AddField("veerunchunk", "finished_at", models.DateTimeField(blank=True, null=True)),
        migrations.AddField("veerunchunk", "channel_ids", django.contrib.postgres.fields.ArrayField(
            base_field=models.BigIntegerField(), default=list, help_text="This chunk's channels.", size=None)),
        migrations.RunPython(vee_chunks_carry_channels, migrations.RunPython.noop),
        migrations.RemoveField("veerunchunk", "done_at"),
        migrations.RemoveField("veerun", "channel_ids"),
        migrations.AddConstraint("veerunchunk", models.UniqueConstraint(fields=("run", "number"), name="vee_chunk_unique")),
    ]
