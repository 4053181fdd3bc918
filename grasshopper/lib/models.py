from django.db import models


class TimeStampedModel(models.Model):
    """Base for our models: creation and last-change times, set by the database layer (UTC)."""

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
