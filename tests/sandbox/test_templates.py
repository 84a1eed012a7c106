"""Templates: declared variables checked against the content (the core's rule), updates and previews."""

from __future__ import annotations


def create(api, **fields):
    r = api.post("/templates", json={"name": "t", "content": "Hi {{a}} {{b}}", **fields})
    assert r.status_code == 201, r.text
    return r.json()["data"]


def test_variables_default_to_the_placeholders_and_must_name_each(api) -> None:
    assert create(api)["variables"] == ["a", "b"]
    assert create(api, variables=["b", "a", "a", "extra"])["variables"] == ["b", "a", "extra"]
    r = api.post("/templates", json={"name": "t", "content": "Hi {{a}} {{b}}", "variables": ["a"]})
    assert r.status_code == 400 and r.json()["code"] == "validation_error"
    assert r.json()["field"] == "variables" and r.json()["error"].startswith("variables: must name")
    assert "missing b" in r.json()["error"]


def test_update_checks_variables_against_the_stored_content(api) -> None:
    tid = create(api)["id"]
    r = api.put(f"/templates/{tid}", json={"variables": ["a"]})  # content is the stored one
    assert r.status_code == 400 and r.json()["field"] == "variables" and "missing b" in r.json()["error"]
    assert api.get(f"/templates/{tid}").json()["data"]["variables"] == ["a", "b"]  # unchanged
    r = api.put(f"/templates/{tid}", json={"variables": ["b", "a", "c"]})
    assert r.status_code == 200 and r.json()["data"]["variables"] == ["b", "a", "c"]
    r = api.put(f"/templates/{tid}", json={"content": "Bye {{z}}"})  # new content: its placeholders
    assert r.json()["data"]["variables"] == ["z"] and r.json()["data"]["content"] == "Bye {{z}}"
    r = api.put(f"/templates/{tid}", json={"content": "{{x}} {{y}}", "variables": ["x"]})
    assert r.status_code == 400 and r.json()["field"] == "variables"
    assert api.get(f"/templates/{tid}").json()["data"]["content"] == "Bye {{z}}"


def test_preview_renders_with_text_values_and_refuses_missing_ones(api) -> None:
    tid = create(api)["id"]
    r = api.post(f"/templates/{tid}/preview", json={"variables": {"a": 1, "b": "two", "unused": True}})
    assert r.status_code == 200
    assert r.json()["data"] == {
        "template_id": tid,
        "rendered": "Hi 1 two",
        "variables": {"a": "1", "b": "two", "unused": "True"},
    }
    r = api.post(f"/templates/{tid}/preview", json={"variables": {"a": "x"}})
    assert r.status_code == 400 and r.json()["code"] == "missing_template_variables"
    assert r.json()["field"] == "variables" and r.json()["missing"] == ["b"]
    r = api.post(f"/templates/{tid}/preview", json={"vars": {}})
    assert r.status_code == 400 and r.json()["field"] == "vars"
