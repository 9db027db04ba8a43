"""charger_admit: the database's part of a handshake in one call."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ocpp_app.models import Charger, IssuedCertificate, RevokedCertificateSerial
from ocpp_app.services.secrets import secret_hash
from ocpp_app.services.security_profiles import ClientCertificate
from ocpp_app.tests.helpers import admit

pytestmark = pytest.mark.django_db


def test_it_connects_a_known_charger_without_a_password_in_two_queries(django_assert_num_queries):
    Charger.objects.create(charger_id="CP1", registration_status="Pending")
    with django_assert_num_queries(2):
        admission = admit()
    assert admission.outcome == "connected"
    assert admission.result.registration_status == "Pending"
    charger = Charger.objects.get(charger_id="CP1")
    assert (charger.connected, charger.connection_id, charger.channel_name) == (True, "c1", "chan-c1")


def test_it_creates_and_connects_an_unknown_charger_when_accepted():
    admission = admit("NEW1")
    assert admission.outcome == "connected" and admission.result.registration_status == "Accepted"
    assert Charger.objects.get(charger_id="NEW1").connected


def test_it_creates_an_unknown_charger_as_pending_when_the_policy_says_so():
    assert admit("NEW2", unknown_policy="pending").result.registration_status == "Pending"


def test_it_refuses_an_unknown_charger_when_rejecting_and_creates_nothing():
    assert admit("STRANGER", unknown_policy="reject").outcome == "unknown"
    assert not Charger.objects.filter(charger_id="STRANGER").exists()


def test_it_asks_for_the_password_of_a_charger_that_has_one_and_records_nothing_yet():
    Charger.objects.create(charger_id="SEC1", password_hash="pbkdf2_sha256$x")
    admission = admit("SEC1")
    assert (admission.outcome, admission.password_hash) == ("authenticate", "pbkdf2_sha256$x")
    assert not Charger.objects.get(charger_id="SEC1").connected


def test_it_asks_every_charger_to_authenticate_when_auth_is_required():
    admission = admit("NOPASS", require_auth=True)
    assert (admission.outcome, admission.password_hash) == ("authenticate", "")
    assert not Charger.objects.filter(charger_id="NOPASS").exists()


def test_it_reports_the_channel_of_the_connection_it_replaces():
    admit(connection_id="old")
    assert admit(connection_id="new", takeover_checked=True).result.previous_channel == "chan-old"


def test_a_newcomer_without_credentials_finds_a_connected_charger_occupied_and_records_nothing():
    admit(connection_id="old")
    admission = admit(connection_id="new")
    assert (admission.outcome, admission.previous_channel) == ("occupied", "chan-old")
    assert Charger.objects.get(charger_id="CP1").connection_id == "old"


def test_a_newcomer_with_the_password_replaces_a_connected_charger_at_once():
    Charger.objects.create(charger_id="SEC3", password_hash=secret_hash("k" * 16), connected=True, channel_name="x")
    admission = admit("SEC3", connection_id="new", password="k" * 16)
    assert admission.outcome == "connected" and admission.authenticated
    assert admission.result.previous_channel == "x"


def test_it_connects_a_charger_with_a_password_once_the_password_was_checked(django_assert_num_queries):
    Charger.objects.create(charger_id="SEC2", password_hash="pbkdf2_sha256$x", registration_status="Pending")
    with django_assert_num_queries(2):
        admission = admit("SEC2", require_auth=True, password_checked=True)
    assert admission.outcome == "connected" and admission.result.registration_status == "Pending"
    assert Charger.objects.get(charger_id="SEC2").connected


@pytest.mark.parametrize(
    ("policy", "outcome", "created"), [("reject", "unknown", False), ("pending", "connected", True)]
)
def test_the_unknown_charger_policy_still_holds_after_the_password_check(policy, outcome, created):
    # The charger was deleted while its password was being checked.
    assert admit("GONE", unknown_policy=policy, password_checked=True).outcome == outcome
    assert Charger.objects.filter(charger_id="GONE", registration_status="Pending").exists() is created


def test_it_connects_a_charger_with_a_fast_hash_and_its_password_in_one_call():
    Charger.objects.create(charger_id="SEC2", password_hash=secret_hash("0123456789abcdef"))
    admission = admit("SEC2", password="0123456789abcdef")
    assert admission.outcome == "connected"
    assert Charger.objects.get(charger_id="SEC2").connected


def test_it_refuses_a_wrong_password_against_a_fast_hash_and_records_nothing():
    Charger.objects.create(charger_id="SEC3", password_hash=secret_hash("0123456789abcdef"))
    assert admit("SEC3", password="0123456789abcdeX").outcome == "refused"
    assert not Charger.objects.get(charger_id="SEC3").connected


def test_it_leaves_a_legacy_hash_to_the_check_off_the_writer_thread():
    Charger.objects.create(charger_id="SEC4", password_hash="pbkdf2_sha256$x")
    assert admit("SEC4", password="0123456789abcdef").outcome == "authenticate"


def issued(charger: Charger, serial: str, status: str) -> IssuedCertificate:
    """An issued certificate as the CA's services leave it (a revoked serial
    is also kept on its own)."""
    now = timezone.now()
    if status == "revoked":
        RevokedCertificateSerial.objects.create(serial=serial)
    return IssuedCertificate.objects.create(
        charger=charger,
        serial=serial,
        subject=f"CN={charger.charger_id}",
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=300),
        status=status,
        pem="(public certificate)",
    )


@pytest.mark.parametrize("profile", [3, 0])
def test_a_revoked_client_certificate_is_refused_at_any_profile_and_nothing_is_recorded(profile):
    charger = Charger.objects.create(charger_id="P3", security_profile=profile)
    issued(charger, "1abc", "revoked")
    certificate = ClientCertificate("P3", serial="1abc")
    admission = admit("P3", tls=True, certificate=certificate)
    assert (admission.outcome, admission.status) == ("forbidden", 403)
    assert admission.reason == "certificate revoked (serial 1abc)"
    assert not Charger.objects.get(charger_id="P3").connected


def test_a_client_certificate_still_issued_is_admitted_with_one_query_more(django_assert_num_queries):
    charger = Charger.objects.create(charger_id="P3", security_profile=3)
    issued(charger, "2def", "issued")
    issued(charger, "1abc", "revoked")  # an older one of the same charger
    with django_assert_num_queries(3):
        admission = admit("P3", tls=True, certificate=ClientCertificate("P3", serial="2def"))
    assert admission.outcome == "connected" and admission.authenticated


def test_a_client_certificate_the_ca_never_issued_is_judged_by_the_profile_alone():
    Charger.objects.create(charger_id="P3", security_profile=3)
    admission = admit("P3", tls=True, certificate=ClientCertificate("P3", serial="99"))
    assert admission.outcome == "connected"
