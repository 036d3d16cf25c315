import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()

# What loading made (modules, models, URL patterns) lives as long as the process: kept out of
# the collector's reach, so that pages that make many objects (a hundred entries and their
# files) do not pay for scanning it again in every full collection.
gc.freeze()
