"""The service's one error shape: every ServiceError answers RFC 9457 problem+json with its class's status,
errors from below are typed by class (never by their message), and no answer names a path of this machine."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from kgexplain.errors import InputError, QuerySyntaxError, StoreError, StoreUnreachable
from kgexplain.service import ServiceConfig, create_app
from kgexplain.service import errors as service_errors
from kgexplain.service.errors import ServiceError, problem_of, public_detail
from kgexplain.store import EmbeddedStore, RemoteStore

CLASSES = [
    c
    for c in vars(service_errors).values()
    if isinstance(c, type) and issubclass(c, ServiceError) and c is not ServiceError
]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_error_class_has_its_status_and_the_problem_shape(cls: type[ServiceError]) -> None:
    error = cls("what went wrong", extra_field=1)
    body = error.body()
    assert set(body) == {"type", "title", "status", "detail", "extra_field"}
    assert body["status"] == cls.status and 400 <= cls.status < 600
    assert body["type"] == "about:blank" and body["title"] == cls.title and body["detail"] == "what went wrong"
    assert cls("x", title="Other").body()["title"] == "Other"


def test_errors_from_below_are_typed_by_class_not_message() -> None:
    assert problem_of(StoreUnreachable("anything")).status == 502
    assert problem_of(QuerySyntaxError("anything")).status == 400
    assert problem_of(StoreError("SyntaxError: cannot reach")).status == 500  # the message decides nothing
    assert problem_of(InputError("x")).status == 422
    unexpected = problem_of(RuntimeError(f"secret {os.getcwd()}"))
    assert unexpected.status == 500 and os.getcwd() not in unexpected.body()["detail"]


def test_paths_of_this_machine_are_hidden_and_urls_kept(tmp_path) -> None:
    store = tmp_path / "deep" / "store"
    assert public_detail(f"cannot open the store at {store}: IO error") == "cannot open the store at <path>: IO error"
    assert public_detail("no file /etc/passwd") == "no file <path>"
    for kept in ("list them at /api/rules", "see https://w3id.org/kgexplain/ns/a/b", "graph <http://x.org/a/b>"):
        assert public_detail(kept) == kept


def test_an_unreachable_remote_store_is_a_502_problem() -> None:
    with RemoteStore("http://127.0.0.1:1/sparql", timeout_s=2) as store:
        client = TestClient(create_app(store, ServiceConfig()))
        response = client.get("/sparql", params={"query": "ASK {}"})
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == "Store unreachable"


def test_html_routes_answer_errors_as_pages_and_api_routes_as_problems() -> None:
    with EmbeddedStore(None) as store:
        client = TestClient(create_app(store, ServiceConfig()))
        page = client.get("/rules/nope/nope")
        api = client.get("/api/rules/nope/nope")
        unknown = client.get("/no/such/route")
    assert page.status_code == api.status_code == unknown.status_code == 404
    assert page.headers["content-type"].startswith("text/html") and "No such rule" in page.text
    assert api.headers["content-type"].startswith("application/problem+json") and api.json()["title"] == "No such rule"
    assert unknown.headers["content-type"].startswith("application/problem+json")
    for response in (page, api, unknown):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
