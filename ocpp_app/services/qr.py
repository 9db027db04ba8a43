"""QR codes for the public landing pages, stored on the charger row.

The stored URL is absolute and built from OCPP_PUBLIC_URL (not from whatever
host an operator happened to use): a printed sticker must point at the public
address. A code is regenerated only when that URL changes.
"""

import contextlib
import contextvars
import io
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import connections, transaction
from django.urls import reverse
from qrcode.image.pure import PyPNGImage

from ocpp_app.models import Charger

logger = logging.getLogger(__name__)

# Set while the OCPP core creates chargers it sees for the first time: their
# codes are made right after commit on a background thread. Rendering takes
# ~25 ms, and the core runs on the one database-writer thread that every
# charger's messages wait for: a storm of 10 000 new chargers would stall it
# for minutes.
_deferred: contextvars.ContextVar[bool] = contextvars.ContextVar("ocpp_qr_deferred", default=False)
_background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qr-codes")


@contextlib.contextmanager
def deferred_qr_codes():
    token = _deferred.set(True)
    try:
        yield
    finally:
        _deferred.reset(token)


def qr_codes_deferred() -> bool:
    return _deferred.get()


def charger_qr_refresh_later(pk: int) -> None:
    """Make the code of charger `pk` once the current transaction commits."""
    transaction.on_commit(lambda: _background.submit(_refresh_in_background, pk))


# Seconds the background worker rests after each code: rendering is pure
# Python, and the GIL is shared with the event loop serving the chargers; a
# first-contact storm of thousands of chargers must not starve them.
BACKGROUND_PAUSE = 0.03


def _refresh_in_background(pk: int) -> None:
    try:
        charger = Charger.objects.filter(pk=pk).first()
        if charger is not None:
            charger_qr_refresh(charger)
    except Exception:
        logger.exception("could not make the QR code of charger #%s", pk)
    finally:
        connections.close_all()  # this thread's connection, until the next job
        time.sleep(BACKGROUND_PAUSE)


def landing_path(charger_id: str) -> str:
    return reverse("ocpp:landing", args=[charger_id])


def landing_url(charger_id: str) -> str:
    """Absolute URL of a charger's landing page (ids are percent-encoded)."""
    return settings.OCPP_PUBLIC_URL.rstrip("/") + landing_path(charger_id)


def qr_render(url: str) -> tuple[bytes, str]:
    """(PNG bytes, SVG text) of a QR code for `url`; medium error correction
    survives a scratched sticker."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    png = io.BytesIO()
    qr.make_image(image_factory=PyPNGImage).save(png)
    svg = io.BytesIO()
    qr.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(svg)
    return png.getvalue(), svg.getvalue().decode("utf-8")


def charger_qr_refresh(charger: Charger, *, force: bool = False) -> bool:
    """Make sure the charger's stored QR code points at its landing page.
    Cheap when it already does (the core saves chargers on every boot).
    Writes with a queryset update, so no post_save recursion, and mirrors the
    values on the instance so a later save() of it keeps them. Returns True
    when a code was (re)generated."""
    url = landing_url(charger.charger_id)
    if not force and charger.qr_url == url and charger.qr_png and charger.qr_svg:
        return False
    png, svg = qr_render(url)
    Charger.objects.filter(pk=charger.pk).update(qr_url=url, qr_png=png, qr_svg=svg)
    charger.qr_url, charger.qr_png, charger.qr_svg = url, png, svg
    return True
