//! Sign-in through upstream identity providers (`OAuthProvider` resources): the protocol logic
//! as plain functions, like [`super::oidc`] for the provider Vestibule itself is. Today: the
//! checks of an upstream ID token's claims; the start/callback flow, account linking and the
//! hosted-page buttons land next (issue 11).

pub mod id_token;
