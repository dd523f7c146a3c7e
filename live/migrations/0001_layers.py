# Live streams, sessions, simulcast targets and health samples.
# Installs made before these layers were drawn have every replaced migration applied;
# new ones run this.
import functools

import django.db.models.deletion
from django.db import migrations, models

import foundation.ids
from foundation.schedules import install_schedules

SCHEDULES = [
    # Runs whose reconnect window passed, recordings left waiting, old health samples.
    ("live-housekeeping", "live.tasks.housekeeping", "I", 1),
]


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ('live', '0001_initial'),
        ('live', '0002_housekeeping_schedule'),
    ]

    dependencies = [
        ('django_q', '0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more'),
        ('foundation', '0001_layers'),
        ('media_core', '0001_layers'),
    ]

    operations = [
        migrations.CreateModel(
            name='LiveStream',
            fields=[
                ('id', models.CharField(default=functools.partial(foundation.ids.new_id, *('lvs',), **{}), editable=False, max_length=32, primary_key=True, serialize=False)),
                ('status', models.CharField(choices=[('idle', 'Idle'), ('active', 'Active'), ('disabled', 'Disabled')], db_index=True, default='idle', max_length=16)),
                ('latency_mode', models.CharField(choices=[('standard', 'Standard'), ('low', 'Low')], default='standard', max_length=16)),
                ('reconnect_window', models.FloatField(default=60, help_text='Seconds the stream stays active after the encoder leaves, so a reconnect continues the same recording.')),
                ('new_asset_settings', models.JSONField(blank=True, help_text='Settings of the asset each session is recorded into; empty: no recording.', null=True)),
                ('passthrough', models.CharField(blank=True, max_length=255)),
                ('key_hash', models.CharField(help_text="SHA-256 of the stream key's secret.", max_length=64)),
                ('key_generation', models.PositiveIntegerField(default=1)),
                ('srt_port', models.PositiveIntegerField(blank=True, null=True, unique=True)),
                ('srt_passphrase', models.CharField(blank=True, max_length=64)),
                ('connected', models.BooleanField(default=False, help_text='An encoder is publishing now.')),
                ('active_since', models.DateTimeField(blank=True, null=True)),
                ('disconnected_at', models.DateTimeField(blank=True, help_text='When the encoder left; the reconnect window runs from here.', null=True)),
                ('disconnects', models.PositiveIntegerField(default=0)),
                ('health', models.JSONField(blank=True, default=dict)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('deleted_at', models.DateTimeField(blank=True, db_index=True, null=True)),
                ('environment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='live_streams', to='foundation.environment')),
                ('recording_asset', models.ForeignKey(blank=True, help_text='The asset the current run is recorded into.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='media_core.asset')),
            ],
            options={
                'verbose_name': 'live stream',
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='LiveSession',
            fields=[
                ('id', models.CharField(default=functools.partial(foundation.ids.new_id, *('lss',), **{}), editable=False, max_length=32, primary_key=True, serialize=False)),
                ('node', models.CharField(max_length=128)),
                ('app', models.CharField(max_length=32)),
                ('client_id', models.CharField(max_length=32)),
                ('address', models.CharField(blank=True, max_length=64)),
                ('via', models.CharField(default='rtmp', help_text='rtmp or srt', max_length=8)),
                ('started_at', models.DateTimeField(auto_now_add=True)),
                ('playable_at', models.DateTimeField(blank=True, null=True)),
                ('ended_at', models.DateTimeField(blank=True, db_index=True, null=True)),
                ('end_reason', models.CharField(blank=True, max_length=64)),
                ('bytes_in', models.BigIntegerField(default=0)),
                ('drop_requested', models.BooleanField(default=False, help_text='The platform asked the ingest to disconnect this encoder.')),
                ('recording_path', models.CharField(blank=True, max_length=1024)),
                ('asset', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='media_core.asset')),
                ('stream', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='sessions', to='live.livestream')),
            ],
            options={
                'verbose_name': 'live session',
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='SimulcastTarget',
            fields=[
                ('id', models.CharField(default=functools.partial(foundation.ids.new_id, *('smt',), **{}), editable=False, max_length=32, primary_key=True, serialize=False)),
                ('url', models.CharField(help_text='rtmp:// or rtmps:// server URL.', max_length=1024)),
                ('stream_key', models.CharField(blank=True, max_length=512)),
                ('passthrough', models.CharField(blank=True, max_length=255)),
                ('status', models.CharField(choices=[('idle', 'Idle'), ('starting', 'Starting'), ('broadcasting', 'Broadcasting'), ('errored', 'Errored')], default='idle', max_length=16)),
                ('error', models.TextField(blank=True)),
                ('speed', models.FloatField(blank=True, null=True)),
                ('restarts', models.PositiveIntegerField(default=0)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('stream', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='simulcast_targets', to='live.livestream')),
            ],
            options={
                'verbose_name': 'simulcast target',
                'ordering': ['id'],
            },
        ),
        migrations.CreateModel(
            name='HealthSample',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField(db_index=True)),
                ('bitrate', models.PositiveIntegerField(help_text='Bits per second received.')),
                ('bytes_in', models.BigIntegerField()),
                ('frame_rate', models.FloatField(blank=True, null=True)),
                ('width', models.PositiveIntegerField(blank=True, null=True)),
                ('height', models.PositiveIntegerField(blank=True, null=True)),
                ('video_codec', models.CharField(blank=True, max_length=32)),
                ('audio_codec', models.CharField(blank=True, max_length=32)),
                ('keyframe_interval', models.FloatField(blank=True, null=True)),
                ('stalled', models.BooleanField(default=False)),
                ('session', models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='health_samples', to='live.livesession')),
                ('stream', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='health_samples', to='live.livestream')),
            ],
            options={
                'ordering': ['-at'],
                'indexes': [models.Index(fields=['stream', '-at'], name='health_stream_at')],
            },
        ),
        install_schedules(*SCHEDULES),
    ]
