"""QR codes for the public landing pages, stored on the charger row.

The stored URL is absolute and built from OCPP_PUBLIC_URL (not from whatever
host an operator happened to use): a printed sticker must point at the public
address. A code is regenerated only when that URL changes.
"""

import io

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.urls import reverse
from qrcode.image.pure import PyPNGImage

from .models import Charger


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
