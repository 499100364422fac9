"""Where a paid course opens: the business's own platform when the course has an access_url, here otherwise."""

from tests.catalogue.catalogue_helpers import add_course, add_payment


def test_the_course_room_sends_the_learner_to_the_access_url(app, client):
    course_id = add_course(app, access_url="https://learn.example.com/python?cohort=3")
    token = add_payment(app, course_id, status="succeeded")
    response = client.get(f"/learn/{token}")
    assert response.status_code == 303
    assert response.headers["Location"] == "https://learn.example.com/python?cohort=3"


def test_without_an_access_url_the_course_room_shows_the_course_description(app, client):
    course_id = add_course(app, description="Week one: variables.\n\nWeek two: loops.")
    token = add_payment(app, course_id, status="succeeded")
    response = client.get(f"/learn/{token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<p>Week one: variables.</p>" in page and "<p>Week two: loops.</p>" in page
    assert "Getting started" not in page  # no placeholder lessons


def test_no_access_no_redirect_to_the_platform(app, client):
    course_id = add_course(app, access_url="https://learn.example.com/python")
    token = add_payment(app, course_id, status="pending")
    response = client.get(f"/learn/{token}")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/payments/{token}/return")
