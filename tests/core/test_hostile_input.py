"""Hostile input answers a JSON 4xx with a stable code and stores nothing."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import RequestFactory, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import ApiToken
from core.api.handlers import server_error
from filesharing.models import File
from groups.models import Group

pytestmark = pytest.mark.django_db


def _post_json(actor: Any, path: str, text: str) -> Any:
    return actor.client.post(path, data=text, content_type="application/json")


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()["error"]
    assert body["code"] == code, body
    return body


def test_a_lone_surrogate_in_a_file_name_is_refused_and_nothing_is_stored(submitter: Any) -> None:
    text = f'{{"groupId": {submitter.group.pk}, "files": [{{"name": "reads\\ud800.fastq"}}]}}'
    _error(_post_json(submitter, "/api/files/request-uploads", text), 400, "invalid_unicode")
    assert File.objects.count() == 0


def test_a_lone_surrogate_in_a_key_is_refused(submitter: Any) -> None:
    response = _post_json(submitter, "/api/groups/", '{"name": "Lab", "\\udfff": 1}')
    _error(response, 400, "invalid_unicode")
    assert not Group.objects.filter(name="Lab").exists()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.builds(
        lambda before, surrogate, after: before + surrogate + after,
        st.text(max_size=8),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
        st.text(max_size=8),
    )
)
def test_any_string_with_a_lone_surrogate_is_refused_everywhere(submitter: Any, name: str) -> None:
    # json.dumps escapes surrogates as \uXXXX, exactly as a hostile client would send them.
    groups, tokens = Group.objects.count(), ApiToken.objects.count()
    for path, body in (
        ("/api/groups/", {"name": name}),
        ("/api/groups/", {"name": "Lab", "institution": name}),
        ("/api/tokens/", {"name": name}),
        ("/api/files/request-uploads", {"groupId": submitter.group.pk, "files": [{"name": name}]}),
    ):
        _error(_post_json(submitter, path, json.dumps(body)), 400, "invalid_unicode")
    assert (Group.objects.count(), ApiToken.objects.count()) == (groups, tokens)
    assert File.objects.count() == 0


@pytest.mark.parametrize("depth", [65, 50_000])
def test_deeply_nested_json_is_refused(submitter: Any, depth: int) -> None:
    text = '{"name": ' + "[" * depth + "]" * depth + "}"
    _error(_post_json(submitter, "/api/groups/", text), 400, "json_too_deep")


def test_json_nested_within_the_limit_reaches_validation(submitter: Any) -> None:
    text = '{"name": ' + "[" * 10 + "]" * 10 + "}"
    _error(_post_json(submitter, "/api/groups/", text), 400, "invalid_input")


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309"])
def test_non_finite_numbers_in_json_bodies_are_refused(submitter: Any, number: str) -> None:
    text = (
        f'{{"groupId": {submitter.group.pk}, "files": [{{"name": "a.fastq", "size": {number}}}]}}'
    )
    response = _post_json(submitter, "/api/files/request-uploads", text)
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"number_not_finite", "malformed_request"}
    assert File.objects.count() == 0


@pytest.mark.parametrize("term", ["NaN", "Infinity", "-Infinity", "1e309", "-1e309", "nan"])
def test_non_finite_numbers_in_search_terms_are_searched_as_text(anonymous: Any, term: str) -> None:
    for query in (f"title:{term}", f"_extra.version:{term}", term):
        response = anonymous.get("/api/projects/search", {"q": query})
        assert response.status_code == 200, response.content
        assert response.json()["results"] == []


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_json_body_over_the_size_limit_answers_413(submitter: Any) -> None:
    text = json.dumps({"name": "x" * 2000})
    body = _error(_post_json(submitter, "/api/groups/", text), 413, "request_too_large")
    assert body["details"] == {"limit": 1000}
    assert Group.objects.count() == 1  # the caller's own


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_form_body_over_the_size_limit_answers_413(submitter: Any) -> None:
    response = submitter.client.post(
        "/api/groups/",
        data="name=" + "x" * 2000,
        content_type="application/x-www-form-urlencoded",
    )
    _error(response, 413, "request_too_large")


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=10)
def test_too_many_form_fields_answer_400(submitter: Any) -> None:
    fields = "&".join(f"f{i}=1" for i in range(50))
    urlencoded = submitter.client.post(
        "/api/groups/", data=fields, content_type="application/x-www-form-urlencoded"
    )
    _error(urlencoded, 400, "too_many_fields")
    multipart = submitter.client.post("/api/submit", data={f"f{i}": "1" for i in range(50)})
    _error(multipart, 400, "too_many_fields")
    assert Group.objects.count() == 1  # the caller's own


@override_settings(ALLOWED_HOSTS=["seqvault.example.org"])
def test_a_disallowed_host_answers_json_under_api_and_a_page_elsewhere(anonymous: Any) -> None:
    anonymous.raise_request_exception = False
    api = anonymous.get("/api/health/", HTTP_HOST="evil.example.com")
    _error(api, 400, "disallowed_host")
    page = anonymous.get("/", HTTP_HOST="evil.example.com")
    assert page.status_code == 400
    assert page["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "path",
    [
        "/api/groups/99999999999999999999/",
        "/api/groups/9223372036854775808/",
        "/api/groups/99999999999999999999/members/",
        "/api/tokens/99999999999999999999/",
        "/api/projects/SV_1/version/99999999999/metadata",
        "/api/does-not-exist",
    ],
)
def test_path_ids_beyond_their_range_answer_json_404(submitter: Any, path: str) -> None:
    for method in ("get", "delete"):
        _error(getattr(submitter.client, method)(path), 404, "not_found")


def test_the_largest_bigint_id_is_simply_not_found(submitter: Any) -> None:
    response = submitter.client.get("/api/groups/9223372036854775807/")
    _error(response, 404, "group_not_found")


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/entries/", "groupId"),
        ("/api/files/", "group"),
    ],
)
@pytest.mark.parametrize("value", ["-9" * 12, "9" * 30, "9223372036854775808", "1e309", "NaN"])
def test_integers_beyond_64_bits_in_filters_answer_400(
    submitter: Any, path: str, parameter: str, value: str
) -> None:
    response = submitter.client.get(path, {parameter: value})
    body = _error(response, 400, "invalid_input")
    assert parameter in body["details"]["fields"]


def test_integers_beyond_64_bits_in_bodies_answer_400(submitter: Any) -> None:
    huge = "9" * 30
    text = f'{{"groupId": {huge}, "numberFiles": 1}}'
    _error(_post_json(submitter, "/api/files/request-uploads", text), 400, "invalid_input")
    text = f'{{"groupId": {submitter.group.pk}, "files": [{{"name": "a.fastq", "size": {huge}}}]}}'
    _error(_post_json(submitter, "/api/files/request-uploads", text), 413, "file_too_large")
    assert File.objects.count() == 0


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain\r\nX-Injected: 1",
        "text/plain\n",
        "text/plain\x00",
        "text/\x7fplain",
        "téxt/plain",
        "not a media type",
        "text/plain; charset",
    ],
)
def test_content_types_that_cannot_be_a_header_are_refused(
    submitter: Any, content_type: str
) -> None:
    body = {
        "groupId": submitter.group.pk,
        "files": [{"name": "reads.fastq", "contentType": content_type}],
    }
    response = submitter.client.post("/api/files/request-uploads", body, format="json")
    error = _error(response, 400, "invalid_content_type")
    assert error["details"]["where"] == "files[0]"
    assert File.objects.count() == 0


@pytest.mark.parametrize(
    "content_type", ["application/gzip", "text/plain; charset=utf-8", 'text/x; a="b c"', ""]
)
def test_media_types_are_accepted_and_signed(submitter: Any, content_type: str) -> None:
    body = {
        "groupId": submitter.group.pk,
        "files": [{"name": "reads.fastq", "contentType": content_type}],
    }
    response = submitter.client.post("/api/files/request-uploads", body, format="json")
    assert response.status_code == 200, response.content
    [ticket] = response.json()
    assert ticket["headers"].get("Content-Type", "") == content_type


def test_an_unexpected_error_under_api_is_json_with_a_logged_reference(
    anonymous: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("core.api.views.health_report", broken)
    with caplog.at_level(logging.ERROR, logger="seqvault.api"):
        response = anonymous.get("/api/health/")
    body = _error(response, 500, "server_error")
    reference = body["details"]["reference"]
    assert reference in body["message"]
    assert "disk on fire" not in response.content.decode()
    [record] = [r for r in caplog.records if reference in r.getMessage()]
    assert record.exc_info is not None
    assert "disk on fire" in str(record.exc_info[1])


def test_an_error_outside_a_view_under_api_is_json_elsewhere_a_page(
    caplog: pytest.LogCaptureFixture,
) -> None:
    factory = RequestFactory()
    try:
        raise RuntimeError("middleware broke")
    except RuntimeError:
        with caplog.at_level(logging.ERROR, logger="seqvault.api"):
            api = server_error(factory.get("/api/files/"))
        page = server_error(factory.get("/groups/"))
    assert api.status_code == 500
    body = json.loads(api.content)["error"]
    assert body["code"] == "server_error"
    assert any(body["details"]["reference"] in r.getMessage() for r in caplog.records)
    assert page.status_code == 500
    assert page["Content-Type"].startswith("text/html")


def test_a_user_with_a_surrogate_cannot_exist(submitter: Any) -> None:
    """Usernames come from forms and OIDC, never raw JSON; inviting one refuses the same."""
    response = _post_json(
        submitter, f"/api/groups/{submitter.group.pk}/members/", '{"username": "a\\ud800"}'
    )
    _error(response, 400, "invalid_unicode")
    assert submitter.group.memberships.count() == 1
    assert not submitter.group.invitations.exists()


def test_a_quota_beyond_64_bits_answers_400_and_changes_nothing(
    submitter: Any, make_actor: Any
) -> None:
    curator = make_actor(staff=True)
    response = curator.client.patch(
        f"/api/groups/{submitter.group.pk}/", {"quota_bytes": 2**64}, format="json"
    )
    body = _error(response, 400, "invalid_input")
    assert "quota_bytes" in body["details"]["fields"]
    submitter.group.refresh_from_db()
    assert submitter.group.quota_bytes is None
