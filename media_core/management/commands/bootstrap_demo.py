"""Demo credentials for a local run: an admin user and an API key, reused across runs.

Prints shell assignments (DEMO_*) for the run script. The demo secrets are kept in
var/ with owner-only permissions so the same credentials work every time; never use
this command on a production machine.
"""

import secrets
import shlex

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from foundation.context import Actor
from foundation.models import SCOPES
from foundation.tenancy import api_key_create, api_key_find, environment_get_or_create

ENVIRONMENT = "demo"
USERNAME = "admin"


class Command(BaseCommand):
    help = "Create (or reuse) a demo admin user and API key; print them as DEMO_* variables."

    def handle(self, *args, **options):
        actor = Actor.system("bootstrap_demo")
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        password_file = settings.VAR_DIR / "demo-admin-password"
        key_file = settings.VAR_DIR / "demo-api-key"

        User = get_user_model()
        user = User.objects.filter(username=USERNAME).first()
        password = password_file.read_text().strip() if password_file.exists() else ""
        if user is None or not password or not user.check_password(password):
            password = secrets.token_urlsafe(12)
            user = user or User(username=USERNAME, email="admin@localhost")
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
            password_file.write_text(password)
            password_file.chmod(0o600)

        secret = key_file.read_text().strip() if key_file.exists() else ""
        if not secret or api_key_find(secret) is None:
            environment = environment_get_or_create(name=ENVIRONMENT, actor=actor)
            _, secret = api_key_create(environment=environment, name="demo key",
                                       scopes=list(SCOPES), actor=actor)
            key_file.write_text(secret)
            key_file.chmod(0o600)

        for name, value in (("DEMO_ADMIN_USER", USERNAME), ("DEMO_ADMIN_PASSWORD", password),
                            ("DEMO_API_KEY", secret), ("DEMO_ENVIRONMENT", ENVIRONMENT)):
            self.stdout.write(f"{name}={shlex.quote(value)}")
