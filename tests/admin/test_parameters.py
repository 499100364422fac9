"""Admin parameters that used to end in a 500 or were silently ignored: a huge ?page=, NUL bytes, CR/LF in the login
?next=, filter values that are not one of the allowed ones."""

import pytest

from tests.admin.admin_helpers import ADMIN_EMAIL, ADMIN_PASSWORD


@pytest.mark.parametrize("url", ["/admin/payments", "/admin/audit-log", "/admin/api/payments"])
@pytest.mark.parametrize("page", ["9223372036854775808", "0", "-1", "100001", "abc", "1e3", "٣"])
def test_a_page_outside_1_to_100000_is_a_400(admin_client, url, page):
    response = admin_client.get(url, query_string={"page": page})
    assert response.status_code == 400, (url, page)
    if url.startswith("/admin/api/"):
        assert response.get_json()["error"] == "bad_request"


def test_a_page_inside_the_range_is_served(admin_client):
    assert admin_client.get("/admin/payments?page=100000").status_code == 200


@pytest.mark.parametrize("url", ["/admin/payments?q=a%00b", "/admin/payments?status=%00",
                                 "/admin/audit-log?actor=x%00", "/admin/api/payments?q=a%00b", "/admin/alerts?a%00=1"])
def test_a_nul_byte_in_a_parameter_is_a_400(admin_client, url):
    assert admin_client.get(url).status_code == 400


def test_a_nul_byte_in_the_login_form_is_a_400(client, admin):
    client.get("/admin/login")
    response = client.post("/admin/login", data={"email": "ops@example.com\x00", "password": ADMIN_PASSWORD})
    assert response.status_code == 400


@pytest.mark.parametrize("target", ["/admin/%0d%0aX", "/admin/%0aSet-Cookie:x=1", "/admin/\\evil", "/admin/ x",
                                    "/admin/%09x"])
def test_unsafe_next_is_ignored(client, admin, target):
    client.get("/admin/login")
    response = client.post(f"/admin/login?next={target}", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/card-payment-monitoring"


@pytest.mark.parametrize("url, code", [
    ("/admin/api/alerts?status=closed", "invalid_status"),
    ("/admin/api/alerts?severity=urgent", "invalid_severity"),
    ("/admin/api/manual-reviews?status=approved", "invalid_status"),
    ("/admin/api/payments?status=paid", "invalid_status"),
    ("/admin/api/payments?status=SUCCEEDED", "invalid_status"),
    ("/admin/api/metrics/summary?window=2h", "invalid_window"),
])
def test_an_unknown_filter_value_is_a_400_naming_the_allowed_ones(admin_client, url, code):
    response = admin_client.get(url)
    assert response.status_code == 400, url
    body = response.get_json()
    assert body["error"] == code and "must be one of" in body["message"]


def test_known_and_empty_filter_values_are_served(admin_client):
    assert admin_client.get("/admin/api/alerts?status=resolved&severity=critical").status_code == 200
    assert admin_client.get("/admin/api/manual-reviews?status=decided").status_code == 200
    assert admin_client.get("/admin/api/payments?status=").get_json()["payments"] == []  # the pages' "any"
    assert admin_client.get("/admin/payments?status=&q=").status_code == 200


@pytest.mark.parametrize("url", ["/admin/payments?status=paid", "/admin/alerts?severity=urgent"])
def test_the_pages_refuse_an_unknown_filter_value_with_a_page_that_says_which_are_allowed(admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 400
    assert response.mimetype == "text/html" and "must be one of" in response.get_data(as_text=True)
