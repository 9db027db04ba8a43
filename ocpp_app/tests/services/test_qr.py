"""QR codes of the landing pages: made after commit on a background thread
whenever a charger is created or its landing URL changes, and stored."""

import io
import threading
import time

import png
import pytest

from ocpp_app.models import Charger
from ocpp_app.services import qr
from ocpp_app.services.chargers import charger_get_or_create
from ocpp_app.services.qr import (
    charger_qr_refresh,
    wait_for_qr_codes,
)
from ocpp_app.tests.helpers import admit

pytestmark = pytest.mark.django_db

# The background thread sees only committed rows.
committed = pytest.mark.django_db(transaction=True)


@pytest.fixture
def render_threads(monkeypatch) -> list[str]:
    """The name of the thread of every QR code rendered from now on."""
    names: list[str] = []
    real_render = qr.qr_render

    def spy(url):
        names.append(threading.current_thread().name)
        return real_render(url)

    monkeypatch.setattr(qr, "qr_render", spy)
    return names


@committed
def test_it_creates_the_qr_code_when_a_charger_is_saved(settings):
    settings.OCPP_PUBLIC_URL = "https://csms.example.com/"
    Charger.objects.create(charger_id="CP 1#ü")
    wait_for_qr_codes()
    charger = Charger.objects.get(charger_id="CP 1#ü")
    assert charger.qr_url == "https://csms.example.com/ocpp/c/CP%201%23%C3%BC/"
    assert bytes(charger.qr_png).startswith(b"\x89PNG\r\n\x1a\n")
    width, height, _, _ = png.Reader(file=io.BytesIO(bytes(charger.qr_png))).read()
    assert width == height > 100
    assert charger.qr_svg.lstrip().startswith("<?xml") and "<svg" in charger.qr_svg


@committed
def test_it_creates_the_qr_code_for_an_auto_created_charger():
    charger_get_or_create(charger_id="AUTO1")
    wait_for_qr_codes()
    assert Charger.objects.get(charger_id="AUTO1").qr_url.endswith("/ocpp/c/AUTO1/")


@committed
def test_it_renders_only_on_the_background_thread_never_on_the_saving_one(render_threads):
    Charger.objects.create(charger_id="OPERATOR1")  # as the admin and the API do
    wait_for_qr_codes()
    assert render_threads and all(name.startswith("qr-codes") for name in render_threads)


@committed
def test_it_makes_the_code_of_a_charger_first_seen_on_a_connection_in_the_background(render_threads):
    # Never on the database-writer thread the charger's messages wait for.
    admit("FIRST1")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not Charger.objects.get(charger_id="FIRST1").qr_png:
        time.sleep(0.02)
    charger = Charger.objects.get(charger_id="FIRST1")
    assert charger.qr_png and charger.qr_svg.startswith("<?xml")
    assert charger.qr_url.endswith("/ocpp/c/FIRST1/")
    assert render_threads and all(name.startswith("qr-codes") for name in render_threads)


def test_nothing_is_made_before_the_transaction_commits(monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(qr, "qr_render", lambda url: pytest.fail("rendered inside the saving transaction"))
    with django_capture_on_commit_callbacks() as callbacks:
        Charger.objects.create(charger_id="LATER")
    assert len(callbacks) == 1


@committed
def test_a_later_full_save_of_a_stale_instance_still_ends_with_a_code():
    charger = charger_get_or_create(charger_id="AUTO2")
    wait_for_qr_codes()
    charger.vendor = "Acme"
    charger.save()  # its QR fields are the empty ones it was created with
    wait_for_qr_codes()
    assert Charger.objects.get(charger_id="AUTO2").qr_png


def test_a_save_with_an_unchanged_url_does_no_qr_work(django_assert_num_queries, django_capture_on_commit_callbacks):
    charger = Charger.objects.create(charger_id="CP1")
    charger_qr_refresh(charger)
    charger = Charger.objects.get(pk=charger.pk)
    before = bytes(charger.qr_png)
    charger.vendor = "Acme"
    with django_assert_num_queries(1), django_capture_on_commit_callbacks() as callbacks:  # the save's UPDATE
        charger.save()
    assert callbacks == []
    assert bytes(Charger.objects.get(pk=charger.pk).qr_png) == before


@committed
def test_it_regenerates_when_the_charger_id_changes():
    charger = Charger.objects.create(charger_id="OLD")
    wait_for_qr_codes()
    charger.refresh_from_db()
    charger.charger_id = "NEW"
    charger.save()
    wait_for_qr_codes()
    assert Charger.objects.get(pk=charger.pk).qr_url.endswith("/ocpp/c/NEW/")


def test_it_regenerates_when_the_public_url_changes(settings):
    charger = Charger.objects.create(charger_id="CP1")
    charger_qr_refresh(charger)
    old = bytes(charger.qr_png)
    settings.OCPP_PUBLIC_URL = "https://other.example.org"
    assert charger_qr_refresh(charger) is True
    stored = Charger.objects.get(pk=charger.pk)
    assert stored.qr_url == "https://other.example.org/ocpp/c/CP1/"
    assert bytes(stored.qr_png) != old
    assert charger_qr_refresh(stored) is False


@committed
def test_a_failing_qr_generator_never_breaks_saving_a_charger(monkeypatch):
    def broken(url):
        raise RuntimeError("no PNG writer")

    monkeypatch.setattr("ocpp_app.services.qr.qr_render", broken)
    charger = charger_get_or_create(charger_id="FRAGILE")
    wait_for_qr_codes()
    assert Charger.objects.filter(pk=charger.pk, qr_url="").exists()
