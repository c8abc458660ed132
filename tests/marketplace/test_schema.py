import re

import pytest
import yaml
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


def test_openapi_schema_is_valid_and_lists_the_endpoints(client):
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)  # raises on an invalid OpenAPI 3 document
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/auth/token/", "/api/v1/auth/me/"} <= set(schema["paths"])
    token_responses = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]
    assert set(token_responses) == {"200", "400", "429"}


def test_swagger_ui_loads_only_our_own_static_files(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert urls, "the page references its assets"
    assert all(not u.startswith(("http://", "https://", "//")) for u in urls), urls
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html


@pytest.mark.parametrize("method", ["options", "post", "put", "patch", "delete"])
def test_the_docs_page_answers_only_get_and_refuses_other_methods_with_405(client, method):
    # OPTIONS rendered DRF's metadata through the page's HTML renderer, which has no template
    # for it: 500 for anyone, anonymous included.
    response = getattr(client, method)("/api/v1/docs/")
    assert response.status_code == 405
    assert client.head("/api/v1/docs/").status_code == 200
    assert client.get("/api/v1/docs/", {"script": ""}).status_code == 200
