from django.db import models

from foundation.ids import id_default


class Event(models.Model):
    """The outbox: written in the same transaction as the change it describes."""

    id = models.CharField(primary_key=True, max_length=32, default=id_default("evt"), editable=False)
    environment = models.ForeignKey("media_core.Environment", on_delete=models.PROTECT,
                                    related_name="events")
    type = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64, db_index=True)
    data = models.JSONField()
    request_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.object_id}"
