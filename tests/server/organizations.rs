//! Organizations over HTTP, on both backends: creating one, invitations (single use, expiring,
//! bound to the invited address), roles and their checks (SECURITY 60–62: ids of another
//! organization, `role=owner` in a form, a role change seen at once), the last admin, joining
//! by a verified `autoJoin` domain, and the active organization in `GET /session`.

use reqwest::StatusCode;
use serde_json::Value;
use vestibule::config::runtime::{DomainEnrollment, OrganizationConfig, RuntimeConfig};
use vestibule::store::Store;

use crate::app::{Client, Page, TestApp, last_mail, link_in, signed_up, spawn_app_with};
use crate::support::each_backend;

/// Organizations on, users may create them.
fn enabled(config: &mut RuntimeConfig) {
    config.organizations.enabled = true;
}

async fn spawn(store: Store) -> TestApp {
    spawn_app_with(store, enabled).await
}

/// `client` creates the organization `slug` (and works in it).
pub(crate) async fn create(client: &mut Client, slug: &str) {
    let page = client
        .submit(
            "/organizations",
            "/organizations",
            &[("name", slug), ("slug", slug)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(
        page.location(),
        format!("/organizations/{slug}?notice=created")
    );
}

/// `admin` invites `email` into `slug` as `role`; the link mailed to them.
pub(crate) async fn invite(
    app: &TestApp,
    admin: &mut Client,
    slug: &str,
    email: &str,
    role: &str,
) -> String {
    let page = act(
        admin,
        slug,
        "invitations",
        &[("email", email), ("role", role)],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let link = link_in(app, &last_mail(app, email).text);
    assert!(link.starts_with("/invitations/accept?token="), "{link}");
    link
}

/// `client` opens the invitation `link` and accepts it (posting its token even when the page
/// offers no button, as a hand-made request would).
pub(crate) async fn accept(client: &mut Client, link: &str) -> crate::app::Page {
    client.get(link).await;
    let query = link.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let token = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let csrf = client.get("/account").await.csrf();
    client
        .post(
            "/invitations/accept",
            &[("csrf_token", &csrf), ("token", &token)],
        )
        .await
}

/// Syncs the app's declared organizations, as the server does when a config loads.
async fn sync(app: &TestApp) -> vestibule::auth::organizations::SyncReport {
    let active = app.state.live.load();
    let nobody = vestibule::auth::ClientInfo::default();
    let ctx = vestibule::auth::Ctx::new(&app.state.auth, &active, &nobody);
    vestibule::auth::organizations::sync_declared(&ctx)
        .await
        .expect("sync")
}

/// `client` posts `form` to `/organizations/SLUG/ACTION` from the organization's page.
pub(crate) async fn act(
    client: &mut Client,
    slug: &str,
    action: &str,
    form: &[(&str, &str)],
) -> Page {
    client
        .submit(
            &format!("/organizations/{slug}"),
            &format!("/organizations/{slug}/{action}"),
            form,
        )
        .await
}

/// The id of the account with this address.
async fn user_id(app: &TestApp, email: &str) -> String {
    app.state
        .auth
        .store
        .user_by_email(email)
        .await
        .expect("read")
        .expect("user")
        .id
}

async fn session_json(client: &mut Client) -> Value {
    let page = client.get("/session").await;
    assert_eq!(page.status, StatusCode::OK);
    serde_json::from_str(&page.body).expect("json")
}

async fn role_of(app: &TestApp, slug: &str, email: &str) -> Option<String> {
    let store = &app.state.auth.store;
    let org = store
        .organization_by_slug(slug)
        .await
        .expect("read")
        .expect("organization");
    let user = store
        .user_by_email(email)
        .await
        .expect("read")
        .expect("user");
    store
        .membership(&org.id, &user.id)
        .await
        .expect("read")
        .map(|m| m.role)
}

#[tokio::test]
async fn an_invitation_makes_a_member_with_its_role_once_and_only_for_its_address() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut ada = signed_up(&app, "ada@example.com").await;
        create(&mut ada, "acme").await;
        assert_eq!(
            role_of(&app, "acme", "ada@example.com").await.as_deref(),
            Some("admin")
        );
        let session = session_json(&mut ada).await;
        assert_eq!(
            session["orgSlug"], "acme",
            "the creator works in it: {session}"
        );
        assert_eq!(session["orgRole"], "admin");

        let link = invite(&app, &mut ada, "acme", "bob@example.com", "member").await;
        let page = ada.get("/organizations/acme").await;
        assert!(
            page.body.contains("bob@example.com"),
            "pending invitation listed"
        );
        // Someone else's account cannot use bob's invitation; it stays usable for bob.
        let mut eve = signed_up(&app, "eve@example.com").await;
        let page = accept(&mut eve, &link).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            page.body
        );
        assert!(
            page.body.contains("sent to another address"),
            "{}",
            page.body
        );
        assert_eq!(role_of(&app, "acme", "eve@example.com").await, None);

        // Bob follows the link without an account: sign up, verify, come back, accept.
        let mut bob = Client::new(&app);
        let page = bob.get(&link).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("/sign-up?redirect_url="),
            "{}",
            page.body
        );
        let mut bob = signed_up(&app, "bob@example.com").await;
        let page = accept(&mut bob, &link).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location(), "/organizations/acme?notice=joined");
        assert_eq!(
            role_of(&app, "acme", "bob@example.com").await.as_deref(),
            Some("member")
        );
        let session = session_json(&mut bob).await;
        assert_eq!(session["orgSlug"], "acme");
        assert_eq!(session["orgRole"], "member");
        assert_eq!(session["orgPermissions"], serde_json::json!([]));

        // Single use.
        let page = accept(&mut bob, &link).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("no longer valid"), "{}", page.body);

        // Expired after seven days.
        let link = invite(&app, &mut ada, "acme", "carol@example.com", "member").await;
        signed_up(&app, "carol@example.com").await;
        app.state.auth.clock.advance(7 * 24 * 3600 * 1000 + 1000);
        // (Signed in again: a session lasts a day.)
        let mut carol = Client::new(&app);
        let token = carol.get("/sign-in").await.csrf();
        carol
            .sign_in(&token, "carol@example.com", crate::app::PASSWORD)
            .await;
        let page = accept(&mut carol, &link).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            page.body
        );
        assert_eq!(role_of(&app, "acme", "carol@example.com").await, None);
    })
    .await;
}

