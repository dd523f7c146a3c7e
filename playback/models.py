from django.db import models

from foundation.ids import id_default


class SigningKey(models.Model):
    """The public half of an RSA key that signs playback tokens. The private half was
    returned once, at creation, and never stored."""

    id = models.CharField(primary_key=True, max_length=32, default=id_default("sgk"), editable=False)
    environment = models.ForeignKey("foundation.Environment", on_delete=models.PROTECT,
                                    related_name="signing_keys")
    public_key = models.TextField(help_text="PEM, SubjectPublicKeyInfo.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.id
