//! Helpers shared by the YAML modules' tests.

use super::{YamlDocument, YamlError, parse_documents};

pub(super) fn parse(text: &str) -> Vec<YamlDocument> {
    match parse_documents(text) {
        Ok(docs) => docs,
        Err(e) => panic!("line {}: {e}\n{text}", e.line()),
    }
}

pub(super) fn parse_one(text: &str) -> YamlDocument {
    let mut docs = parse(text);
    assert_eq!(docs.len(), 1, "{text}");
    docs.remove(0)
}

pub(super) fn parse_err(text: &str) -> YamlError {
    match parse_documents(text) {
        Ok(docs) => panic!("expected an error, got {docs:?}"),
        Err(e) => e,
    }
}
