//! A theme's whole-component overrides at runtime: the page renders the override, and the
//! form it rebuilt still signs a user in.

use reqwest::StatusCode;

use crate::app::{PASSWORD, signed_up, spawn_app_with};
use crate::support::each_backend;

/// A sign-in form rebuilt by a theme: other markup, the same security-critical pieces.
const SIGN_IN_FORM: &str = r#"{% from "macros.html" import csrf, redirect %}
<form data-part="form" class="acme-sign-in" method="post" action="/sign-in">{{ csrf(csrf_token) }}{{ redirect(redirect_url) }}
<p class="acme-lead">{{ t("signIn.title") }}, {{ product }}</p>
<input name="email" type="email" autocomplete="username{% if passwordless %} webauthn{% endif %}" value="{{ email }}" aria-label="{{ t("field.email") }}">
<input name="password" type="password" autocomplete="current-password" aria-label="{{ t("field.password") }}">
<button data-part="button">{{ t("signIn.submit") }}</button></form>"#;

#[tokio::test]
async fn an_overridden_sign_in_form_renders_and_signs_in() {
    each_backend(async |store| {
        let app = spawn_app_with(store, |config| {
            config
                .theme
                .templates
                .insert("sign-in.form".into(), SIGN_IN_FORM.into());
        })
        .await;
        let mut client = signed_up(&app, "grace@example.com").await;
        let token = client.get("/account").await.csrf();
        client.post("/sign-out", &[("csrf_token", &token)]).await;

        let page = client.get("/sign-in").await;
        assert!(
            page.body.contains("class=\"acme-sign-in\""),
            "{}",
            page.body
        );
        assert!(
            !page.body.contains("data-component=\"sign-in.form\""),
            "replaced"
        );
        let german = reqwest::Client::new()
            .get(format!("{}/sign-in", app.base))
            .header("accept-language", "de")
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("body");
        assert!(german.contains(">Anmelden</button>"), "t() in an override");

        let signed = client
            .submit(
                "/sign-in",
                "/sign-in",
                &[("email", "grace@example.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
        assert_eq!(signed.location(), "/account");
        assert_eq!(client.get("/account").await.status, StatusCode::OK);
    })
    .await;
}
