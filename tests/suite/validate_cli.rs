//! `vestibule validate` as a user runs it: every example passes, every broken fixture fails with
//! the diagnostic it was written for (`file:line: Kind/name: field.path: message`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn vestibule(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vestibule"))
        .current_dir(ROOT)
        .args(args)
        .output()
        .expect("run vestibule")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn entries(dir: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .collect();
    paths.sort();
    paths
}

#[test]
fn every_example_validates() {
    let examples = entries("examples");
    let names: Vec<String> = examples
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    for expected in [
        "quickstart",
        "multi-region",
        "b2b-organizations",
        "branded-theme",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "examples/{expected} is missing"
        );
    }
    for example in examples {
        let rel = example
            .strip_prefix(ROOT)
            .expect("under root")
            .to_string_lossy()
            .trim_start_matches('/')
            .to_owned();
        let out = vestibule(&["validate", &rel]);
        assert!(
            out.status.success(),
            "{rel} failed validation:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(
            text(&out.stdout).contains("compiled, config sha256:"),
            "{rel}: {}",
            text(&out.stdout)
        );
    }
}

#[test]
fn all_examples_validate_together() {
    // `vestibule validate examples/*` as in the README: four Vestibules, no cross-talk.
    let paths: Vec<String> = entries("examples")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["validate"];
    args.extend(paths.iter().map(String::as_str));
    let out = vestibule(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout)
            .matches("compiled, config sha256:")
            .count(),
        4
    );
}

/// The `# expect: LINE: Kind/name: path: message` line at the end of a fixture.
fn expectation(file: &Path) -> String {
    let content =
        std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    content
        .lines()
        .find_map(|l| l.strip_prefix("# expect: "))
        .unwrap_or_else(|| panic!("{} has no `# expect:` line", file.display()))
        .to_owned()
}

#[test]
fn every_invalid_fixture_fails_with_its_diagnostic() {
    let fixtures = entries("tests/fixtures/invalid");
    assert!(
        fixtures.len() >= 15,
        "at least 15 broken bundles, found {}",
        fixtures.len()
    );
    let mut seen_messages = std::collections::BTreeSet::new();
    for fixture in fixtures {
        let rel = fixture
            .strip_prefix(ROOT)
            .expect("under root")
            .to_string_lossy()
            .trim_start_matches('/')
            .to_owned();
        // A directory fixture holds a change: `previous/` is what exists, the rest is the edit.
        let (target, out) = if fixture.is_dir() {
            let target = format!("{rel}/org.yaml");
            let previous = format!("{rel}/previous");
            let out = vestibule(&["validate", &target, "--previous", &previous]);
            (target, out)
        } else {
            (rel.clone(), vestibule(&["validate", &rel]))
        };
        let expected = format!("{target}:{}", expectation(&Path::new(ROOT).join(&target)));
        assert_eq!(
            out.status.code(),
            Some(1),
            "{rel} must exit 1; stderr:\n{}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert!(
            stderr.lines().any(|l| l == expected),
            "{rel}: expected the line\n  {expected}\ngot:\n{stderr}"
        );
        seen_messages.insert(expected.split(": ").skip(2).collect::<Vec<_>>().join(": "));
    }
    assert!(
        seen_messages.len() >= 15,
        "fixtures must test distinct mistakes"
    );
}

