"""The OpenAPI schema and the offline API docs (Swagger UI, Redoc) under the site's strict CSP."""

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

ERROR_STATUSES = {"400", "401", "404", "405", "429", "500"}


def _generate(tmp_path: Path, *args: str) -> dict:
    """``manage.py spectacular --validate --fail-on-warn``: raises CommandError on any warning or error."""
    GENERATOR_STATS.reset()  # process-global: earlier schema generations must not count here
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target), *args)
    return yaml.safe_load(target.read_text())


def _references(html: str) -> list[str]:
    return re.findall(r"""\b(?:src|href)\s*=\s*["']([^"']+)["']""", html)


def _assert_local_assets(html: str, page: str) -> None:
    references = _references(html)
    assert references
    for url in references:
        parts = urlsplit(url)
        assert not parts.scheme
        assert not parts.netloc, f"{page} references {url}"
        if parts.path.startswith("/static/"):
            assert finders.find(parts.path.removeprefix("/static/")), f"{url} is not a static file"
        else:
            assert parts.path == page, url
    assert "https://" not in html
    assert "http://" not in html


def _csp(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return {
        directive.split()[0]: directive.split()[1:]
        for directive in response["Content-Security-Policy"].split(";")
        if directive.strip()
    }


def test_schema_endpoint_serves_valid_openapi_3(client: Client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Grasshopper API"
    validate_schema(schema)
    # Only the versioned API is documented, not the schema, the docs or the /api/ catch-all.
    assert all(path.startswith("/api/v1/") for path in schema["paths"])
    assert "Problem" in schema["components"]["schemas"]


def test_schema_endpoint_speaks_yaml_by_default(client: Client) -> None:
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert yaml.safe_load(response.content)["openapi"].startswith("3.")


def test_spectacular_validates_without_warnings(tmp_path: Path) -> None:
    schema = _generate(tmp_path)

    assert schema["openapi"].startswith("3.")


def test_errors_are_documented_as_problems(tmp_path: Path) -> None:
    schema = _generate(tmp_path, "--urlconf", "grasshopper.tests.schema_urls")

    create = schema["paths"]["/api/v1/orders/"]["post"]["responses"]
    detail = schema["paths"]["/api/v1/orders/{id}/"]["get"]["responses"]
    for responses in (create, detail):
        assert responses.keys() >= ERROR_STATUSES
        for status in ERROR_STATUSES:
            content = responses[status]["content"]
            assert list(content) == ["application/problem+json"]
            assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    examples = create["400"]["content"]["application/problem+json"]["examples"]
    validation = next(e["value"] for e in examples.values() if e["value"]["code"] == "validation_error")
    assert validation["errors"][0]["attr"] == "lines.0.quantity"
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code", "errors", "instance"}


def test_swagger_ui_is_served_offline_without_inline_code(client: Client) -> None:
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    _assert_local_assets(html, "/api/docs/")
    assert "swagger-ui-bundle.js" in html
    # No inline script or style: the site's policy applies unchanged.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html
    assert " style=" not in html
    csp = _csp(response)
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]


def test_swagger_ui_init_script_points_at_the_schema(client: Client) -> None:
    response = client.get("/api/docs/?script=")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert '"/api/schema/"' in response.content.decode()


def test_redoc_is_served_offline_with_a_nonce_only(client: Client) -> None:
    response = client.get("/api/redoc/")

    assert response.status_code == 200
    html = response.content.decode()
    _assert_local_assets(html, "/api/redoc/")
    assert "fonts.googleapis.com" not in html
    csp = _csp(response)
    nonce = re.search(r'<script nonce="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    assert csp["script-src"] == ["'self'", f"'nonce-{nonce}'"]
    # The relaxation: Redoc's injected <style> elements carry this request's nonce; the two it injects
    # before it knows the nonce are allowed by hash.
    assert csp["style-src"][:2] == ["'self'", f"'nonce-{nonce}'"]
    assert all(source.startswith("'sha256-") for source in csp["style-src"][2:])
    assert "nonce: " in html  # Redoc.init gets the nonce for the <style> elements it injects
    assert csp["worker-src"] == ["'self'", "blob:"]  # Redoc's search worker
    for policy in response["Content-Security-Policy"], client.get("/api/docs/")["Content-Security-Policy"]:
        assert "unsafe-inline" not in policy
        assert "unsafe-eval" not in policy


def test_the_rest_of_the_site_keeps_the_strict_style_policy(client: Client) -> None:
    # The docs' nonce on style-src is theirs alone.
    assert _csp(client.get("/api/schema/"))["style-src"] == ["'self'"]
    assert _csp(client.get("/healthz"))["style-src"] == ["'self'"]


@pytest.mark.django_db
def test_api_answers_carry_a_policy_that_lets_nothing_load(client: Client) -> None:
    """JSON is never a page: one fixed policy (grasshopper.lib.api_csp), for answers and problems alike."""
    for response in client.get("/api/v1/events/"), client.get("/api/v1/no-such-thing/"):
        assert response["Content-Type"].startswith("application/"), response["Content-Type"]
        assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    # The docs, the schema and the pages keep the site's policy.
    for path in "/api/docs/", "/api/schema/", "/healthz":
        assert _csp(client.get(path))["default-src"] == ["'self'"], path


# Redoc's sidebar credits Redocly with a logo from their CDN: the policy blocks it (nothing leaves the
# machine) and Redoc hides the broken image. That is the one violation the docs may report.
REDOCLY_LOGO = "img-src https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("path", "rendered", "interaction"),
    [
        # Expanding an operation renders its highlighted examples.
        ("/api/docs/", ".swagger-ui .info .title", "swagger_expand"),
        # Searching goes through Redoc's Web Worker.
        ("/api/redoc/", "#redoc-container h1", "redoc_search"),
    ],
)
def test_docs_render_in_a_browser_without_csp_violations(
    live_server, page, browser_console: list[str], path: str, rendered: str, interaction: str
) -> None:  # type: ignore[no-untyped-def]
    violations: list[str] = []
    page.expose_function("reportViolation", lambda text: violations.append(text))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation',"
        " e => window.reportViolation(e.violatedDirective + ' ' + e.blockedURI));"
    )
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{live_server.url}{path}")
    page.wait_for_selector(rendered, timeout=15_000)
    assert "Grasshopper API" in page.inner_text(rendered)
    if interaction == "swagger_expand":
        page.click(".opblock-summary")
        page.wait_for_selector(".opblock-body .responses-table", timeout=10_000)
    else:
        page.fill('input[placeholder="Search..."]', "signed")
        page.wait_for_selector('[data-role="search:results"] li', timeout=10_000)

    assert [v for v in violations if v != REDOCLY_LOGO] == [], violations
    csp_console = [
        line for line in browser_console if "Content Security Policy" in line or "pageerror" in line
    ]
    assert [line for line in csp_console if "cdn.redoc.ly" not in line] == [], browser_console
    local = (live_server.url, f"blob:{live_server.url}")
    assert all(url.startswith(local) for url in requested if "cdn.redoc.ly" not in url), requested
