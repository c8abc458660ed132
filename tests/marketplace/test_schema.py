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
    # 415: a body no parser reads; no 401: the token endpoint authenticates nobody.
    assert set(token_responses) == {"200", "400", "415", "429"}


def test_swagger_ui_loads_only_our_own_static_files(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert urls, "the page references its assets"
    assert all(not u.startswith(("http://", "https://", "//")) for u in urls), urls
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path, operation


def test_every_operation_documents_the_errors_drf_answers_with(client):
    schema = yaml.safe_load(client.get("/api/v1/schema/").content)
    error = {"$ref": "#/components/schemas/Error"}
    for method, path, operation in _operations(schema):
        responses = operation["responses"]
        for status, response in responses.items():
            if status >= "400":
                assert response["content"] == {"application/json": {"schema": error}}, (method, path, status)
        # No throttle: the gateway's callback, and the flash-sale admission (one Redis call; a
        # throttle would cost twice that, and the sale's per-buyer limit bounds each buyer).
        if path not in ("/api/v1/orders/payments/sandbox/callback/", "/api/v1/promotions/flash-sales/{id}/admit/"):
            assert "429" in responses, (method, path)
        if path not in ("/api/v1/orders/payments/sandbox/callback/", "/api/v1/auth/token/"):  # they authenticate nobody
            assert "401" in responses, (method, path)
        if "requestBody" in operation:
            assert {"400", "415"} <= set(responses), (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)


def test_the_schema_names_each_operations_own_errors():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    # A buyer-only action: 403 (CSRF for a session), 404 (not the caller's), 409 from its rules.
    assert set(paths["/api/v1/orders/merchant-orders/{id}/confirm-receipt/"]["post"]["responses"]) == {
        "200",
        "401",
        "403",
        "404",
        "409",
        "429",
    }
    # Anyone may browse: no 403; a page past the end is 404; a bad filter 400.
    assert set(paths["/api/v1/catalog/products/"]["get"]["responses"]) == {"200", "400", "401", "404", "429"}
    # Staff only: 403 for everyone else.
    assert "403" in paths["/api/v1/settlements/runs/"]["get"]["responses"]


def test_optional_query_parameters_allow_an_empty_value_and_page_sizes_start_at_1(client):
    schema = yaml.safe_load(client.get("/api/v1/schema/").content)
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/catalog/products/"]["get"]["parameters"]}
    assert parameters["page_size"]["allowEmptyValue"] is True
    assert parameters["page_size"]["schema"] == {"type": "integer", "minimum": 1}
    assert parameters["page"]["schema"] == {"type": "integer", "minimum": 1}
    assert parameters["q"]["allowEmptyValue"] is True


@pytest.mark.parametrize("method", ["options", "post", "put", "patch", "delete"])
def test_the_docs_page_answers_only_get_and_refuses_other_methods_with_405(client, method):
    # OPTIONS rendered DRF's metadata through the page's HTML renderer, which has no template
    # for it: 500 for anyone, anonymous included.
    response = getattr(client, method)("/api/v1/docs/")
    assert response.status_code == 405
    assert client.head("/api/v1/docs/").status_code == 200
    assert client.get("/api/v1/docs/", {"script": ""}).status_code == 200
