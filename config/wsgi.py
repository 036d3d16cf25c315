import gc
import logging
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()


def _warm_up() -> None:
    """What the first requests of a worker would otherwise pay for: the URL patterns (and the
    views they import), this thread's S3 client and the URL signer."""
    from django.urls import get_resolver

    from filesharing import s3

    get_resolver().url_patterns  # noqa: B018 - loads them
    try:
        s3.warm_up()
    except Exception:  # a worker serves pages even when S3 is misconfigured or down
        logging.getLogger("seqvault").warning("S3 signer not ready at boot", exc_info=True)


_warm_up()

# What loading made (modules, models, URL patterns) lives as long as the process: kept out of
# the collector's reach, so that pages that make many objects (a hundred entries and their
# files) do not pay for scanning it again in every full collection.
gc.freeze()
