//! Remembered devices: a signed cookie value `v1.{user}.{epoch}.{expires}.{mac}` (HMAC under
//! the MFA key). It is bound to the user and to their factor epoch, which every change of
//! factors bumps, so removing a factor (or an administrator's reset) ends every remembered device.

use crate::crypto::sealing::MfaKey;

fn message(user_id: &str, epoch: i64, expires: i64) -> String {
    format!("remember-device:v1.{user_id}.{epoch}.{expires}")
}

/// A cookie value remembering this device for `user_id` until `expires` (Unix ms).
pub fn issue(key: &MfaKey, user_id: &str, epoch: i64, expires: i64) -> String {
    let tag = key.mac(message(user_id, epoch, expires).as_bytes());
    format!("v1.{user_id}.{epoch}.{expires}.{tag}")
}

/// Whether `value` remembers this device for `user_id` at factor epoch `epoch` at `now`.
pub fn valid(key: &MfaKey, value: &str, user_id: &str, epoch: i64, now: i64) -> bool {
    let mut parts = value.split('.');
    let (Some("v1"), Some(user), Some(e), Some(expires), Some(tag), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Ok(e), Ok(expires)) = (e.parse::<i64>(), expires.parse::<i64>()) else {
        return false;
    };
    user == user_id
        && e == epoch
        && now < expires
        && key.verify_mac(message(user, e, expires).as_bytes(), tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_device_is_bound_to_user_epoch_and_time() {
        let key = MfaKey::from_encoded(&crate::crypto::sealing::generate_encoded()).unwrap();
        let value = issue(&key, "u1", 3, 1_000);
        assert!(valid(&key, &value, "u1", 3, 999));
        assert!(!valid(&key, &value, "u1", 3, 1_000), "expired");
        assert!(!valid(&key, &value, "u1", 4, 999), "factors changed since");
        assert!(!valid(&key, &value, "u2", 3, 999), "another user");
        let forged = value.replace(".1000.", ".9999999.");
        assert!(
            !valid(&key, &forged, "u1", 3, 999),
            "the MAC covers the expiry"
        );
        assert!(!valid(&key, "v1.u1.3.1000", "u1", 3, 999));
    }
}