#[tokio::test]
async fn a_revoked_invitation_cannot_be_accepted() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut ada = signed_up(&app, "ada@example.com").await;
        create(&mut ada, "acme").await;
        let link = invite(&app, &mut ada, "acme", "bob@example.com", "member").await;
        let page = ada.get("/organizations/acme").await;
        let id = page
            .body
            .split("data-invitation-id=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("listed")
            .to_owned();
        let page = act(
            &mut ada,
            "acme",
            "invitations/revoke",
            &[("invitation_id", &id)],
        )
        .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let mut bob = signed_up(&app, "bob@example.com").await;
        let page = accept(&mut bob, &link).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(role_of(&app, "acme", "bob@example.com").await, None);
    })
    .await;
}

#[tokio::test]
async fn roles_are_checked_from_the_membership_never_from_the_form() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut ada = signed_up(&app, "ada@example.com").await;
        create(&mut ada, "acme").await;
        let link = invite(&app, &mut ada, "acme", "bob@example.com", "member").await;
        let mut bob = signed_up(&app, "bob@example.com").await;
        accept(&mut bob, &link).await;
        let bob_id = user_id(&app, "bob@example.com").await;
        let ada_id = user_id(&app, "ada@example.com").await;

        // A member cannot make themselves admin, nor touch anyone (SECURITY 62).
        let page = act(
            &mut bob,
            "acme",
            "members/role",
            &[("user_id", &bob_id), ("role", "admin")],
        )
        .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
        let page = act(&mut bob, "acme", "members/remove", &[("user_id", &ada_id)]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        let page = act(
            &mut bob,
            "acme",
            "invitations",
            &[("email", "friend@example.com"), ("role", "admin")],
        )
        .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert_eq!(
            role_of(&app, "acme", "bob@example.com").await.as_deref(),
            Some("member")
        );
        assert_eq!(
            role_of(&app, "acme", "ada@example.com").await.as_deref(),
            Some("admin")
        );

        // A role that does not exist is refused, even from an admin.
        let page = act(
            &mut ada,
            "acme",
            "members/role",
            &[("user_id", &bob_id), ("role", "owner")],
        )
        .await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            page.body
        );
        assert_eq!(
            role_of(&app, "acme", "bob@example.com").await.as_deref(),
            Some("member")
        );

        // The last admin can neither leave nor be demoted, nor demote themselves.
        let page = act(&mut ada, "acme", "leave", &[]).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("at least one admin"), "{}", page.body);
        let page = act(
            &mut ada,
            "acme",
            "members/role",
            &[("user_id", &ada_id), ("role", "member")],
        )
        .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "own role");
        assert_eq!(
            role_of(&app, "acme", "ada@example.com").await.as_deref(),
            Some("admin")
        );

        // Promoting bob shows in his very next request (SECURITY 61); then ada may leave.
        let before = session_json(&mut bob).await;
        assert_eq!(before["orgRole"], "member");
        let page = act(
            &mut ada,
            "acme",
            "members/role",
            &[("user_id", &bob_id), ("role", "admin")],
        )
        .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let after = session_json(&mut bob).await;
        assert_eq!(after["orgRole"], "admin");
        assert_eq!(
            after["orgPermissions"],
            serde_json::json!([
                "org:invitations:manage",
                "org:members:manage",
                "org:settings:manage"
            ])
        );
        let page = act(&mut ada, "acme", "leave", &[]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(role_of(&app, "acme", "ada@example.com").await, None);
        // Removed from it: the session no longer speaks for it.
        let session = session_json(&mut ada).await;
        assert_eq!(session["orgId"], Value::Null, "{session}");
    })
    .await;
}

