"""Models whose rows name files (tests/test_media.py): a FileField and an
ImageField in the default storage, a FileField in a storage of its own, and
a second model that names the same files and refers to the first."""

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.deconstruct import deconstructible
from django.utils.functional import cached_property


@deconstructible
class ArchiveStorage(FileSystemStorage):
    """A folder of its own beside MEDIA_ROOT (MEDIA_ROOT + "-archive"), which
    follows MEDIA_ROOT as tests change it."""

    @cached_property
    def base_location(self):
        return self._value_or_setting(self._location, settings.MEDIA_ROOT) + "-archive"


ARCHIVE = ArchiveStorage()


def archive_storage():
    return ARCHIVE


class Item(models.Model):
    title = models.CharField(max_length=100)
    document = models.FileField(upload_to="docs", blank=True)
    picture = models.ImageField(upload_to="images", blank=True)
    attachment = models.FileField(upload_to="archive", storage=archive_storage, blank=True)


class Note(models.Model):
    item = models.ForeignKey(Item, models.CASCADE, null=True)
    document = models.FileField(upload_to="docs", blank=True)
