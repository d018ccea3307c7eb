def test_signup_creates_trial_tenant_and_redirects_to_dashboard(client, db):
    response = client.post(
        "/signup",
        data={
            "name": "Ada Lovelace",
            "company": "Acme Sprays",
            "email": "ada@acme.example",
            "password": "nebulous cobalt atomiser 9",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"] == "/t/acme-sprays/"
    page = client.get("/t/acme-sprays/")
    assert page.status_code == 200, page.get_data(as_text=True)[-3000:]
    assert "Trial: 14 days left" in page.get_data(as_text=True)
