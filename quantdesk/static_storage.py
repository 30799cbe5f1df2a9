"""Static files with DEBUG off: whitenoise's compressed, hashed storage, served by WhiteNoiseMiddleware from
``STATIC_ROOT`` (``./desk start`` runs ``collectstatic`` first).

A process that renders a page before ``collectstatic`` ran (a test, a one-off ``manage.py`` command) gets
the plain URL of the file instead of a 500 for the missing manifest entry."""

from __future__ import annotations

from django.contrib.staticfiles.storage import StaticFilesStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage


class DeskStaticStorage(CompressedManifestStaticFilesStorage):
    manifest_strict = False

    def url(self, name, force=False):
        try:
            return super().url(name, force)
        except ValueError:  # not collected yet: no manifest entry and no file to hash
            return StaticFilesStorage(location=self.location, base_url=self.base_url).url(name)