#[tokio::test]
async fn another_organization_s_members_and_invitations_are_out_of_reach() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut ada = signed_up(&app, "ada@example.com").await;
        create(&mut ada, "acme").await;
        let link = invite(&app, &mut ada, "acme", "bob@example.com", "member").await;
        let mut bob = signed_up(&app, "bob@example.com").await;
        accept(&mut bob, &link).await;
        invite(&app, &mut ada, "acme", "carol@example.com", "member").await;
        let pending = ada.get("/organizations/acme").await;
        let invitation_id = pending
            .body
            .split("data-invitation-id=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("listed")
            .to_owned();
        let store = &app.state.auth.store;
        let acme = store
            .organization_by_slug("acme")
            .await
            .expect("read")
            .expect("acme");
        let bob_id = user_id(&app, "bob@example.com").await;

        // Mallory is the admin of her own organization, and nothing of acme's.
        let mut mallory = signed_up(&app, "mallory@example.com").await;
        create(&mut mallory, "evil").await;
        assert_eq!(
            mallory.get("/organizations/acme").await.status,
            StatusCode::NOT_FOUND
        );
        // Acme's page names: answered like an organization that does not exist.
        let page = mallory
            .submit(
                "/organizations/evil",
                "/organizations/acme/members/remove",
                &[("user_id", &bob_id)],
            )
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        // Acme's ids sent to her own organization's forms change nothing at acme.
        let page = act(
            &mut mallory,
            "evil",
            "members/role",
            &[("user_id", &bob_id), ("role", "admin")],
        )
        .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "bob is not in evil");
        let page = act(
            &mut mallory,
            "evil",
            "invitations/revoke",
            &[("invitation_id", &invitation_id)],
        )
        .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            store
                .pending_invitations(&acme.id, app.state.auth.clock.now())
                .await
                .expect("read")
                .len(),
            1,
            "acme's invitation is still pending"
        );
        // Switching to an organization she is not in is refused; the session keeps hers.
        let page = mallory
            .submit(
                "/organizations",
                "/organizations/switch",
                &[("organization_id", &acme.id)],
            )
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        assert_eq!(session_json(&mut mallory).await["orgSlug"], "evil");
        assert_eq!(
            role_of(&app, "acme", "bob@example.com").await.as_deref(),
            Some("member")
        );
        assert_eq!(role_of(&app, "acme", "mallory@example.com").await, None);
    })
    .await;
}

