def test_health_reports_the_database_and_postgis_versions(client):
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["database"].split(".")[0].isdigit()
    assert body["postgis"].startswith("3.")


def test_the_home_page_is_served_in_chinese(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "通辽市重大项目地图" in response.text
