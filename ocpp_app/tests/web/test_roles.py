"""The roles on the pages (services/roles.py): a viewer reads every operator
page and changes nothing, an operator may do both, a staff member without a
role and a stranger see nothing. The list of pages is read from the URL
resolver, so a new page is checked without being listed here."""

import re

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.views import APIView

from config.asgi import application
from ocpp_app.models import Command
from ocpp_app.services import load, roles
from ocpp_app.tests.helpers import (
    VIEWER_PASSWORD,
    create_staff,
    create_viewer,
    create_without_role,
    database_rows,
    make_charger,
    make_session,
    session_of,
)

pytestmark = pytest.mark.django_db

# Routes of the ocpp namespace that are not operator pages: public (the
# driver's pages, firmware downloads, health, the login itself) or with a
# rule of their own (metrics, below).
NOT_OPERATOR_PAGES = {"health", "health-ready", "landing", "qr-png", "qr-svg", "firmware", "login", "logout", "metrics"}
WRITES = ["post", "put", "patch", "delete"]


def operator_routes() -> list[tuple[str, str, dict]]:
    """(name, route, its converters) of every page route of the ocpp
    namespace, the REST API's views left out (tests/api/test_roles.py)."""
    found = []

    def walk(patterns, namespaces, prefix):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = [*namespaces, entry.namespace] if entry.namespace else namespaces
                walk(entry.url_patterns, inner, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern) and "ocpp" in namespaces:
                view_class = getattr(entry.callback, "cls", None)
                if isinstance(view_class, type) and issubclass(view_class, APIView):
                    continue
                if entry.name not in NOT_OPERATOR_PAGES:
                    found.append((entry.name, prefix + str(entry.pattern), entry.pattern.converters))

    walk(get_resolver().url_patterns, [], "/")
    return found


@pytest.fixture
def network():
    """One of everything a page shows: a charger with a session, a command,
    a circuit."""
    charger = make_charger("CP1")
    tx = make_session(charger)
    command = Command.objects.create(charger=charger, action="Reset", request={"type": "Soft"})
    circuit = load.circuit_write(circuit=None, fields={"name": "Main", "max_current": 32})
    return {"transaction-view": tx.pk, "command-view": command.pk, "circuit-view": circuit.pk}


def url_of(name: str, converters: dict, pks: dict) -> str:
    kwargs = {}
    for argument in converters:
        if argument == "cid":
            kwargs[argument] = "CP1"
        elif argument == "pk" and name in pks:
            kwargs[argument] = pks[name]
        else:
            pytest.fail(f"the page {name} takes {argument}: give this test a value for it")
    return reverse(f"ocpp:{name}", kwargs=kwargs)


def every_page(pks: dict) -> list[str]:
    return [url_of(name, converters, pks) for name, _, converters in operator_routes()]


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_walk_finds_the_operator_pages():
    names = {name for name, _, _ in operator_routes()}
    # A walk that found nothing would let every test below pass.
    assert {"dashboard", "charger-view", "charger-chart", "log", "sessions", "sessions-csv", "records"} <= names
    assert {"circuits", "circuit-view", "commands-view", "transaction-view", "status-history-view"} <= names
    assert not names & NOT_OPERATOR_PAGES


def test_a_stranger_is_sent_to_the_login_from_every_page(client, network):
    for url in every_page(network):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"/ocpp/login/?next={url}", url


@pytest.mark.parametrize("staff", [False, True], ids=["not-staff", "staff"])
def test_a_user_without_a_role_is_refused_every_page_staff_or_not(network, staff):
    client = as_user(create_without_role(staff=staff))
    for url in every_page(network):
        response = client.get(url)
        assert response.status_code == 403, url
        if "/chart/" in url:  # the chart's data answers JSON
            assert "needs the viewer role" in response.json()["detail"], url
        else:
            page = response.content.decode()
            assert "<h1>Forbidden</h1>" in page and "needs the viewer role" in page, url


def test_a_viewer_reads_every_page(viewer_client, network):
    for url in every_page(network):
        assert viewer_client.get(url).status_code == 200, url


