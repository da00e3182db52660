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

/// A declared Organization with a theme of its own (its primary color and a string) and a
/// verified domain.
fn with_acme(config: &mut vestibule::config::RuntimeConfig) {
    use vestibule::config::runtime::{DomainEnrollment, OrganizationConfig};
    let mut theme = config.theme.clone();
    theme.tokens.insert("primary".into(), "#be123c".into());
    theme
        .strings
        .entry("en".into())
        .or_default()
        .insert("signIn.title".into(), "Sign in to Acme".into());
    config.organizations.enabled = true;
    config.organizations.declared.push(OrganizationConfig {
        slug: "acme".into(),
        display_name: "Acme".into(),
        domains: [("acme.example".to_owned(), DomainEnrollment::Suggest)].into(),
        roles: Default::default(),
        members: Default::default(),
        theme: Some(theme),
        mfa: None,
        allowed_providers: Vec::new(),
        password_sign_in: true,
        delete_when_undeclared: false,
    });
}

#[tokio::test]
async fn an_organization_named_by_the_page_or_the_flow_or_the_email_gets_its_own_theme() {
    each_backend(async |store| {
        let app = spawn_app_with(store, with_acme).await;
        let mut client = crate::app::Client::new(&app);

        let plain = client.get("/sign-in").await;
        assert!(plain.body.contains("<h1 data-part=\"heading\">Sign in</h1>"));
        assert!(!plain.body.contains("organization=acme"));

        // ?organization= : the theme, its stylesheet, remembered for the browser session.
        let acme = client.get("/sign-in?organization=acme").await;
        assert!(acme.body.contains("Sign in to Acme"), "{}", acme.body);
        assert!(acme.body.contains("&amp;organization=acme\">"), "its stylesheet");
        let css = reqwest::get(format!("{}/assets/vestibule.css?organization=acme", app.base))
            .await
            .expect("css")
            .text()
            .await
            .expect("body");
        assert!(css.contains("--vst-color-primary:#be123c;"));
        let again = client.get("/forgot-password").await;
        assert!(again.body.contains("organization=acme"), "remembered");
        let forgotten = client.get("/sign-in?organization=").await;
        assert!(!forgotten.body.contains("Sign in to Acme"), "an empty value forgets it");
        let unknown = client.get("/sign-in?organization=nope").await;
        assert!(!unknown.body.contains("organization=nope"), "unknown slugs are not echoed");

        // The OpenID request's `organization`, carried in the return address.
        let flow = client
            .get("/sign-in?redirect_url=%2Foauth2%2Fauthorize%3Fclient_id%3Dweb%26organization%3Dacme")
            .await;
        assert!(flow.body.contains("Sign in to Acme"), "{}", flow.body);

        // A failed sign-in with an address on the organization's domain.
        let failed = client
            .submit(
                "/sign-in",
                "/sign-in",
                &[("email", "nobody@acme.example"), ("password", "wrong password, sorry")],
            )
            .await;
        assert!(failed.body.contains("Sign in to Acme"), "{}", failed.body);
    })
    .await;
}

#[tokio::test]
async fn a_visitor_chooses_light_or_dark_and_the_choice_is_kept() {
    each_backend(async |store| {
        let app = spawn_app_with(store, |_| {}).await;
        let mut client = crate::app::Client::new(&app);
        let system = client.get("/sign-in").await;
        assert!(
            !system.body.contains("data-appearance="),
            "the system setting"
        );
        assert!(system.body.contains("data-part=\"appearance-picker\""));

        let dark = client.get("/sign-in?appearance=dark").await;
        assert!(
            dark.body.contains(" data-appearance=\"dark\">"),
            "{}",
            dark.body
        );
        let kept = client.get("/sign-up").await;
        assert!(
            kept.body.contains(" data-appearance=\"dark\">"),
            "remembered"
        );
        let css = reqwest::get(format!("{}/assets/vestibule.css", app.base))
            .await
            .expect("css")
            .text()
            .await
            .expect("body");
        assert!(css.contains("[data-appearance=\"dark\"]{color-scheme:dark;"));

        let auto = client.get("/sign-in?appearance=auto").await;
        assert!(
            !auto.body.contains("data-appearance="),
            "auto forgets the choice"
        );
        assert!(
            !client
                .get("/sign-up")
                .await
                .body
                .contains("data-appearance=")
        );
    })
    .await;
}

#[tokio::test]
async fn emails_use_the_theme_tokens_and_its_email_override() {
    each_backend(async |store| {
        let app = spawn_app_with(store, |config| {
            config
                .theme
                .tokens
                .insert("primary".into(), "#0e7490".into());
            config.theme.templates.insert(
                "email.verify-code".into(),
                "<html><body class=\"acme-mail\">{% for b in blocks %}{% if b.kind == 'link' %}\
                 <a href=\"{{ b.url }}\">{{ b.text }}</a>{% else %}<p>{{ b.text }}</p>{% endif %}\
                 {% endfor %}</body></html>"
                    .into(),
            );
        })
        .await;
        let client = signed_up(&app, "mae@example.com").await;
        let verify = app
            .outbox
            .entries()
            .into_iter()
            .find(|m| m.to == "mae@example.com")
            .expect("the verification email");
        assert!(
            verify.html.contains("class=\"acme-mail\""),
            "{}",
            verify.html
        );
        assert!(
            verify.text.contains("/verify-email?token="),
            "the text part is the catalog's"
        );

        // Another kind of email: the built-in frame, styled inline with the tokens.
        let mut client = client;
        let token = client.get("/account").await.csrf();
        client
            .post(
                "/account/password",
                &[
                    ("csrf_token", &token),
                    ("current_password", PASSWORD),
                    ("new_password", "another long passphrase, fresh"),
                ],
            )
            .await;
        let notice = crate::app::last_mail(&app, "mae@example.com");
        assert!(!notice.html.contains("acme-mail"), "{}", notice.html);
        assert!(
            notice.html.contains("background:#ffffff"),
            "{}",
            notice.html
        );
        assert!(!notice.html.contains("<style") && !notice.html.contains("var(--"));
    })
    .await;
}

#[tokio::test]
async fn provider_buttons_carry_their_mark_and_follow_the_theme_placement() {
    use vestibule::config::runtime::SocialButtonsPlacement;
    each_backend(async |store| {
        let icon = "data:image/svg+xml;base64,PHN2Zy8+";
        let app = spawn_app_with(store, |config| {
            config.theme.social_buttons = SocialButtonsPlacement::Bottom;
            if let Some(google) = config.providers.iter_mut().find(|p| p.slug == "google") {
                google.icon_url = Some(icon.into());
            }
        })
        .await;
        let page = crate::app::Client::new(&app).get("/sign-in").await;
        let body = &page.body;
        assert!(
            body.contains("<img data-part=\"button.social-icon\" src=\"data:image&#x2f;svg+xml;base64,PHN2Zy8+\" alt=\"\""),
            "{body}"
        );
        assert!(body.contains("<span data-part=\"button.social-icon\" aria-hidden=\"true\">G</span><span>Continue with GitHub</span>"));
        let form = body.find("data-component=\"sign-in.form\"").expect("form");
        let buttons = body.find("data-part=\"social-buttons\"").expect("buttons");
        assert!(buttons > form, "socialButtons: bottom puts them after the form");
        let divider = body.find("data-part=\"divider\"").expect("divider");
        assert!(form < divider && divider < buttons, "the divider between");
    })
    .await;
}
