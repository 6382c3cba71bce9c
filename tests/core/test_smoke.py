from tests.helpers import api_token, login


def test_login_and_me(client, trainee):
    headers = api_token(client, "trainee1")
    me = client.get("/api/v1/me", headers=headers).json()
    assert me["username"] == "trainee1" and me["roles"] == ["trainee"] and me["tier"] == "execution"
    assert set(me["org_unit"]) == {"id", "name", "path"}
    login(client, "trainee1")
    page = client.get("/")
    assert page.status_code == 200
    assert "我的学习" in page.text