def test_an_operator_reads_every_page(staff_client, network):
    for url in every_page(network):
        assert staff_client.get(url).status_code == 200, url


@pytest.mark.parametrize("method", WRITES)
def test_a_viewer_is_refused_every_write_on_every_page_and_nothing_changes(viewer_client, network, method):
    before = database_rows()
    for url in every_page(network):
        response = getattr(viewer_client, method)(url, {"name": "changed"})
        assert response.status_code == 403, (method, url)
        if "/chart/" not in url:
            assert "needs the operator role" in response.content.decode(), (method, url)
    assert database_rows() == before


@pytest.mark.parametrize("method", WRITES)
def test_an_operator_passes_the_role_check_on_a_write(staff_client, network, method):
    # The pages themselves only read, so an operator's write reaches the
    # page and is refused by its method, not by its role.
    for url in every_page(network):
        assert getattr(staff_client, method)(url).status_code == 405, (method, url)


def test_a_superuser_is_an_operator(superuser_client, network):
    assert superuser_client.get(reverse("ocpp:dashboard")).context["ocpp_role"] == "operator"


def test_a_user_given_the_permission_itself_is_a_viewer_without_any_group(network):
    user = create_without_role("direct")
    user.user_permissions.add(Permission.objects.get(codename="view_network"))
    assert roles.role_of(user) is roles.Role.VIEWER
    assert as_user(user).get(reverse("ocpp:dashboard")).status_code == 200


