from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import transaction

from foundation.audit import audit_record
from foundation.context import Actor
from foundation.models import Environment

from . import audit_actions
from .models import SigningKey

KEY_BITS = 2048


def signing_key_create(*, environment: Environment, actor: Actor) -> tuple[SigningKey, str]:
    """A new key pair; returns the stored key and the private key (PEM) to hand out once."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with transaction.atomic():
        key = SigningKey.objects.create(environment=environment, public_key=public_pem)
        audit_record(actor=actor, action=audit_actions.SIGNING_KEY_CREATED,
                     object_type="signing_key", object_id=key.id, environment_id=environment.id,
                     changes={"id": [None, key.id]})
    return key, private_pem


def signing_key_delete(*, key: SigningKey, actor: Actor) -> None:
    """Every token the key signed stops working at once."""
    with transaction.atomic():
        deleted, _ = SigningKey.objects.filter(pk=key.pk).delete()
        if deleted:
            audit_record(actor=actor, action=audit_actions.SIGNING_KEY_DELETED,
                         object_type="signing_key", object_id=key.id,
                         environment_id=key.environment_id,
                         changes={"id": [key.id, None]})
