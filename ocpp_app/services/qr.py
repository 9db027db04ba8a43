"""QR codes for the public landing pages (the driver's page of a charger and
of each of its connectors).

Where a code leads is one rule, `sticker_base`: OCPP_PUBLIC_URL when it is
set; when it is not, a code shown or downloaded from a page leads to the
address the operator reached the server by (the request's scheme and host,
as Django reads them: the host checked against ALLOWED_HOSTS, the scheme
from a trusted proxy's header), since the built-in default,
http://localhost:8000, is no address a phone can open. The code stored on
the charger row is made without a request, so it always leads to the
configured public URL.

One mechanism stores them: after the transaction that creates a charger or
changes its landing URL commits, `charger_qr_refresh` runs on one background
thread. Rendering a PNG and an SVG takes ~25 ms; on the database-writer thread
that every charger's messages wait for, a storm of 10 000 new chargers would
stall everything for minutes, and on the event loop it would stall every
socket. Pages never store a code: a code for another URL than the stored one
(a connector's, one under the request's address, or while none is stored) is
rendered on the fly (`charger_qr_png`, `charger_qr_svg`) and kept in a small
in-process cache.
"""

import functools
import io
import ipaddress
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

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


# What config/settings.py gives OCPP_PUBLIC_URL when the variable is not set.
PUBLIC_URL_DEFAULT = "http://localhost:8000"


def public_url_configured() -> bool:
    """Whether OCPP_PUBLIC_URL names the public address (it is not the default)."""
    return settings.OCPP_PUBLIC_URL.rstrip("/") != PUBLIC_URL_DEFAULT


def sticker_base(request_base: str | None = None) -> str:
    """The base URL every code leads under: OCPP_PUBLIC_URL when it is set,
    else `request_base` (the scheme and host the page was reached by), else
    the default (no request: the stored code)."""
    if request_base and not public_url_configured():
        return request_base.rstrip("/")
    return settings.OCPP_PUBLIC_URL.rstrip("/")


def landing_path(charger_id: str, connector_id: int | None = None) -> str:
    args = [charger_id] if connector_id is None else [charger_id, connector_id]
    return reverse("ocpp:landing", args=args)


def landing_url(charger_id: str, connector_id: int | None = None, *, request_base: str | None = None) -> str:
    """Absolute URL of a charger's (or one connector's) landing page, as its
    code leads to it (ids are percent-encoded)."""
    return sticker_base(request_base) + landing_path(charger_id, connector_id)


def local_only(url: str) -> bool:
    """Whether the URL's host is this machine's own name or a loopback
    address: no phone that scans it reaches this server."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class StickerAddress:
    """Where the codes of one charger lead when shown from one request,
    against the code stored on its row: what the admin tells an operator
    about to print a sticker."""

    url: str  # a code shown or downloaded now leads here
    stored_url: str  # the stored code leads here ("" while none is stored)
    request_url: str  # the landing page under the address the request came by
    configured: bool  # OCPP_PUBLIC_URL is set, so every code leads under it
    local_only: bool  # `url` names this machine only: a phone cannot open it


def sticker_address(charger: Charger, request_base: str) -> StickerAddress:
    url = landing_url(charger.charger_id, request_base=request_base)
    return StickerAddress(
        url=url,
        stored_url=charger.qr_url,
        request_url=request_base.rstrip("/") + landing_path(charger.charger_id) if request_base else "",
        configured=public_url_configured(),
        local_only=local_only(url),
    )


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
    page under OCPP_PUBLIC_URL (no query: it looks at the instance)."""
    return bool(charger.qr_png) and bool(charger.qr_svg) and charger.qr_url == landing_url(charger.charger_id)


# Codes rendered on the fly, by URL: a page shown again, a sticker printed
# again, or a connector's code costs no new rendering (~25 ms each).
@functools.lru_cache(maxsize=256)
def _png_of(url: str) -> bytes:
    return _png(_qr(url))


@functools.lru_cache(maxsize=256)
def _svg_of(url: str) -> str:
    return _svg(_qr(url))


def charger_qr_png(charger: Charger, connector_id: int | None = None, *, request_base: str | None = None) -> bytes:
    """The code of the charger's landing page (or of one connector's), leading
    under `sticker_base(request_base)`: the stored PNG when it leads there,
    else one rendered now and not stored (a page never writes)."""
    url = landing_url(charger.charger_id, connector_id, request_base=request_base)
    if connector_id is None and charger.qr_url == url and charger.qr_png:  # only the PNG: the SVG may be deferred
        return bytes(charger.qr_png)
    return _png_of(url)


def charger_qr_svg(charger: Charger, connector_id: int | None = None, *, request_base: str | None = None) -> str:
    """The SVG of the same code (see charger_qr_png)."""
    url = landing_url(charger.charger_id, connector_id, request_base=request_base)
    if connector_id is None and charger.qr_url == url and charger.qr_svg:
        return charger.qr_svg
    return _svg_of(url)


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
