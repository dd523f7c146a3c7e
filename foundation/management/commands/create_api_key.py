from django.core.management.base import BaseCommand, CommandError

from foundation.context import Actor
from foundation.errors import ValidationFailed
from foundation.tenancy import api_key_create, environment_get_or_create


class Command(BaseCommand):
    help = ("Create an API key. Prints the secret alone on standard output, once; "
            "only its hash is stored.")

    def add_arguments(self, parser):
        parser.add_argument("--environment", required=True, help="Environment name (created if new).")
        parser.add_argument("--scopes", required=True,
                            help="Comma-separated scopes, or 'all' for every scope.")
        parser.add_argument("--name", default="", help="A label to recognise the key by.")

    def handle(self, *args, environment: str, scopes: str, name: str, **options):
        actor = Actor.system("create_api_key command")
        try:
            env = environment_get_or_create(name=environment, actor=actor)
            key, secret = api_key_create(environment=env, name=name or f"{environment} key",
                                         scopes=scopes, actor=actor)
        except ValidationFailed as exc:
            raise CommandError(exc.detail) from exc
        self.stderr.write(f"Created {key.id} in '{env.name}' with scopes {','.join(key.scopes)}")
        self.stdout.write(secret)
