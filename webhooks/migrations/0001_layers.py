# The outbox: events, endpoints, deliveries, attempts.
# Installs made before these layers were drawn have every replaced migration applied;
# new ones run this.
import functools

import django.db.models.deletion
from django.db import migrations, models

import foundation.ids
from foundation.schedules import install_schedules

SCHEDULES = [
    # Deliveries due for another attempt, and those whose worker was lost mid-send.
    ("deliver-due-webhooks", "webhooks.tasks.deliver_due", "I", 1),
]


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ('webhooks', '0001_initial'),
        ('webhooks', '0002_endpoints_deliveries'),
        ('webhooks', '0003_schedules'),
        ('webhooks', '0004_dispatch_wakeup'),
    ]

    dependencies = [
        ('django_q', '0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more'),
        ('foundation', '0001_layers'),
    ]

    operations = [
        migrations.CreateModel(
            name='DispatchWakeup',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ('queued_at', models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name='Event',
            fields=[
                ('id', models.CharField(default=functools.partial(foundation.ids.new_id, *('evt',), **{}), editable=False, max_length=32, primary_key=True, serialize=False)),
                ('type', models.CharField(db_index=True, max_length=100)),
                ('object_type', models.CharField(max_length=32)),
                ('object_id', models.CharField(db_index=True, max_length=64)),
                ('sequence', models.PositiveIntegerField(default=1)),
                ('data', models.JSONField()),
                ('request_id', models.CharField(blank=True, max_length=128)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('environment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='events', to='foundation.environment')),
            ],
            options={
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', models.CharField(default=functools.partial(foundation.ids.new_id, *('whd',), **{}), editable=False, max_length=32, primary_key=True, serialize=False)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('delivering', 'Delivering'), ('succeeded', 'Succeeded'), ('dead', 'Dead')], default='pending', max_length=16)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('claim_token', models.CharField(blank=True, max_length=64)),
                ('claim_expires_at', models.DateTimeField(blank=True, null=True)),
                ('last_status_code', models.PositiveIntegerField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('event', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='webhooks.event')),
            ],
            options={
                'verbose_name_plural': 'webhook deliveries',
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='WebhookAttempt',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('started_at', models.DateTimeField()),
                ('status_code', models.PositiveIntegerField(blank=True, null=True)),
                ('latency_ms', models.PositiveIntegerField(default=0)),
                ('response_excerpt', models.TextField(blank=True)),
                ('error', models.CharField(blank=True, max_length=500)),
                ('delivery', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attempt_log', to='webhooks.webhookdelivery')),
            ],
            options={
                'ordering': ['started_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='WebhookEndpoint',
            fields=[
                ('id', models.CharField(default=functools.partial(foundation.ids.new_id, *('whe',), **{}), editable=False, max_length=32, primary_key=True, serialize=False)),
                ('url', models.URLField(max_length=2000)),
                ('events', models.JSONField(default=list)),
                ('enabled', models.BooleanField(default=True)),
                ('disabled_reason', models.CharField(blank=True, max_length=500)),
                ('failing_since', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('environment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='webhook_endpoints', to='foundation.environment')),
            ],
            options={
                'ordering': ['-id'],
            },
        ),
        migrations.AddField(
            model_name='webhookdelivery',
            name='endpoint',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='webhooks.webhookendpoint'),
        ),
        migrations.CreateModel(
            name='WebhookSecret',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('secret', models.CharField(max_length=100)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('expires_at', models.DateTimeField(blank=True, null=True)),
                ('endpoint', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='secrets', to='webhooks.webhookendpoint')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.AddIndex(
            model_name='webhookdelivery',
            index=models.Index(fields=['status', 'next_attempt_at'], name='webhooks_we_status_afd94b_idx'),
        ),
        migrations.AddIndex(
            model_name='webhookdelivery',
            index=models.Index(fields=['status', 'claim_expires_at'], name='webhooks_we_status_7107d3_idx'),
        ),
        install_schedules(*SCHEDULES),
    ]
