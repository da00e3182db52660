//! Key rotation as the operator's planner does it: a successor is published ahead, then signs;
//! the retired key stays in the JWKS until the longest token it signed has expired, so a token
//! signed before the rotation still verifies after it; then the key goes.

use serde_json::Value;
use vestibule::crypto::keys::{KeySet, public_only};
use vestibule::operator::keys as planner;
use vestibule::runtime::live::Active;

use super::*;

/// Serves `set` as the region Secret's key set, as a reload after the operator's update does.
fn serve_keys(app: &TestApp, set: &KeySet) {
    let current = app.state.live.load();
    let json = String::from_utf8(set.to_json().expect("json")).expect("utf-8");
    let next = Active::build(
        current.config.clone(),
        current.secrets.clone().with("signing-keys.json", json),
        Some(app.outbox.clone()),
    )
    .expect("activates");
    app.state.live.swap(next);
}

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks = jwks_document(app).await;
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str().map(str::to_owned))
        .collect()
}

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().expect("header");
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
        .expect("base64url");
    let header: Value = serde_json::from_slice(&bytes).expect("json");
    header["kid"].as_str().expect("kid").to_owned()
}

#[tokio::test]
async fn a_token_signed_before_a_rotation_verifies_until_it_has_expired() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let clock = &app.state.auth.clock;
        let config = app.state.live.load().config.clone();
        let policy = vestibule::operator::signing::policy(&config);
        let original = app.state.live.load().keys.clone().expect("keys");
        let old_kid = original.keys[0].kid.clone();

        let mut alice = signed_up(&app, "alice@example.com").await;
        let (_, before) = exchange(&app, &code_for(&mut alice, &app).await).await;
        let old_id_token = before["id_token"].as_str().expect("id token").to_owned();
        assert_eq!(kid_of(&old_id_token), old_kid);

        // A rotation is requested: the successor is published ahead, not signing yet.
        let rotating = planner::plan(&original, &policy, clock.now(), true).expect("plan");
        let new_kid = rotating
            .keys
            .iter()
            .find(|k| k.kid != old_kid)
            .expect("a successor")
            .kid
            .clone();
        serve_keys(&app, &rotating);
        assert_eq!(jwks_kids(&app).await.len(), 2, "published before it signs");
        let (_, still_old) = exchange(&app, &code_for(&mut alice, &app).await).await;
        assert_eq!(kid_of(still_old["id_token"].as_str().expect("id")), old_kid);

        // Its time comes: it signs, and the old key is retired but still published.
        clock.advance(policy.publish_ahead_ms + 1000);
        let rotated = planner::plan(&rotating, &policy, clock.now(), false).expect("plan");
        serve_keys(&app, &rotated);
        let kids = jwks_kids(&app).await;
        assert!(
            kids.contains(&old_kid) && kids.contains(&new_kid),
            "{kids:?}"
        );
        let mut alice = signed_up(&app, "alice2@example.com").await;
        let (_, after) = exchange(&app, &code_for(&mut alice, &app).await).await;
        let new_access = after["access_token"].as_str().expect("access");
        assert_eq!(kid_of(new_access), new_kid, "the successor signs");
        assert_eq!(userinfo(&app, new_access).await.0, StatusCode::OK);
        let published = public_only(&rotated);
        jws::verify(&published, &old_id_token, clock.now())
            .expect("a token signed before the rotation still verifies");

        // Once the longest token lifetime (plus skew) has passed, the old key leaves the JWKS.
        clock.advance(policy.max_token_ttl_ms + 1000);
        let settled = planner::plan(&rotated, &policy, clock.now(), false).expect("plan");
        serve_keys(&app, &settled);
        assert_eq!(jwks_kids(&app).await, vec![new_kid.clone()]);
        assert!(
            jws::verify(&public_only(&settled), &old_id_token, clock.now()).is_err(),
            "the old key is gone"
        );
    })
    .await;
}
