# Environments, API keys, the audit log and idempotency records: the ground floor.
# Environments and API keys keep the tables they were created in (media_core_*) here;
# 0003 renames them.
# Installs made before these layers were drawn have every replaced migration applied;
# new ones run this.
import functools

import django.db.models.deletion
from django.db import migrations, models

import foundation.ids


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ('foundation', '0001_initial'),
        ('foundation', '0002_replay_rendered_bytes'),
    ]

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='Environment',
            fields=[
                ('id', models.CharField(default=functools.partial(foundation.ids.new_id, *('env',), **{}), editable=False, max_length=32, primary_key=True, serialize=False)),
                ('name', models.SlugField(max_length=64, unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'db_table': 'media_core_environment',
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', models.CharField(default=functools.partial(foundation.ids.new_id, *('aud',), **{}), editable=False, max_length=32, primary_key=True, serialize=False)),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('actor_type', models.CharField(max_length=16)),
                ('actor_id', models.CharField(max_length=64)),
                ('actor_label', models.CharField(max_length=200)),
                ('action', models.CharField(db_index=True, max_length=64)),
                ('object_type', models.CharField(max_length=32)),
                ('object_id', models.CharField(db_index=True, max_length=64)),
                ('request_id', models.CharField(blank=True, db_index=True, max_length=128)),
                ('changes', models.JSONField(blank=True, default=dict)),
                ('message', models.TextField(blank=True)),
                ('environment', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='foundation.environment')),
            ],
            options={
                'verbose_name_plural': 'audit entries',
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='ApiKey',
            fields=[
                ('id', models.CharField(default=functools.partial(foundation.ids.new_id, *('key',), **{}), editable=False, max_length=32, primary_key=True, serialize=False)),
                ('name', models.CharField(max_length=100)),
                ('prefix', models.CharField(help_text='The first characters of the secret, to recognise it.', max_length=16)),
                ('secret_hash', models.CharField(editable=False, max_length=64, unique=True)),
                ('scopes', models.JSONField(default=list)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('last_used_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('environment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='api_keys', to='foundation.environment')),
            ],
            options={
                'verbose_name': 'API key',
                'db_table': 'media_core_apikey',
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='IdempotencyRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scope', models.CharField(max_length=64)),
                ('key', models.CharField(max_length=255)),
                ('fingerprint', models.CharField(max_length=64)),
                ('state', models.CharField(choices=[('in_progress', 'In Progress'), ('completed', 'Completed')], default='in_progress', max_length=16)),
                ('response_status', models.PositiveSmallIntegerField(null=True)),
                ('response_body', models.TextField(blank=True)),
                ('response_content_type', models.CharField(blank=True, max_length=100)),
                ('response_headers', models.JSONField(default=dict)),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('scope', 'key'), name='idempotency_scope_key_unique')],
            },
        ),
    ]
