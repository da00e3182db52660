//! Devices an account has signed in from, to tell the user about a new one (SECURITY 14).
//!
//! A device is its User-Agent; the account's devices are remembered for 30 days after their last
//! sign-in, so a browser the user returns to within a month does not trigger a notice again.

use super::{AuthError, Ctx, product, send};
use crate::email::messages;
use crate::i18n::{Translator, args};
use crate::store::User;

/// How long a device is remembered after its last sign-in.
pub const REMEMBER_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// Records this sign-in's device; mails the user when it is new and `notify` is set.
pub async fn note_sign_in(ctx: &Ctx<'_>, user: &User, notify: bool) -> Result<(), AuthError> {
    let user_agent = ctx.client.user_agent.as_deref().unwrap_or_default();
    // 96 bits of the User-Agent's SHA-256: a stable name for the device, not a secret.
    let mut device = crate::crypto::sha256_hex(user_agent.as_bytes());
    device.truncate(24);
    let new = ctx
        .services
        .store
        .note_device(&user.id, &device, ctx.now, REMEMBER_MS)
        .await?;
    if notify && new {
        let words = ctx.words();
        let unknown = words.get("email.unknownAddress", &[]);
        let ip = ctx.client.ip.as_deref().unwrap_or(&unknown);
        let device = describe(words, Some(user_agent));
        let message = messages::new_sign_in(words, &user.email, &product(ctx), &device, ip);
        send(ctx, message).await;
    }
    Ok(())
}

/// A short device description from the User-Agent, such as "Firefox on macOS", in the locale
/// of `words`.
pub fn describe(words: &Translator, user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or_default();
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| *name);
    let os = [
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| *name);
    match (browser, os) {
        (Some(b), Some(o)) => words.get("device.on", &args([("browser", &b), ("os", &o)])),
        (Some(b), None) => b.to_owned(),
        (None, Some(o)) => o.to_owned(),
        (None, None) if !ua.is_empty() => ua.chars().take(40).collect(),
        _ => words.get("device.unknown", &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_described_briefly() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        let en = crate::i18n::english();
        assert_eq!(describe(en, Some(chrome)), "Chrome on Linux");
        assert_eq!(describe(en, None), "an unknown device");
    }
}
