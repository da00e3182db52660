//! Reserved for the admin face: a JSON API under `/admin/v1` (API keys, its own error shape) and
//! the dashboard pages under `/admin`. Nothing is routed here yet; the paths stay free so the
//! admin work lands beside `pages` and `oauth` without touching their layers.
