//! The functions every request or config change runs through (and the second-factor step). `cargo bench --bench hot_paths`;
//! figures are recorded in docs/benchmarks.md.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use vestibule::auth::password::PasswordHasher;
use vestibule::config::compile;
use vestibule::config::runtime::PasswordConfig;
use vestibule::manifest::validate::validate_paths;

fn default_password_config() -> PasswordConfig {
    // The defaults a Vestibule gets: argon2id m=19456 KiB, t=2, p=1 (OWASP floor).
    PasswordConfig {
        min_length: 10,
        max_length: 128,
        reject_common: true,
        breach_check: false,
        breach_check_url: None,
        argon2_memory_kib: 19456,
        argon2_iterations: 2,
        argon2_parallelism: 1,
    }
}

fn passwords(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let hasher = PasswordHasher::new(1, 16);
    let config = default_password_config();
    let stored = runtime
        .block_on(hasher.hash("correct horse battery staple", &config))
        .expect("hash");
    let mut group = c.benchmark_group("password");
    group.sample_size(20);
    group.bench_function("hash_argon2id_default", |b| {
        b.iter(|| runtime.block_on(hasher.hash(black_box("correct horse battery staple"), &config)))
    });
    group.bench_function("verify_argon2id_default", |b| {
        b.iter(|| {
            runtime.block_on(hasher.verify(
                black_box("correct horse battery staple"),
                Some(&stored),
                &config,
            ))
        })
    });
    group.bench_function("policy_check", |b| {
        b.iter(|| {
            vestibule::auth::password::check_policy(
                black_box("a reasonably long passphrase 2026"),
                &config,
                "ada@example.com",
            )
        })
    });
    group.finish();
}

fn sessions(c: &mut Criterion) {
    let token = vestibule::crypto::random_token();
    c.bench_function("session/token_hash", |b| {
        b.iter(|| vestibule::crypto::token_hash(black_box(&token)))
    });
    c.bench_function("session/random_token", |b| {
        b.iter(vestibule::crypto::random_token)
    });
}

fn config(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/b2b-organizations");
    let report = validate_paths(std::slice::from_ref(&dir), &[]).expect("example");
    let (bundles, _) = report.accepted.bundles();
    c.bench_function("config/compile_b2b_example", |b| {
        b.iter(|| compile(black_box(&bundles[0])))
    });
    c.bench_function("config/validate_b2b_example_from_disk", |b| {
        b.iter(|| validate_paths(black_box(std::slice::from_ref(&dir)), &[]))
    });
}

fn tokens(c: &mut Criterion) {
    use vestibule::crypto::keys::{SigningAlgorithm, SigningKey};
    let key = SigningKey::generate(SigningAlgorithm::ES256, 0, 0).expect("key");
    let claims = serde_json::json!({
        "iss": "https://auth.example.com", "sub": "0123456789abcdef", "aud": "portal",
        "client_id": "portal", "scope": "openid email", "iat": 1_700_000_000,
        "exp": 1_700_000_900, "jti": "0123456789abcdef0123456789abcdef",
    });
    // A key that has signed before: its parsed form is kept.
    c.bench_function("tokens/sign_es256_access_token", |b| {
        b.iter(|| vestibule::crypto::jws::sign(&key, "at+jwt", &claims).expect("signs"))
    });
    // A key signing for the first time (as after every config load): PKCS#8 parsed first.
    c.bench_function("tokens/sign_es256_cold_key", |b| {
        b.iter_batched(
            || -> SigningKey {
                serde_json::from_value(serde_json::to_value(&key).expect("json")).expect("key")
            },
            |cold| vestibule::crypto::jws::sign(&cold, "at+jwt", &claims).expect("signs"),
            criterion::BatchSize::SmallInput,
        )
    });
}

