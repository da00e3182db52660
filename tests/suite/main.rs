//! Integration tests for the resource model, the compiler and the CLI. One test binary, one
//! module per area, to keep link times down.

mod architecture;
mod cel_rules;
mod chart;
mod compile;
mod crds;
mod kube_source;
mod lease;
mod mock_api;
mod operator;
mod region_watches;
mod render;
mod validate_cli;