/// A declared organization with `acme.example` on `autoJoin` and `suggest.example` on `suggest`.
fn with_domains(config: &mut RuntimeConfig) {
    enabled(config);
    config.organizations.declared.push(OrganizationConfig {
        slug: "acme".into(),
        display_name: "Acme".into(),
        domains: [
            ("acme.example".to_owned(), DomainEnrollment::AutoJoin),
            ("suggest.example".to_owned(), DomainEnrollment::Suggest),
        ]
        .into(),
        roles: Default::default(),
        members: Default::default(),
        theme: None,
        mfa: None,
        allowed_providers: Vec::new(),
        password_sign_in: true,
        delete_when_undeclared: false,
    });
}

/// [`with_domains`], Ada declared as Acme's admin.
fn with_ada_declared(config: &mut RuntimeConfig) {
    with_domains(config);
    config.organizations.declared[0].members =
        [("ada@example.com".to_owned(), "admin".to_owned())].into();
}

#[tokio::test]
async fn a_verified_sign_up_on_an_auto_join_domain_joins_and_a_suggested_one_is_offered() {
    each_backend(async |store| {
        let app = spawn_app_with(store, with_domains).await;
        let report = sync(&app).await;
        assert_eq!(report.organizations, 1);
        assert_eq!(report.unchanged, 0);
        // The same declaration again: skipped on its fingerprint, one statement read it.
        let again = sync(&app).await;
        assert_eq!((again.unchanged, again.writes), (1, 0), "{again:?}");
        assert_eq!(
            again.statements, 2,
            "fingerprints, and the undeclared check: {again:?}"
        );

        let mut zoe = signed_up(&app, "zoe@acme.example").await;
        assert_eq!(
            role_of(&app, "acme", "zoe@acme.example").await.as_deref(),
            Some("member")
        );
        // Acme has no admin (none declared): a member may still leave.
        let page = act(&mut zoe, "acme", "leave", &[]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(role_of(&app, "acme", "zoe@acme.example").await, None);
        signed_up(&app, "zed@other.example").await;
        assert_eq!(role_of(&app, "acme", "zed@other.example").await, None);

        let mut sam = signed_up(&app, "sam@suggest.example").await;
        assert_eq!(
            role_of(&app, "acme", "sam@suggest.example").await,
            None,
            "only offered"
        );
        let page = sam.get("/organizations").await;
        assert!(page.body.contains("Join Acme"), "{}", page.body);
        let id = crate::app::field_value(&page.body, "organization_id").expect("offer");
        let page = sam
            .post(
                "/organizations/join",
                &[("csrf_token", &page.csrf()), ("organization_id", &id)],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(
            role_of(&app, "acme", "sam@suggest.example")
                .await
                .as_deref(),
            Some("member")
        );
        // An organization that is not offered cannot be joined by id.
        let mut zed = Client::new(&app);
        let token = zed.get("/sign-in").await.csrf();
        zed.sign_in(&token, "zed@other.example", crate::app::PASSWORD)
            .await;
        let page = zed
            .submit(
                "/organizations",
                "/organizations/join",
                &[("organization_id", &id)],
            )
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        assert_eq!(role_of(&app, "acme", "zed@other.example").await, None);
    })
    .await;
}

#[tokio::test]
async fn users_create_organizations_only_when_allowed_and_up_to_the_limit() {
    each_backend(async |store| {
        let app = spawn_app_with(store, |c| {
            enabled(c);
            c.organizations.max_created_per_user = 1;
        })
        .await;
        let mut ada = signed_up(&app, "ada@example.com").await;
        create(&mut ada, "acme").await;
        let page = ada
            .submit(
                "/organizations",
                "/organizations",
                &[("name", "Second"), ("slug", "second")],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            page.body.contains("at most 1 organizations"),
            "{}",
            page.body
        );
        let mut bob = signed_up(&app, "bob@example.com").await;
        let page = bob
            .submit(
                "/organizations",
                "/organizations",
                &[("name", "Acme"), ("slug", "acme")],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "slug taken");
        for reserved in ["switch", "join", "0123456789abcdef0123456789abcdef"] {
            let page = bob
                .submit(
                    "/organizations",
                    "/organizations",
                    &[("name", "Reserved"), ("slug", reserved)],
                )
                .await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{reserved}");
        }
        let page = bob
            .submit(
                "/organizations",
                "/organizations",
                &[("name", "Bad"), ("slug", "Not A Slug!")],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    })
    .await;
}

#[tokio::test]
async fn without_user_created_organizations_or_with_organizations_off_there_is_no_create() {
    each_backend(async |store| {
        let closed = spawn_app_with(store, |c| {
            enabled(c);
            c.organizations.allow_user_created = false;
        })
        .await;
        let mut carol = signed_up(&closed, "carol@example.com").await;
        let page = carol
            .submit(
                "/account",
                "/organizations",
                &[("name", "C"), ("slug", "c")],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            !carol
                .get("/organizations")
                .await
                .body
                .contains("action=\"/organizations\"")
        );
    })
    .await;
    each_backend(async |store| {
        let off = spawn_app_with(store, |_| {}).await;
        let mut dan = signed_up(&off, "dan@example.com").await;
        assert_eq!(
            dan.get("/organizations").await.status,
            StatusCode::NOT_FOUND
        );
        let page = dan
            .submit(
                "/account",
                "/organizations",
                &[("name", "D"), ("slug", "d")],
            )
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
    })
    .await;
}

/// Acme sends `acme.example` to GitHub and refuses passwords there; Globex sends
/// `globex.example` to Google but still takes a typed password.
fn with_home_realms(config: &mut RuntimeConfig) {
    enabled(config);
    let org =
        |slug: &str, domain: &str, provider: &str, password_sign_in: bool| OrganizationConfig {
            slug: slug.into(),
            display_name: slug.into(),
            domains: [(domain.to_owned(), DomainEnrollment::None)].into(),
            roles: Default::default(),
            members: Default::default(),
            theme: None,
            mfa: None,
            allowed_providers: vec![provider.into()],
            password_sign_in,
            delete_when_undeclared: false,
        };
    let mut acme = org("acme", "acme.example", "github", false);
    acme.domains
        .insert("bank.example".into(), DomainEnrollment::None);
    config.organizations.declared = vec![acme, org("globex", "globex.example", "google", true)];
}

#[tokio::test]
async fn home_realm_discovery_sends_a_domain_user_to_the_organization_s_provider() {
    each_backend(async |store| {
        let app = spawn_app_with(store, with_home_realms).await;
        let back = "?redirect_url=%2Faccount";
        let mut ann = Client::new(&app);
        // The address as a login_hint (an Application's authorize request passes it on).
        let page = ann
            .get("/sign-in?login_hint=ann%40acme.example&redirect_url=%2Faccount")
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location(), format!("/oauth/github/start{back}"));
        // Typed into the form, with a password: the password is never looked at.
        let token = ann.get("/sign-in").await.csrf();
        let page = ann
            .post(
                "/sign-in",
                &[
                    ("csrf_token", &token),
                    ("email", "Ann@ACME.example"),
                    ("password", "whatever she types"),
                    ("redirect_url", "/account"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location(), format!("/oauth/github/start{back}"));
        assert!(ann.session().is_none());
        // Nor can she sign up with a password: off to the provider, no account made.
        let page = ann
            .submit(
                "/sign-up",
                "/sign-up",
                &[
                    ("email", "ann@acme.example"),
                    ("password", crate::app::PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert!(
            page.location().starts_with("/oauth/github/start"),
            "{}",
            page.location()
        );
        let store = &app.state.auth.store;
        assert_eq!(
            store.user_by_email("ann@acme.example").await.expect("read"),
            None
        );
        // However the domain is spelled (a Kelvin sign lower-cases to "k"), it is the domain.
        let page = ann
            .submit(
                "/sign-up",
                "/sign-up",
                &[
                    ("email", "eve@ban\u{212A}.example"),
                    ("password", crate::app::PASSWORD),
                ],
            )
            .await;
        assert!(
            page.location().starts_with("/oauth/github/start"),
            "{}",
            page.location()
        );
        assert_eq!(
            store.user_by_email("eve@bank.example").await.expect("read"),
            None
        );
        // The provider's flow starts there.
        let page = ann.get(&format!("/oauth/github/start{back}")).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert!(
            page.location()
                .starts_with("https://github.com/login/oauth/authorize?"),
            "{}",
            page.location()
        );

        // Globex takes passwords: a hint goes to Google, a typed password is checked as usual.
        let mut gus = Client::new(&app);
        let page = gus.get("/sign-in?login_hint=gus%40globex.example").await;
        assert!(
            page.location().starts_with("/oauth/google/start"),
            "{}",
            page.location()
        );
        let token = gus.get("/sign-in").await.csrf();
        let page = gus
            .sign_in(&token, "gus@globex.example", "not his password")
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "checked, and wrong");
        // Elsewhere, nothing changes.
        let page = gus.get("/sign-in?login_hint=gus%40example.com").await;
        assert_eq!(page.status, StatusCode::OK);

        // Acme's own sign-in page offers only its provider.
        let page = Client::new(&app).get("/sign-in?organization=acme").await;
        assert!(
            page.body.contains("data-provider=\"github\""),
            "{}",
            page.body
        );
        assert!(!page.body.contains("data-provider=\"google\""));
        let page = Client::new(&app).get("/sign-in").await;
        assert!(page.body.contains("data-provider=\"google\""));
    })
    .await;
}

#[tokio::test]
async fn required_for_roles_covers_a_role_held_in_a_runtime_organization() {
    use vestibule::config::runtime::{MfaConfig, MfaEnforcement};
    each_backend(async |store| {
        let app = spawn_app_with(store, |c| {
            enabled(c);
            c.mfa = MfaConfig {
                source: Some("admins".into()),
                totp: true,
                enforcement: MfaEnforcement::RequiredForRoles,
                required_roles: vec!["admin".into()],
                ..MfaConfig::disabled()
            };
        })
        .await;
        // Without an organization nothing is required: sign-up lands on /account.
        let mut ada = signed_up(&app, "ada@example.com").await;
        create(&mut ada, "acme").await;
        // Now an admin: the next sign-in must set up a second factor first, no session before.
        let mut again = Client::new(&app);
        let token = again.get("/sign-in").await.csrf();
        let page = again
            .sign_in(&token, "ada@example.com", crate::app::PASSWORD)
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location(), "/sign-in/enrol");
        assert!(again.session().is_none());
        // A plain member of it is not asked.
        let link = invite(&app, &mut ada, "acme", "bob@example.com", "member").await;
        let mut bob = signed_up(&app, "bob@example.com").await;
        accept(&mut bob, &link).await;
        let mut bob_again = Client::new(&app);
        let token = bob_again.get("/sign-in").await.csrf();
        let page = bob_again
            .sign_in(&token, "bob@example.com", crate::app::PASSWORD)
            .await;
        assert_eq!(page.location(), "/account");
        assert!(bob_again.session().is_some());
    })
    .await;
}

#[tokio::test]
async fn only_a_settings_manager_renames_and_declared_organizations_and_members_stay_as_declared() {
    each_backend(async |store| {
        let app = spawn_app_with(store, with_ada_declared).await;
        let mut ada = signed_up(&app, "ada@example.com").await;
        create(&mut ada, "initech").await;
        let link = invite(&app, &mut ada, "initech", "bob@example.com", "member").await;
        let mut bob = signed_up(&app, "bob@example.com").await;
        accept(&mut bob, &link).await;
        let rename = async |client: &mut Client, slug: &str, name: &str| {
            act(client, slug, "settings", &[("name", name)])
                .await
                .status
        };
        assert_eq!(
            rename(&mut bob, "initech", "Bob's").await,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            rename(&mut ada, "initech", "Initech Ltd").await,
            StatusCode::SEE_OTHER
        );
        let store = &app.state.auth.store;
        let name = |slug: &'static str| async move {
            store
                .organization_by_slug(slug)
                .await
                .expect("read")
                .map(|o| o.name)
        };
        assert_eq!(name("initech").await.as_deref(), Some("Initech Ltd"));

        // Acme is declared (ada is its admin there too): its name lives in the resource.
        sync(&app).await;
        assert_eq!(
            rename(&mut ada, "acme", "Not Acme").await,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(name("acme").await.as_deref(), Some("Acme"));
        // Nor does a declared member leave on the page: the resource lists her.
        let page = act(&mut ada, "acme", "leave", &[]).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("declared as code"), "{}", page.body);
        assert_eq!(
            role_of(&app, "acme", "ada@example.com").await.as_deref(),
            Some("admin")
        );
    })
    .await;
}

#[tokio::test]
async fn invitations_are_rate_limited_per_inviter() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut ada = signed_up(&app, "ada@example.com").await;
        create(&mut ada, "acme").await;
        let token = ada.get("/organizations/acme").await.csrf();
        for n in 0..50 {
            let email = format!("guest{n}@example.com");
            let page = ada
                .post(
                    "/organizations/acme/invitations",
                    &[
                        ("csrf_token", &token),
                        ("email", &email),
                        ("role", "member"),
                    ],
                )
                .await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "invitation {n}");
        }
        let page = ada
            .post(
                "/organizations/acme/invitations",
                &[
                    ("csrf_token", &token),
                    ("email", "one-more@example.com"),
                    ("role", "member"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(
            app.outbox
                .entries()
                .iter()
                .all(|m| m.to != "one-more@example.com")
        );
    })
    .await;
}

#[tokio::test]
async fn a_member_an_admin_removed_is_not_brought_back_by_their_email_domain() {
    each_backend(async |store| {
        let app = spawn_app_with(store, with_ada_declared).await;
        let mut ada = signed_up(&app, "ada@example.com").await;
        sync(&app).await;
        let mut sam = signed_up(&app, "sam@suggest.example").await;
        let page = sam.get("/organizations").await;
        let id = crate::app::field_value(&page.body, "organization_id").expect("offered");
        sam.post(
            "/organizations/join",
            &[("csrf_token", &page.csrf()), ("organization_id", &id)],
        )
        .await;
        assert_eq!(
            role_of(&app, "acme", "sam@suggest.example")
                .await
                .as_deref(),
            Some("member")
        );
        let sam_id = user_id(&app, "sam@suggest.example").await;
        let page = act(&mut ada, "acme", "members/remove", &[("user_id", &sam_id)]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        // No longer offered, and joining by id is refused.
        let page = sam.get("/organizations").await;
        assert!(!page.body.contains("Join Acme"), "{}", page.body);
        let page = sam
            .submit(
                "/organizations",
                "/organizations/join",
                &[("organization_id", &id)],
            )
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        assert_eq!(role_of(&app, "acme", "sam@suggest.example").await, None);
        // An invitation brings him back, and lifts the removal.
        let link = invite(&app, &mut ada, "acme", "sam@suggest.example", "member").await;
        let page = accept(&mut sam, &link).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(
            role_of(&app, "acme", "sam@suggest.example")
                .await
                .as_deref(),
            Some("member")
        );
        // Leaving of his own accord is not a removal: the domain may offer it again.
        act(&mut sam, "acme", "leave", &[]).await;
        assert!(sam.get("/organizations").await.body.contains("Join Acme"));
    })
    .await;
}