def test_an_inactive_viewer_sees_nothing(network):
    user = create_viewer("gone")
    client = as_user(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert not roles.can_view(user) and roles.role_of(user) is None
    response = client.get(reverse("ocpp:dashboard"))  # the session no longer counts
    assert response.status_code == 302 and response["Location"].startswith("/ocpp/login/")


# -- what the templates are told and show -----------------------------------------------------


@pytest.mark.parametrize(
    "make_user, flags",
    [
        (lambda: create_viewer("v"), (True, False, "viewer")),
        (lambda: create_staff("o"), (True, True, "operator")),
        (lambda: create_without_role("n", staff=True), (False, False, None)),
    ],
    ids=["viewer", "operator", "no-role"],
)
def test_the_context_processor_tells_every_page_the_role(make_user, flags):
    make_charger("CP1")
    response = as_user(make_user()).get(reverse("ocpp:dashboard"))
    context = response.context
    assert (context["ocpp_can_view"], context["ocpp_can_operate"], context["ocpp_role"]) == flags


def test_the_context_processor_tells_a_stranger_nothing(client):
    context = client.get(reverse("ocpp:login")).context
    assert context["ocpp_can_view"] is False and context["ocpp_can_operate"] is False


def top_bar(page: str) -> str:
    return page[page.index('<header class="topbar">') :].split("</header>", 1)[0]


@pytest.mark.parametrize(
    "make_user, role, admin",
    [
        (lambda: create_viewer("v"), "viewer", False),
        (lambda: create_viewer("sv", staff=True), "viewer", True),
        (lambda: create_staff("o"), "operator", True),
    ],
    ids=["viewer", "staff-viewer", "operator"],
)
def test_the_top_bar_shows_the_role_by_the_logout_and_the_admin_link_only_to_staff(make_user, role, admin):
    bar = top_bar(as_user(make_user()).get(reverse("ocpp:sessions")).content.decode())
    logout = bar[bar.index('id="logout"') :]
    assert re.search(rf'<span class="user role" id="role"[^>]*>{role}</span>\s*<button type="submit">Log out', logout)
    assert (f'href="{reverse("admin:index")}"' in bar) is admin
    assert f'href="{reverse("ocpp:records")}"' in bar


def test_the_forbidden_page_offers_no_page_links_to_a_user_without_a_role():
    make_charger("CP1")
    bar = top_bar(as_user(create_without_role()).get(reverse("ocpp:dashboard")).content.decode())
    assert f'href="{reverse("ocpp:sessions")}"' not in bar and f'href="{reverse("admin:index")}"' not in bar
    assert ">no role</span>" in bar


def test_the_circuit_pages_offer_their_edit_links_to_operators_only(viewer_client, staff_client, network):
    pk = network["circuit-view"]
    for client, shown in ((viewer_client, False), (staff_client, True)):
        tree = client.get(reverse("ocpp:circuits")).content.decode()
        one = client.get(reverse("ocpp:circuit-view", args=[pk])).content.decode()
        assert ('id="circuits-edit"' in tree) is shown
        assert ('id="circuit-edit"' in one) is shown
        assert (reverse("admin:ocpp_app_circuit_change", args=[pk]) in one) is shown


def test_the_empty_circuit_tree_says_how_to_add_one_to_operators_only(viewer_client, staff_client):
    assert 'id="circuits-add"' not in viewer_client.get(reverse("ocpp:circuits")).content.decode()
    assert 'id="circuits-add"' in staff_client.get(reverse("ocpp:circuits")).content.decode()


# -- logging in and out, for viewers who are not staff -----------------------------------------


def test_a_viewer_who_is_not_staff_logs_in_on_the_pages_login_and_out_again():
    make_charger("CP1")
    viewer = create_viewer()
    client = Client(enforce_csrf_checks=True)
    login = client.get(reverse("ocpp:dashboard"), follow=True)
    assert login.redirect_chain[-1][0].startswith("/ocpp/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.content.decode()).group(1)
    answer = client.post(
        reverse("ocpp:login"),
        {"csrfmiddlewaretoken": token, "username": viewer.username, "password": VIEWER_PASSWORD, "next": "/ocpp/"},
    )
    assert answer.status_code == 302 and answer["Location"] == "/ocpp/"
    page = client.get("/ocpp/")
    assert page.status_code == 200 and page.context["ocpp_role"] == "viewer"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    out = client.post(reverse("ocpp:logout"), {"csrfmiddlewaretoken": token})
    assert out.status_code == 302
    assert client.get("/ocpp/")["Location"].startswith("/ocpp/login/")


def test_the_admin_login_refuses_a_viewer_who_is_not_staff():
    # Why the pages have a login of their own.
    viewer = create_viewer()
    client = Client()
    answer = client.post(reverse("admin:login"), {"username": viewer.username, "password": VIEWER_PASSWORD})
    assert answer.status_code == 200 and "staff account" in answer.content.decode()
    assert SESSION_KEY not in client.session


def test_a_wrong_password_is_answered_on_the_login_page():
    viewer = create_viewer()
    response = Client().post(reverse("ocpp:login"), {"username": viewer.username, "password": "wrong"})
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()


# -- the metrics --------------------------------------------------------------------------------


def test_metrics_are_for_viewers_and_named_in_the_refusal(viewer_client, settings):
    settings.OCPP_METRICS_TOKEN = ""
    assert viewer_client.get("/ocpp/metrics").status_code == 200
    refused = as_user(create_without_role(staff=True)).get("/ocpp/metrics")
    assert refused.status_code == 403 and "needs the viewer role" in refused.json()["detail"]


# -- the dashboard's socket ---------------------------------------------------------------------


async def dashboard_socket(user) -> bool:
    """Whether the real socket route (session cookie, origin check) lets the
    user's browser in."""
    cookie = f"{settings.SESSION_COOKIE_NAME}={await sync_to_async(session_of)(user)}" if user else ""
    communicator = WebsocketCommunicator(
        application,
        "/ws/dashboard/",
        headers=[(b"host", b"testserver"), (b"origin", b"http://testserver"), (b"cookie", cookie.encode())],
    )
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


@pytest.mark.django_db(transaction=True)
async def test_the_dashboard_socket_takes_viewers_and_operators_only(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert await dashboard_socket(await sync_to_async(create_viewer)("v"))
    assert await dashboard_socket(await sync_to_async(create_staff)("o"))
    assert not await dashboard_socket(await sync_to_async(create_without_role)("n", staff=True))
    assert not await dashboard_socket(None)
