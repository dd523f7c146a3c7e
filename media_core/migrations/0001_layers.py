# Uploads, assets, renditions, playback IDs and processing jobs. A recording's and a
# live playback ID's live stream are ids here (0002 drops the relations older installs had).
# Installs made before these layers were drawn have every replaced migration applied;
# new ones run this.
import functools

import django.db.models.deletion
from django.db import migrations, models

import foundation.ids
from foundation.schedules import install_schedules

SCHEDULES = [
    # Jobs whose worker died are handed on once their lease runs out.
    ("recover-stalled-jobs", "media_core.tasks.recover_stalled_jobs", "I", 1),
    ("purge-idempotency-records", "media_core.tasks.purge_idempotency_records", "H", None),
    ("expire-uploads", "media_core.tasks.expire_uploads", "I", 1),
]


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ('media_core', '0001_initial'),
        ('media_core', '0002_schedules'),
        ('media_core', '0003_intake'),
        ('media_core', '0004_upload_expiry_schedule'),
        ('media_core', '0005_allowed_origins'),
        ('media_core', '0006_live_recordings'),
    ]

    dependencies = [
        ('django_q', '0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more'),
        ('foundation', '0001_layers'),
    ]

    operations = [
        migrations.CreateModel(
            name='Asset',
            fields=[
                ('id', models.CharField(default=functools.partial(foundation.ids.new_id, *('ast',), **{}), editable=False, max_length=32, primary_key=True, serialize=False)),
                ('status', models.CharField(choices=[('preparing', 'Preparing'), ('ready', 'Ready'), ('errored', 'Errored')], db_index=True, default='preparing', max_length=16)),
                ('title', models.CharField(blank=True, max_length=512)),
                ('passthrough', models.CharField(blank=True, max_length=255)),
                ('duration', models.FloatField(blank=True, null=True)),
                ('aspect_ratio', models.CharField(blank=True, max_length=16)),
                ('max_resolution', models.CharField(blank=True, max_length=16)),
                ('tracks', models.JSONField(blank=True, default=list)),
                ('error_type', models.CharField(blank=True, max_length=64)),
                ('error_messages', models.JSONField(blank=True, default=list)),
                ('allowed_origins', models.JSONField(blank=True, default=list, help_text='Origins (https://example.com, https://*.example.com) that may play or embed this asset; empty: any.')),
                ('input_url', models.URLField(blank=True, help_text='Where the original was fetched from (URL import).', max_length=2048)),
                ('max_duration', models.FloatField(blank=True, help_text='Longest accepted duration in seconds.', null=True)),
                ('master_name', models.CharField(blank=True, help_text='Storage name of the original file.', max_length=512)),
                ('master_size', models.BigIntegerField(blank=True, null=True)),
                ('media_prefix', models.CharField(blank=True, help_text='Storage prefix of the current renditions.', max_length=512)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('ready_at', models.DateTimeField(blank=True, null=True)),
                ('deleted_at', models.DateTimeField(blank=True, db_index=True, null=True)),
                ('live_stream_id', models.CharField(blank=True, db_index=True, max_length=32, null=True)),
                ('environment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='assets', to='foundation.environment')),
            ],
            options={
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='PlaybackID',
            fields=[
                ('id', models.CharField(default=functools.partial(foundation.ids.new_id, *('pbk',), **{}), editable=False, max_length=32, primary_key=True, serialize=False)),
                ('live_stream_id', models.CharField(blank=True, db_index=True, max_length=32, null=True)),
                ('policy', models.CharField(choices=[('public', 'Public'), ('signed', 'Signed')], max_length=8)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('asset', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='playback_ids', to='media_core.asset')),
                ('environment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='playback_ids', to='foundation.environment')),
            ],
            options={
                'verbose_name': 'playback ID',
                'ordering': ['id'],
            },
        ),
        migrations.CreateModel(
            name='ProcessingJob',
            fields=[
                ('id', models.CharField(default=functools.partial(foundation.ids.new_id, *('job',), **{}), editable=False, max_length=32, primary_key=True, serialize=False)),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('cancelled', 'Cancelled')], db_index=True, default='queued', max_length=16)),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('max_attempts', models.PositiveSmallIntegerField(default=3)),
                ('progress', models.FloatField(default=0.0, help_text="0 to 1, from FFmpeg's -progress.")),
                ('stage', models.CharField(blank=True, max_length=32)),
                ('worker', models.CharField(blank=True, max_length=128)),
                ('lease_expires_at', models.DateTimeField(blank=True, db_index=True, null=True)),
                ('output_prefix', models.CharField(blank=True, max_length=512)),
                ('error_code', models.CharField(blank=True, max_length=64)),
                ('error_message', models.TextField(blank=True)),
                ('stderr_tail', models.TextField(blank=True)),
                ('request_id', models.CharField(blank=True, max_length=128)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('asset', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='jobs', to='media_core.asset')),
            ],
            options={
                'verbose_name': 'processing job',
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='Upload',
            fields=[
                ('id', models.CharField(default=functools.partial(foundation.ids.new_id, *('upl',), **{}), editable=False, max_length=32, primary_key=True, serialize=False)),
                ('status', models.CharField(choices=[('waiting', 'Waiting'), ('asset_created', 'Asset Created'), ('errored', 'Errored'), ('cancelled', 'Cancelled'), ('timed_out', 'Timed Out')], db_index=True, default='waiting', max_length=16)),
                ('new_asset_settings', models.JSONField(blank=True, default=dict)),
                ('cors_origin', models.CharField(blank=True, max_length=255)),
                ('timeout', models.PositiveIntegerField(help_text='Seconds the upload URL stays valid.')),
                ('expires_at', models.DateTimeField(db_index=True)),
                ('size_bytes', models.BigIntegerField(blank=True, null=True)),
                ('length', models.BigIntegerField(blank=True, help_text='Upload-Length, once declared.', null=True)),
                ('offset', models.BigIntegerField(default=0, help_text='Bytes received so far.')),
                ('filename', models.CharField(blank=True, max_length=255)),
                ('metadata', models.JSONField(blank=True, default=dict)),
                ('writer_token', models.CharField(blank=True, max_length=64)),
                ('writer_expires_at', models.DateTimeField(blank=True, null=True)),
                ('error_type', models.CharField(blank=True, max_length=64)),
                ('error_message', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('asset', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='upload', to='media_core.asset')),
                ('environment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='uploads', to='foundation.environment')),
            ],
            options={
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='Rendition',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=32)),
                ('kind', models.CharField(choices=[('video', 'Video'), ('audio', 'Audio')], max_length=8)),
                ('width', models.PositiveIntegerField(blank=True, null=True)),
                ('height', models.PositiveIntegerField(blank=True, null=True)),
                ('frame_rate', models.FloatField(blank=True, null=True)),
                ('bitrate', models.PositiveIntegerField(help_text='Average bits per second, measured.')),
                ('peak_bitrate', models.PositiveIntegerField(help_text="Largest segment's bits per second.")),
                ('codecs', models.CharField(max_length=64)),
                ('asset', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='renditions', to='media_core.asset')),
            ],
            options={
                'ordering': ['kind', '-height'],
                'constraints': [models.UniqueConstraint(fields=('asset', 'name'), name='rendition_asset_name_unique')],
            },
        ),
        install_schedules(*SCHEDULES),
    ]
