"""Alerts: webhooks and the durable queue of their deliveries (and of the
e-mails). The Operators group holds every permission of the app (0011), so
it is given the new models' too."""

from django.contrib.auth.management import create_permissions
import django.db.models.deletion
import django.utils.timezone
import ocpp_app.models.webhooks
import uuid
from django.db import migrations, models


OPERATORS = "Operators"
MODELS = ("webhook", "delivery")


def grant_operators(apps, schema_editor):
    # Permissions are normally created after the last migration; the group
    # needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    operators = Group.objects.filter(name=OPERATORS).first()
    if operators is not None:
        operators.permissions.add(
            *Permission.objects.filter(content_type__app_label="ocpp_app", content_type__model__in=MODELS)
        )


class Migration(migrations.Migration):

    dependencies = [
        ('ocpp_app', '0011_roles'),
    ]

    operations = [
        migrations.CreateModel(
            name='Webhook',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(blank=True, max_length=100)),
                ('url', models.CharField(max_length=2000, validators=[ocpp_app.models.webhooks.validate_webhook_url])),
                ('secret', models.TextField(editable=False)),
                ('event_types', models.JSONField(default=list, validators=[ocpp_app.models.webhooks.validate_event_types])),
                ('chargers', models.JSONField(blank=True, default=list, validators=[ocpp_app.models.webhooks.validate_charger_ids])),
                ('active', models.BooleanField(default=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'ordering': ['id'],
            },
        ),
        migrations.CreateModel(
            name='Delivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('channel', models.CharField(choices=[('webhook', 'Webhook'), ('email', 'E-mail')], default='webhook', max_length=10)),
                ('recipients', models.TextField(blank=True)),
                ('event_id', models.UUIDField()),
                ('event_type', models.CharField(choices=[('charger.connected', 'charger.connected'), ('charger.offline', 'charger.offline'), ('connector.faulted', 'connector.faulted'), ('transaction.started', 'transaction.started'), ('transaction.stopped', 'transaction.stopped'), ('security.event', 'security.event'), ('webhook.ping', 'webhook.ping')], max_length=40)),
                ('charger_id', models.CharField(blank=True, max_length=100)),
                ('body', models.TextField()),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('delivered', 'Delivered'), ('failed', 'Failed')], default='pending', max_length=10)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('next_attempt_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('claimed_by', models.CharField(blank=True, max_length=200)),
                ('last_status_code', models.PositiveIntegerField(blank=True, null=True)),
                ('last_error', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('webhook', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='ocpp_app.webhook')),
            ],
            options={
                'verbose_name_plural': 'deliveries',
                'ordering': ['-id'],
                'indexes': [models.Index(fields=['status', 'next_attempt_at'], name='delivery_due'), models.Index(fields=['webhook', '-id'], name='delivery_webhook'), models.Index(fields=['finished_at'], name='delivery_finished')],
            },
        ),
        migrations.RunPython(grant_operators, migrations.RunPython.noop),
    ]
