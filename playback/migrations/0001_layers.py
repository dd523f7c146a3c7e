# Signing keys.
# Installs made before these layers were drawn have every replaced migration applied;
# new ones run this.
import functools

import django.db.models.deletion
from django.db import migrations, models

import foundation.ids


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ('playback', '0001_initial'),
    ]

    dependencies = [
        ('foundation', '0001_layers'),
    ]

    operations = [
        migrations.CreateModel(
            name='SigningKey',
            fields=[
                ('id', models.CharField(default=functools.partial(foundation.ids.new_id, *('sgk',), **{}), editable=False, max_length=32, primary_key=True, serialize=False)),
                ('public_key', models.TextField(help_text='PEM, SubjectPublicKeyInfo.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('environment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='signing_keys', to='foundation.environment')),
            ],
            options={
                'ordering': ['-id'],
            },
        ),
    ]
