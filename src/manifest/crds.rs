//! The CustomResourceDefinitions as YAML, for `vestibule crd` and the files in `crds/`.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

use super::yaml::to_yaml_documents;
use crate::resources::crd;

/// One CRD as a YAML document.
pub fn to_yaml(crd: &CustomResourceDefinition) -> String {
    // A CRD always serializes: its types hold only strings, numbers and maps with string keys.
    let value = serde_json::to_value(crd).unwrap_or_default();
    to_yaml_documents(&[value])
}

/// Every CRD as one multi-document YAML stream.
pub fn all_to_yaml() -> String {
    crd::all().iter().map(to_yaml).collect()
}
