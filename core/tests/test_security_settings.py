"""DEBUG off by default, the published secret keys refused with DEBUG off, `check --deploy`
clean under the documented production settings, and the Content-Security-Policy on every hub
page with no inline script or event handler in any template."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db

PRODUCTION = {
    "UTILIS_SECRET_KEY": "q0Xn3vJ9-production-like-secret-key-with-plenty-of-entropy-7Hc2LpWz",
    "UTILIS_GATEWAY_WEBHOOK_SECRET": "whsec-production-like-4mR8sQ1zKp0vT6yN",
    "UTILIS_HTTPS": "true",
    "UTILIS_BEHIND_PROXY": "true",
    "UTILIS_ALLOWED_HOSTS": "utilis.example.com",
    "UTILIS_CSRF_TRUSTED_ORIGINS": "https://utilis.example.com",
}


def run_python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("UTILIS_")
            and k not in {"PYTEST_VERSION", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    for keep in ("UTILIS_DB_CONN_MAX_AGE",):
        if keep in os.environ:
            base[keep] = os.environ[keep]
    return subprocess.run([sys.executable, *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


SETUP = "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup(); "


def test_check_deploy_passes_under_the_production_settings():
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_turn_on_hsts_redirect_and_secure_cookies():
    code = SETUP + (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_HTTPONLY, s.SECURE_PROXY_SSL_HEADER)"
    )
    result = run_python(["-c", code], PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "31536000", "True", "True", "True", "True",
                                     "('HTTP_X_FORWARDED_PROTO',", "'https')"]


def test_debug_is_off_by_default():
    result = run_python(["-c", SETUP + "from django.conf import settings; print(settings.DEBUG)"],
                        {"UTILIS_SECRET_KEY": PRODUCTION["UTILIS_SECRET_KEY"],
                         "UTILIS_GATEWAY_WEBHOOK_SECRET": PRODUCTION["UTILIS_GATEWAY_WEBHOOK_SECRET"]})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("secret", [None, "change-me", "dev-only-gateway-webhook-secret"])
def test_debug_off_with_the_default_or_example_webhook_secret_refuses_to_start(secret):
    env = {"UTILIS_SECRET_KEY": PRODUCTION["UTILIS_SECRET_KEY"]}
    if secret is not None:
        env["UTILIS_GATEWAY_WEBHOOK_SECRET"] = secret
    result = run_python(["-c", SETUP + "print('started')"], env)
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "UTILIS_GATEWAY_WEBHOOK_SECRET is missing or is the published development value" in result.stderr


@pytest.mark.parametrize("key", [None, "change-me", "dev-only-insecure-key-change-me"])
def test_debug_off_with_the_default_or_example_key_refuses_to_start(key):
    env = {} if key is None else {"UTILIS_SECRET_KEY": key}
    result = run_python(["-c", SETUP + "print('started')"], env)
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "UTILIS_SECRET_KEY is missing or is a published example value, and DEBUG is off" in result.stderr


def test_the_development_flag_allows_the_built_in_key():
    result = run_python(["-c", SETUP + "from django.conf import settings; print(settings.DEBUG)"], {"UTILIS_DEBUG": "true"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_the_suite_itself_runs_with_debug_off(settings):
    assert settings.DEBUG is False


# --- Content-Security-Policy ------------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)


def template_files() -> list[Path]:
    files = []
    for pattern in ("templates/**/*.html", "*/templates/**/*.html"):
        files += [p for p in ROOT.glob(pattern) if ".venv" not in p.parts and "pdf" not in p.parts]
    return sorted(files)


def test_no_template_has_an_inline_script_or_event_handler():
    files = template_files()
    assert len(files) > 20
    offenders = [f"{p.relative_to(ROOT)}: {m.group(0)[:80]}" for p in files
                 for m in [*INLINE_SCRIPT.finditer(p.read_text()), *INLINE_HANDLER.finditer(p.read_text())]]
    assert offenders == []


def hub_urls() -> list[str]:
    """Every hub page that takes no argument."""
    urls = []

    def walk(patterns, prefix: str) -> None:
        for p in patterns:
            route = str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + route)
            elif isinstance(p, URLPattern) and "<" not in route and not route.endswith((".json", ".pdf", ".csv")):
                urls.append("/" + prefix + route)

    for p in get_resolver().url_patterns:
        if isinstance(p, URLResolver) and str(p.pattern) in {"hub/", "meters/", "billing/"}:
            walk(p.url_patterns, str(p.pattern))
    return sorted(set(urls))


def test_every_hub_page_has_the_csp_header_and_no_inline_script(admin_client):
    urls = hub_urls() + ["/", "/accounts/2fa/setup/"]
    assert len(urls) > 8
    checked = 0
    for url in urls:
        response = admin_client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        checked += 1
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy, url
        assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0], url
        body = response.content.decode()
        assert not INLINE_SCRIPT.search(body), url
        assert not INLINE_HANDLER.search(body), url
    assert checked >= 5


def test_login_page_has_the_csp_header(client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "img-src 'self' data:" in policy