#[test]
fn an_immutable_field_is_accepted_when_unchanged() {
    let out = vestibule(&[
        "validate",
        "tests/fixtures/invalid/immutable-slug/previous",
        "--previous",
        "tests/fixtures/invalid/immutable-slug/previous",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn all_problems_are_reported_not_just_the_first() {
    let dir = tempdir();
    std::fs::write(
        dir.join("bundle.yaml"),
        r#"apiVersion: vestibule.dev/v1alpha1
kind: Vestibule
metadata:
  name: main
spec:
  issuer: http://auth.example.com
  regions:
    - name: eu
  sessions:
    lifetime: 1h
    idleTimeout: 2h
  themeRef:
    name: missing
---
apiVersion: vestibule.dev/v1alpha1
kind: Application
metadata:
  name: app
spec:
  vestibuleRef:
    name: main
  type: spa
  clientId: app
  redirectUris: ["javascript:alert(1)", "https://ok.example.com/cb"]
  allowedOrigins: ["https://ok.example.com/path"]
"#,
    )
    .expect("write");
    let path = dir.join("bundle.yaml");
    let out = vestibule(&["validate", &path.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    // The CEL rule (idle > lifetime) stops this Vestibule before compile; the Application still
    // reports its own problems, and its missing Vestibule.
    for needle in [
        ":11: Vestibule/main: spec.sessions.idleTimeout: idleTimeout must not be longer than lifetime",
        ":24: Application/app: spec.redirectUris[0]:",
        ":25: Application/app: spec.allowedOrigins[0]:",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in\n{stderr}");
    }
}

#[test]
fn non_vestibule_documents_are_ignored_with_a_note() {
    let dir = tempdir();
    std::fs::write(
        dir.join("mixed.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n---\n\
         apiVersion: vestibule.dev/v1alpha1\nkind: Vestibule\nmetadata:\n  name: main\n\
         spec:\n  issuer: https://auth.example.com\n  regions:\n    - name: eu\n",
    )
    .expect("write");
    let path = dir.join("mixed.yaml").to_string_lossy().into_owned();
    let out = vestibule(&["validate", "--verbose", &path]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!(
            "{path}:1: note: Deployment/web: ignoring apps/v1 Deployment"
        )),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_config_too_large_for_its_config_map_fails_validate_and_render_with_its_size() {
    let dir = tempdir();
    // Each part is valid; together the compiled config outgrows the region's ConfigMap
    // (declared Organizations would not: they travel in shards of their own).
    let mut yaml = String::from(
        "apiVersion: vestibule.dev/v1alpha1\nkind: Vestibule\nmetadata:\n  name: big\n\
         spec:\n  issuer: https://auth.example.com\n  regions:\n    - name: eu\n",
    );
    for app in 0..500 {
        yaml.push_str(&format!(
            "---\napiVersion: vestibule.dev/v1alpha1\nkind: Application\nmetadata:\n  \
             name: app-{app}\nspec:\n  vestibuleRef:\n    name: big\n  type: spa\n  \
             clientId: app-{app}\n  displayName: Application number {app}\n  redirectUris:\n"
        ));
        for uri in 0..40 {
            yaml.push_str(&format!(
                "    - https://app-{app}.example.com/callback/{uri}\n"
            ));
        }
    }
    std::fs::write(dir.join("big.yaml"), yaml).expect("write");
    let path = dir.join("big.yaml").to_string_lossy().into_owned();
    for command in ["validate", "render"] {
        let out = vestibule(&[command, &path]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        let expected = format!("{path}:5: Vestibule/big: spec: the compiled config is ");
        let line = stderr
            .lines()
            .find(|l| l.starts_with(&expected))
            .unwrap_or_else(|| panic!("{command}: {stderr}"));
        assert!(
            line.ends_with("KiB without its declared Organizations, over the 1 MiB a ConfigMap holds; declare fewer Applications or providers in this Vestibule"),
            "{line}"
        );
    }
}

#[test]
fn a_missing_path_is_a_clear_error() {
    let out = vestibule(&["validate", "does/not/exist.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("does/not/exist.yaml"),
        "{}",
        text(&out.stderr)
    );
}

/// A fresh directory under the target dir (kept out of the source tree).
fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "validate-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

#[test]
fn low_contrast_is_a_warning_that_does_not_fail_validation() {
    let dir = tempdir();
    let file = dir.join("theme.yaml");
    std::fs::write(
        &file,
        "apiVersion: vestibule.dev/v1alpha1
kind: Vestibule
metadata: {name: main}
spec:
  issuer: https://auth.example.com
  regions: [{name: eu}]
  themeRef: {name: pale}
---
apiVersion: vestibule.dev/v1alpha1
kind: Theme
metadata: {name: pale}
spec:
  tokens:
    colors:
      primary: \"#a5b4fc\"
",
    )
    .expect("write");
    let out = vestibule(&["validate", &file.to_string_lossy()]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let expected = format!(
        "{}:14: warning: Theme/pale: spec.tokens.colors.primaryForeground: primary-foreground \
         #ffffff on primary #a5b4fc has a contrast of 1.99:1 in the light appearance; WCAG 2.2 AA \
         asks for 4.5:1",
        file.display()
    );
    assert!(stderr.lines().any(|l| l == expected), "{stderr}");
}
