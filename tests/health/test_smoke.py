"""The factory builds an app on the migrated database and /health answers."""


def test_health_answers_ok_on_migrated_database(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"
