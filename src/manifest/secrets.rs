//! Secret values from Secret documents on disk.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::validate::collect_files;
use super::yaml::parse_documents;
use crate::config::RuntimeConfig;

/// The region Secret's values, taken from the Secret documents under `paths` (in `namespace`):
/// for `vestibule dev` and for tests. In a cluster the operator reads the Secrets instead.
pub fn region_secret_values(
    paths: &[PathBuf],
    namespace: &str,
    config: &RuntimeConfig,
) -> Result<BTreeMap<String, String>, String> {
    let sources = secret_documents(paths, namespace)?;
    let mut values = BTreeMap::new();
    for (region_key, source) in &config.secrets {
        if let Some(value) = sources.get(&(source.name.clone(), source.key.clone())) {
            values.insert(region_key.clone(), value.clone());
        }
    }
    Ok(values)
}

/// Every value of every Secret document under `paths` in `namespace`, by (Secret name, key).
pub fn secret_documents(
    paths: &[PathBuf],
    namespace: &str,
) -> Result<BTreeMap<(String, String), String>, String> {
    let mut sources: BTreeMap<(String, String), String> = BTreeMap::new();
    for file in collect_files(paths).map_err(|e| e.to_string())? {
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        for doc in parse_documents(&text).unwrap_or_default() {
            let v = &doc.value;
            if v["apiVersion"] != "v1" || v["kind"] != "Secret" {
                continue;
            }
            let doc_ns = v["metadata"]["namespace"]
                .as_str()
                .unwrap_or(crate::config::bundle::DEFAULT_NAMESPACE);
            let Some(name) = v["metadata"]["name"]
                .as_str()
                .filter(|_| doc_ns == namespace)
            else {
                continue;
            };
            if let Some(data) = v["data"].as_object() {
                for (key, value) in data {
                    let decoded = value
                        .as_str()
                        .and_then(|s| STANDARD.decode(s).ok())
                        .and_then(|b| String::from_utf8(b).ok())
                        .ok_or_else(|| {
                            format!(
                                "{}: Secret/{name}: data.{key} is not base64 UTF-8",
                                file.display()
                            )
                        })?;
                    sources.insert((name.to_owned(), key.clone()), decoded);
                }
            }
            if let Some(data) = v["stringData"].as_object() {
                for (key, value) in data {
                    let text = value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_owned);
                    sources.insert((name.to_owned(), key.clone()), text);
                }
            }
        }
    }
    Ok(sources)
}
