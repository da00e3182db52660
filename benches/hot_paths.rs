//! The functions every request or config change runs through. `cargo bench --bench hot_paths`;
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

criterion_group!(benches, passwords, sessions, config, tokens);
criterion_main!(benches);
