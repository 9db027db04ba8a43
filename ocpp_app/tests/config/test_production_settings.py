"""Production settings: a SECRET_KEY made once and shared by every process,
never a fixed one; one switch for HTTPS that passes `check --deploy`."""

import secrets
import stat
import subprocess
import sys

from config.settings import BASE_DIR
from ocpp_app.tests.config.test_settings import start_with

DEV_KEY = "dev-only-insecure-key-set-SECRET_KEY-in-production"
SHOW = "import config.settings as s; print(s.SECRET_KEY)"


def settings_of(env: dict[str, str], code: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_without_secret_key_every_process_makes_or_reads_the_same_private_key(tmp_path):
    data = tmp_path / "data"
    env = {"OCPP_DATA_DIR": str(data), "LOG_DIR": str(tmp_path / "logs")}
    processes = [settings_of(env, SHOW) for _ in range(6)]  # started together: they race for the file
    keys = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert len(keys) == 1
    key = keys.pop()
    assert len(key) >= 50 and key != DEV_KEY
    assert (data / "secret_key").read_text().strip() == key
    assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert sorted(p.name for p in data.iterdir()) == ["secret_key"]  # no temporary file left
    again = settings_of(env, SHOW).communicate(timeout=60)[0].strip()
    assert again == key  # kept across restarts


def test_a_secret_key_in_the_environment_is_used_and_nothing_is_written(tmp_path):
    env = {"OCPP_DATA_DIR": str(tmp_path / "data"), "LOG_DIR": str(tmp_path / "logs"), "SECRET_KEY": "k" * 60}
    assert settings_of(env, SHOW).communicate(timeout=60)[0].strip() == "k" * 60
    assert not (tmp_path / "data" / "secret_key").exists()


def test_an_unusable_data_dir_without_secret_key_stops_the_start_up_with_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = start_with({"OCPP_DATA_DIR": str(blocker), "LOG_DIR": str(tmp_path / "logs")})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr and "OCPP_DATA_DIR" in result.stderr


def test_an_empty_key_file_is_never_used_as_a_key(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "secret_key").write_text("")
    result = start_with({"OCPP_DATA_DIR": str(tmp_path / "data"), "LOG_DIR": str(tmp_path / "logs")})
    assert result.returncode != 0
    assert "is empty" in result.stderr


def deploy_check(tmp_path, **env: str) -> str:
    base = {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "csms.example.com",
        "OCPP_DATA_DIR": str(tmp_path / "data"),
        "LOG_DIR": str(tmp_path / "logs"),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", **base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout + result.stderr


def test_https_switch_passes_the_deploy_checks_of_cookies_hsts_and_redirect(tmp_path):
    without = deploy_check(tmp_path)
    for code in ("W004", "W008", "W012", "W016"):
        assert f"security.{code}" in without
    output = deploy_check(tmp_path, OCPP_HTTPS="1")
    for code in ("W004", "W008", "W012", "W016", "W009", "W018"):
        assert f"security.{code}" not in output, output


SHOW_HTTPS = (
    "import config.settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,"
    " s.SECURE_HSTS_SECONDS, getattr(s, 'SECURE_PROXY_SSL_HEADER', None))"
)


def test_each_https_setting_has_its_own_variable(tmp_path):
    env = {"OCPP_DATA_DIR": str(tmp_path / "data"), "LOG_DIR": str(tmp_path / "logs"), "OCPP_HTTPS": "1"}
    shown = settings_of(env, SHOW_HTTPS).communicate(timeout=60)[0].strip()
    assert shown == "True True True 31536000 None"
    env.update(SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="3600", OCPP_PROXY_SSL_HEADER="X-Forwarded-Proto")
    shown = settings_of(env, SHOW_HTTPS).communicate(timeout=60)[0].strip()
    assert shown == "True True False 3600 ('HTTP_X_FORWARDED_PROTO', 'https')"


def test_a_malformed_proxy_header_name_stops_the_start_up(tmp_path):
    result = start_with({"OCPP_DATA_DIR": str(tmp_path), "OCPP_PROXY_SSL_HEADER": "X-Forwarded-Proto: https"})
    assert result.returncode != 0
    assert "OCPP_PROXY_SSL_HEADER" in result.stderr


def test_the_health_check_is_never_redirected_to_https(client, settings, db):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/ocpp/health/").status_code == 200
    assert client.get("/ocpp/").status_code == 301