/// Second factors: the TOTP check alone, with the secret unsealed first, and the whole
/// second-factor step a sign-in adds (half-signed-in record, verification with the replay guard,
/// the record used up) on SQLite, against the decision alone for a user without factors.
fn mfa(c: &mut Criterion) {
    use vestibule::auth::mfa::{self, Next, Proof, totp};
    use vestibule::auth::{ClientInfo, Ctx, Factor, Services};
    use vestibule::crypto::sealing::{MfaKey, generate_encoded};
    use vestibule::runtime::live::{Active, SecretValues};

    let secret = totp::new_secret();
    let now = 1_800_000_000_000_i64;
    let code = totp::code_at(&secret, now).expect("code");
    let key = MfaKey::from_encoded(&generate_encoded()).expect("key");
    let sealed = key.seal(&secret, "user-1");
    let mut group = c.benchmark_group("mfa");
    group.bench_function("totp_check", |b| {
        b.iter(|| totp::check(black_box(&secret), black_box(&code), now))
    });
    group.bench_function("totp_unseal_and_check", |b| {
        b.iter(|| {
            let secret = key.open(black_box(&sealed), "user-1").expect("opens");
            totp::check(&secret, black_box(&code), now)
        })
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    let report = validate_paths(std::slice::from_ref(&dir), &[]).expect("example");
    let config = report.configs.into_iter().next().expect("a Vestibule").1;
    let secrets = SecretValues::new(
        config
            .secrets
            .keys()
            .map(|k| (k.clone(), "bench".to_owned()))
            .chain([("mfa-key".to_owned(), generate_encoded())])
            .collect(),
    );
    let active = Active::build(config, secrets, Some(Default::default())).expect("activates");
    let db = std::env::temp_dir().join(format!("vestibule-bench-{}.sqlite", std::process::id()));
    let store = runtime
        .block_on(vestibule::store::Store::connect(
            &format!("sqlite://{}", db.display()),
            4,
        ))
        .expect("store");
    let mut services = Services::new(store.clone());
    services.rate_limits = false;
    let client = ClientInfo::default();
    let at = |now: i64| {
        let mut ctx = Ctx::new(&services, &active, &client);
        ctx.now = now;
        ctx
    };
    let (plain, enrolled, secret) = runtime.block_on(async {
        let plain = store
            .create_user_with_email("plain@example.com", "x", now)
            .await
            .expect("user");
        let enrolled = store
            .create_user_with_email("enrolled@example.com", "x", now)
            .await
            .expect("user");
        let enrolment = mfa::begin_totp(&at(now), &enrolled).await.expect("begin");
        let secret = totp_rs::Secret::try_from_base32(enrolment.secret_base32.replace(' ', ""))
            .expect("base32")
            .as_bytes()
            .to_vec();
        let code = totp::code_at(&secret, now).expect("code");
        mfa::confirm_totp(&at(now), &enrolled, &code)
            .await
            .expect("confirmed");
        (plain, enrolled, secret)
    });
    group.bench_function("sign_in_decision_without_factors_sqlite", |b| {
        b.iter(|| {
            runtime
                .block_on(mfa::after_first_factor(
                    &at(now),
                    &plain,
                    &[Factor::Password],
                    None,
                    "",
                    None,
                ))
                .expect("decides")
        })
    });
    // Every iteration a new time step, as a real second sign-in would be (a code works once).
    let step = std::cell::Cell::new(now);
    group.bench_function("second_factor_step_sqlite", |b| {
        b.iter(|| {
            let now = step.get() + 30_000;
            step.set(now);
            let ctx = at(now);
            runtime.block_on(async {
                let Next::Challenge(token) =
                    mfa::after_first_factor(&ctx, &enrolled, &[Factor::Password], None, "", None)
                        .await
                        .expect("decides")
                else {
                    panic!("a challenge")
                };
                let code = totp::code_at(&secret, now).expect("code");
                mfa::verify(&ctx, &enrolled, Proof::Totp(&code))
                    .await
                    .expect("accepted");
                mfa::finish_pending(&ctx, &token.0).await.expect("finished")
            })
        })
    });
    group.finish();
    drop(store);
    let _ = std::fs::remove_file(&db);
}

/// A hosted page's render: the built-in sign-in page, and the same page with the
/// `examples/branded-theme` override of its form (the sandbox's fuel and output cap included).
fn pages(c: &mut Criterion) {
    use std::collections::BTreeMap;
    use vestibule::ui::{Templates, sample_context};
    let theme = std::fs::read_to_string("examples/branded-theme/theme.yaml").expect("example");
    let source = overridden_source(&theme);
    let overridden =
        Templates::with_overrides(&BTreeMap::from([("sign-in.form".to_owned(), source)]))
            .expect("the example's override passes its checks");
    let builtin = Templates::builtin().expect("built-in templates");
    let locales = vestibule::i18n::Locales::build(&BTreeMap::new(), "en");
    let words = locales.default_translator();
    let values = serde_json::json!({
        "email": "ada@example.com", "redirect_url": "/oauth2/authorize?client_id=web",
        "passwordless": true, "providers": [], "sign_up_open": true,
    });
    let mut group = c.benchmark_group("pages");
    group.bench_function("render_sign_in_builtin", |b| {
        b.iter(|| builtin.render("sign_in.html", sample_context(&values, words)))
    });
    group.bench_function("render_sign_in_with_override", |b| {
        b.iter(|| overridden.render("sign_in.html", sample_context(&values, words)))
    });
    group.bench_function("check_override_at_compile", |b| {
        let overrides = BTreeMap::from([("sign-in.form".to_owned(), overridden_source(&theme))]);
        b.iter(|| vestibule::ui::check_overrides(&overrides))
    });
    group.finish();
}

fn overridden_source(theme: &str) -> String {
    let start = theme
        .find("sign-in.form: |")
        .map_or(0, |i| i + "sign-in.form: |\n".len());
    theme[start..]
        .lines()
        .map(|l| l.strip_prefix("      ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

criterion_group!(benches, passwords, sessions, config, tokens, mfa, pages);
criterion_main!(benches);
