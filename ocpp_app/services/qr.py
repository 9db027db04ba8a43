"""QR codes for the public landing pages, stored on the charger row.

The stored URL is absolute and built from OCPP_PUBLIC_URL (not from whatever
host an operator happened to use): a printed sticker must point at the public
address.

One mechanism makes them: after the transaction that creates a charger or
changes its landing URL commits, `charger_qr_refresh` runs on one background
thread. Rendering a PNG and an SVG takes ~25 ms; on the database-writer thread
that every charger's messages wait for, a storm of 10 000 new chargers would
stall everything for minutes, and on the event loop it would stall every
socket. Pages never store a code: while none is stored for the current URL
they render one on the fly (`charger_qr_png`, `charger_qr_svg`).
"""

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

_background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qr-codes")

# Seconds the background worker rests after each code: rendering is pure
# Python, and the GIL is shared with the event loop serving the chargers; a
# first-contact storm of thousands of chargers must not starve them.
BACKGROUND_PAUSE = 0.03


def landing_path(charger_id: str) -> str:
    return reverse("ocpp:landing", args=[charger_id])


def landing_url(charger_id: str) -> str:
    """Absolute URL of a charger's landing page (ids are percent-encoded)."""
    return settings.OCPP_PUBLIC_URL.rstrip("/") + landing_path(charger_id)


def _qr(url: str) -> qrcode.QRCode:
    # Medium error correction survives a scratched sticker.
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    return qr


def _png(qr: qrcode.QRCode) -> bytes:
    out = io.BytesIO()
    qr.make_image(image_factory=PyPNGImage).save(out)
    return out.getvalue()


def _svg(qr: qrcode.QRCode) -> str:
    out = io.BytesIO()
    qr.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(out)
    return out.getvalue().decode("utf-8")


def qr_render(url: str) -> tuple[bytes, str]:
    """(PNG bytes, SVG text) of a QR code for `url`."""
    qr = _qr(url)
    return _png(qr), _svg(qr)


def qr_is_current(charger: Charger) -> bool:
    """Whether the charger's stored code is complete and points at its landing
    page (no query: it looks at the instance)."""
    return bool(charger.qr_png) and bool(charger.qr_svg) and charger.qr_url == landing_url(charger.charger_id)


def charger_qr_png(charger: Charger) -> bytes:
    """The stored PNG, or, while none is stored for the current URL, one
    rendered now and not stored (a page never writes)."""
    url = landing_url(charger.charger_id)
    if charger.qr_url == url and charger.qr_png:  # only the PNG: the SVG may be deferred
        return bytes(charger.qr_png)
    return _png(_qr(url))


def charger_qr_svg(charger: Charger) -> str:
    """The stored SVG, or one rendered now and not stored (see charger_qr_png)."""
    url = landing_url(charger.charger_id)
    if charger.qr_url == url and charger.qr_svg:
        return charger.qr_svg
    return _svg(_qr(url))


def charger_qr_refresh(charger: Charger, *, force: bool = False) -> bool:
    """Make sure the charger's stored QR code points at its landing page: the
    one function that writes codes. Cheap when it already does. Writes with a
    queryset update, so no post_save recursion, and mirrors the values on the
    instance so a later save() of it keeps them. Returns True when a code was
    (re)generated."""
    if not force and qr_is_current(charger):
        return False
    url = landing_url(charger.charger_id)
    png, svg = qr_render(url)
    Charger.objects.filter(pk=charger.pk).update(qr_url=url, qr_png=png, qr_svg=svg)
    charger.qr_url, charger.qr_png, charger.qr_svg = url, png, svg
    return True


def charger_qr_refresh_later(pk: int) -> None:
    """Make the code of charger `pk` on the background thread once the current
    transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: _background.submit(_refresh_in_background, pk))


def wait_for_qr_codes(timeout: float = 30.0) -> None:
    """Block until every code queued so far is made (one worker: a no-op job
    queued now runs after all of them)."""
    _background.submit(lambda: None).result(timeout)


def _refresh_in_background(pk: int) -> None:
    try:
        charger = Charger.objects.filter(pk=pk).only("pk", "charger_id", "qr_url", "qr_png", "qr_svg").first()
        if charger is not None:
            charger_qr_refresh(charger)
    except Exception:
        logger.exception("could not make the QR code of charger #%s", pk)
    finally:
        connections.close_all()  # this thread's connection, until the next job
        time.sleep(BACKGROUND_PAUSE)
