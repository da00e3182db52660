//! Second-factor pages: the challenge after a first factor (`/sign-in/factor`), the enrolment a
//! policy requires before any session (`/sign-in/enrol`), step-up (`/account/step-up`), and
//! managing the authenticator app and backup codes on `/account`.
//!
//! The challenge and the required enrolment run on the half-signed-in record named by the
//! `__Host-vestibule_mfa` cookie, never on a session: nothing else is reachable from there.

use axum::extract::{Form, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::error::PageError;
use super::extract::{Authenticated, PageRequest, session_cookie};
use super::{page, redirect_query, see_other, shown};
use crate::auth::mfa::{self, Policy, Proof, Shown};
use crate::auth::{AuthError, Factor, Reason, SignedIn, sessions};
use crate::http::cookies;
use crate::http::state::AppState;
use crate::i18n::{Translator, args};
use crate::store::{MfaPending, PendingPurpose, User};

/// The challenge and step-up forms.
#[derive(Debug, Default, Deserialize)]
pub struct FactorForm {
    /// `totp`, `backup` or (step-up without a second factor) `password`.
    #[serde(default)]
    kind: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    backup_code: String,
    #[serde(default)]
    password: String,
    /// Trust this device (`1`).
    #[serde(default)]
    remember: Option<String>,
    #[serde(default)]
    redirect_url: Option<String>,
}

impl FactorForm {
    fn proof(&self) -> Option<Proof<'_>> {
        match self.kind.as_str() {
            "totp" => Some(Proof::Totp(&self.code)),
            "backup" => Some(Proof::BackupCode(&self.backup_code)),
            _ => None,
        }
    }
}

/// The enrolment form.
#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// `?redirect_url=` of step-up.
#[derive(Debug, Default, Deserialize)]
pub struct StepUpQuery {
    #[serde(default)]
    redirect_url: Option<String>,
}

fn days(ms: i64) -> i64 {
    (ms + 86_399_999) / 86_400_000
}

/// "3 days" or "5 hours": how long is left to postpone, in the locale of `words`.
fn left(words: &Translator, ms: i64) -> String {
    let hours = (ms + 3_599_999) / 3_600_000;
    if hours > 48 {
        words.get("time.days", &args([("count", &days(ms))]))
    } else {
        words.get("time.hours", &args([("count", &hours)]))
    }
}

/// The half-signed-in record of this browser made for `purpose`, or the sign-in page to start
/// again from.
async fn pending(
    state: &AppState,
    request: &PageRequest,
    purpose: PendingPurpose,
) -> Result<Result<(MfaPending, User), Response>, PageError> {
    let ctx = request.ctx(state);
    let token = cookies::get(&request.headers, cookies::MFA_PENDING);
    match mfa::pending_of(&ctx, token, purpose).await? {
        Some(found) => Ok(Ok(found)),
        None => Ok(Err(see_other(
            "/sign-in",
            &[cookies::clear(cookies::MFA_PENDING)],
        ))),
    }
}

#[allow(clippy::too_many_arguments)]
async fn challenge_page(
    state: &AppState,
    request: &PageRequest,
    user: &User,
    action: &str,
    redirect_url: &str,
    cancel: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let ctx = request.ctx(state);
    let (policy, factors) = mfa::usable_factors(&ctx, user).await?;
    let signing_in = action == "/sign-in/factor";
    let password_form = !signing_in && !factors.any();
    let title = if signing_in {
        "mfa.challenge.title"
    } else {
        "mfa.challenge.stepUpTitle"
    };
    let subtitle = if password_form {
        "mfa.challenge.password"
    } else if factors.passkeys > 0 {
        "mfa.challenge.passkeyOrCode"
    } else if factors.totp_since.is_some() {
        "mfa.challenge.totp"
    } else {
        "mfa.challenge.backup"
    };
    page(
        status,
        "mfa_challenge.html",
        &request.active,
        &request.csrf,
        title,
        context! {
            subtitle => subtitle,
            error => error,
            action => action,
            redirect_url => redirect_url,
            has_totp => factors.totp_since.is_some(),
            has_backup => factors.backup_codes_left > 0,
            has_passkey => !password_form && factors.passkeys > 0,
            webauthn => !password_form && factors.passkeys > 0,
            passkey_action => if signing_in { "/sign-in/factor/passkey" } else { "/account/step-up/passkey" },
            password_form => password_form,
            remember_days => if signing_in { policy.remember_device_ms.map(days) } else { None },
            cancel_href => cancel,
        },
    )
}

/// `GET /sign-in/factor`: the second-factor challenge.
pub async fn challenge_get(
    State(state): State<AppState>,
    request: PageRequest,
) -> Result<Response, PageError> {
    let (_, user) = match pending(&state, &request, PendingPurpose::Challenge).await? {
        Ok(found) => found,
        Err(back) => return Ok(back),
    };
    challenge_page(
        &state,
        &request,
        &user,
        "/sign-in/factor",
        "",
        "/sign-in",
        StatusCode::OK,
        None,
    )
    .await
}

/// `POST /sign-in/factor`: checks the second factor, then uses up the half-signed-in record and
/// starts the session (with the first factors and this one).
pub async fn challenge_submit(
    State(state): State<AppState>,
    request: PageRequest,
    Form(form): Form<FactorForm>,
) -> Result<Response, PageError> {
    let (_, user) = match pending(&state, &request, PendingPurpose::Challenge).await? {
        Ok(found) => found,
        Err(back) => return Ok(back),
    };
    let ctx = request.ctx(&state);
    let result = match form.proof() {
        Some(proof) => mfa::verify(&ctx, &user, proof).await,
        None => Err(Reason::FactorUnavailable.into()),
    };
    let shown_factor = match result {
        Ok(shown_factor) => shown_factor,
        Err(e) => {
            let (message, status) = shown(e, &request.csrf.words)?;
            return challenge_page(
                &state,
                &request,
                &user,
                "/sign-in/factor",
                "",
                "/sign-in",
                status,
                Some(&message),
            )
            .await;
        }
    };
    let token = cookies::get(&request.headers, cookies::MFA_PENDING).unwrap_or_default();
    let done = mfa::finish_pending(&ctx, token).await?;
    let mut extra = vec![cookies::clear(cookies::MFA_PENDING)];
    if form.remember.as_deref() == Some("1")
        && let Some((value, max_age)) = mfa::remember_device(&ctx, &user).await?
    {
        extra.push(cookies::set(
            cookies::REMEMBERED_DEVICE,
            &value,
            Some(max_age),
        ));
    }
    finish(&state, &request, &user, &done, shown_factor, extra).await
}

/// Starts the session of a finished second-factor step. After a backup code the user sees how
/// many are left before going on.
async fn finish(
    state: &AppState,
    request: &PageRequest,
    user: &User,
    done: &MfaPending,
    shown_factor: Shown,
    extra: Vec<HeaderValue>,
) -> Result<Response, PageError> {
    let mut factors = mfa::first_factors(done);
    factors.push(shown_factor.factor);
    let response = request
        .start_session(
            state,
            user,
            done.identity_id.as_deref(),
            &factors,
            &done.return_to,
            &extra,
        )
        .await?;
    let Some(left) = shown_factor.backup_codes_left else {
        return Ok(response);
    };
    let target = crate::auth::redirect::resolve(&request.active, Some(&done.return_to));
    let notice = page(
        StatusCode::OK,
        "notice.html",
        &request.active,
        &request.csrf,
        "mfa.backupUsed.title",
        context! {
            subtitle => request.csrf.words.get("mfa.backupUsed.subtitle", &args([("count", &left)])),
            link => context! { href => target, text => "common.continue" },
        },
    )?;
    Ok(super::keep_cookies(notice, &response))
}

async fn enrol_page(
    state: &AppState,
    request: &PageRequest,
    user: &User,
    enrolment: &mfa::totp::Enrolment,
    forced: Option<Option<i64>>,
    status: StatusCode,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let now = state.auth.clock.now();
    let (action, cancel, postpone) = match forced {
        Some(postpone_until) => (
            "/sign-in/enrol",
            "/sign-in",
            postpone_until.map(|until| left(&request.csrf.words, until - now)),
        ),
        None => ("/account/mfa/totp/confirm", "/account#mfa", None),
    };
    let words = &request.csrf.words;
    let subtitle = if forced.is_some() {
        words.get(
            "mfa.enrol.required",
            &args([("product", &request.active.product_name())]),
        )
    } else {
        words.get("mfa.enrol.subtitle", &[])
    };
    let _ = user;
    page(
        status,
        "mfa_enrol.html",
        &request.active,
        &request.csrf,
        "mfa.enrol.title",
        context! {
            subtitle => subtitle,
            error => error,
            secret => &enrolment.secret_base32,
            qr => &enrolment.qr_data_url,
            action => action,
            postpone_action => postpone.as_ref().map(|_| "/sign-in/enrol/postpone"),
            postpone_left => postpone,
            cancel_href => cancel,
        },
    )
}

/// The enrolment being shown: the unfinished one, or a new one.
async fn current_enrolment(
    state: &AppState,
    request: &PageRequest,
    user: &User,
) -> Result<mfa::totp::Enrolment, AuthError> {
    let ctx = request.ctx(state);
    match mfa::unfinished_totp(&ctx, user).await? {
        Some(enrolment) => Ok(enrolment),
        None => mfa::begin_totp(&ctx, user).await,
    }
}

/// When the grace period of a required enrolment ends for `user`, while it still runs.
async fn postpone_until(
    state: &AppState,
    request: &PageRequest,
    user: &User,
) -> Result<Option<i64>, PageError> {
    let ctx = request.ctx(state);
    let policy = Policy::for_user(&ctx.active.config, &user.email);
    let since = state.auth.store.factors(&user.id).await?.required_since;
    Ok(since
        .map(|s| s.saturating_add(policy.grace_ms))
        .filter(|deadline| ctx.now < *deadline))
}

/// `GET /sign-in/enrol`: the enrolment a policy requires before the first session.
pub async fn enrol_get(
    State(state): State<AppState>,
    request: PageRequest,
) -> Result<Response, PageError> {
    let (_, user) = match pending(&state, &request, PendingPurpose::Enrol).await? {
        Ok(found) => found,
        Err(back) => return Ok(back),
    };
    let enrolment = match current_enrolment(&state, &request, &user).await {
        Ok(enrolment) => enrolment,
        Err(e) => {
            return Err(shown(e, &request.csrf.words)
                .err()
                .unwrap_or(PageError::NotFound));
        }
    };
    let postpone = postpone_until(&state, &request, &user).await?;
    enrol_page(
        &state,
        &request,
        &user,
        &enrolment,
        Some(postpone),
        StatusCode::OK,
        None,
    )
    .await
}

/// `POST /sign-in/enrol`: confirms the app with a first code, then signs in (first factors plus
/// TOTP) and shows the first backup codes.
pub async fn enrol_submit(
    State(state): State<AppState>,
    request: PageRequest,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let (_, user) = match pending(&state, &request, PendingPurpose::Enrol).await? {
        Ok(found) => found,
        Err(back) => return Ok(back),
    };
    let ctx = request.ctx(&state);
    let codes = match mfa::confirm_totp(&ctx, &user, &form.code).await {
        Ok(codes) => codes,
        Err(e) => {
            let (message, status) = shown(e, &request.csrf.words)?;
            let enrolment = current_enrolment(&state, &request, &user)
                .await
                .map_err(|e| {
                    shown(e, &request.csrf.words)
                        .err()
                        .unwrap_or(PageError::NotFound)
                })?;
            let postpone = postpone_until(&state, &request, &user).await?;
            return enrol_page(
                &state,
                &request,
                &user,
                &enrolment,
                Some(postpone),
                status,
                Some(&message),
            )
            .await;
        }
    };
    let token = cookies::get(&request.headers, cookies::MFA_PENDING).unwrap_or_default();
    let done = mfa::finish_pending(&ctx, token).await?;
    let mut factors = mfa::first_factors(&done);
    factors.push(Factor::Totp);
    let response = request
        .start_session(
            &state,
            &user,
            done.identity_id.as_deref(),
            &factors,
            &done.return_to,
            &[cookies::clear(cookies::MFA_PENDING)],
        )
        .await?;
    with_codes(&request, response, &codes, &done.return_to)
}

/// `POST /sign-in/enrol/postpone`: signs in without a second factor while the grace period runs.
pub async fn enrol_postpone(
    State(state): State<AppState>,
    request: PageRequest,
) -> Result<Response, PageError> {
    let (_, user) = match pending(&state, &request, PendingPurpose::Enrol).await? {
        Ok(found) => found,
        Err(back) => return Ok(back),
    };
    if postpone_until(&state, &request, &user).await?.is_none() {
        return Ok(see_other("/sign-in/enrol", &[]));
    }
    let ctx = request.ctx(&state);
    let token = cookies::get(&request.headers, cookies::MFA_PENDING).unwrap_or_default();
    let done = mfa::finish_pending(&ctx, token).await?;
    state.auth.store.drop_unfinished_totp(&user.id).await?;
    tracing::info!(user = %user.id, "MFA enrolment postponed within the grace period");
    request
        .start_session(
            &state,
            &user,
            done.identity_id.as_deref(),
            &mfa::first_factors(&done),
            &done.return_to,
            &[cookies::clear(cookies::MFA_PENDING)],
        )
        .await
}

/// The backup-codes page over `response` (keeping its cookies), or `response` itself when there
/// are no codes to show.
fn with_codes(
    request: &PageRequest,
    response: Response,
    codes: &[String],
    return_to: &str,
) -> Result<Response, PageError> {
    if codes.is_empty() {
        return Ok(response);
    }
    let target = crate::auth::redirect::resolve(&request.active, Some(return_to));
    Ok(super::keep_cookies(
        codes_page(request, codes, &target)?,
        &response,
    ))
}

fn codes_page(
    request: &PageRequest,
    codes: &[String],
    continue_href: &str,
) -> Result<Response, PageError> {
    let words = &request.csrf.words;
    let text = format!(
        "{}\n\n{}\n",
        words.get(
            "mfa.backupCodes.fileTitle",
            &args([("product", &request.active.product_name())])
        ),
        codes.join("\n")
    );
    let download: String = url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    page(
        StatusCode::OK,
        "mfa_backup_codes.html",
        &request.active,
        &request.csrf,
        "mfa.backupCodes.title",
        context! {
            subtitle => "mfa.backupCodes.subtitle",
            codes => codes.to_vec(),
            download => format!("data:text/plain;charset=utf-8,{download}"),
            continue_href => continue_href,
        },
    )
}

/// Where step-up sends a stale session before a sensitive action, or `None` when the session
/// is fresh enough (SECURITY 41).
pub async fn step_up_needed(
    state: &AppState,
    request: &PageRequest,
    who: &SignedIn,
    back: &str,
) -> Result<Option<Response>, PageError> {
    if mfa::is_fresh(&request.ctx(state), who).await? {
        return Ok(None);
    }
    Ok(Some(see_other(
        &format!("/account/step-up{}", redirect_query(back)),
        &[],
    )))
}

/// `GET /account/step-up`: asks for a second factor (or, without one, the password).
pub async fn step_up_get(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Query(q): Query<StepUpQuery>,
) -> Result<Response, PageError> {
    let back = crate::auth::redirect::kept(&request.active, q.redirect_url.as_deref());
    challenge_page(
        &state,
        &request,
        &who.user,
        "/account/step-up",
        &back,
        "/account",
        StatusCode::OK,
        None,
    )
    .await
}

/// `POST /account/step-up`: checks the factor, then replaces the session with a new one (new
/// id, SECURITY 34) that records it, and goes back.
pub async fn step_up_submit(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Form(form): Form<FactorForm>,
) -> Result<Response, PageError> {
    let back = crate::auth::redirect::kept(&request.active, form.redirect_url.as_deref());
    let ctx = request.ctx(&state);
    let needs_second = mfa::step_up_needs_second_factor(&ctx, &who.user).await?;
    let result = match (form.proof(), needs_second) {
        (Some(proof), true) => mfa::verify(&ctx, &who.user, proof).await.map(|s| s.factor),
        (None, false) if form.kind == "password" => {
            mfa::verify_password(&ctx, &who.user, &form.password).await
        }
        _ => Err(Reason::FactorUnavailable.into()),
    };
    let factor = match result {
        Ok(factor) => factor,
        Err(e) => {
            let (message, status) = shown(e, &request.csrf.words)?;
            return challenge_page(
                &state,
                &request,
                &who.user,
                "/account/step-up",
                &back,
                "/account",
                status,
                Some(&message),
            )
            .await;
        }
    };
    let issued = sessions::renew_with(&ctx, &who, factor).await?;
    let target = crate::auth::redirect::resolve(&request.active, Some(&back));
    Ok(see_other(&target, &[session_cookie(&issued)]))
}

/// `POST /account/mfa/totp/start`: a new authenticator-app enrolment (after step-up).
pub async fn totp_start(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
) -> Result<Response, PageError> {
    if let Some(step_up) = step_up_needed(&state, &request, &who, "/account#mfa").await? {
        return Ok(step_up);
    }
    match current_enrolment(&state, &request, &who.user).await {
        Ok(enrolment) => {
            enrol_page(
                &state,
                &request,
                &who.user,
                &enrolment,
                None,
                StatusCode::OK,
                None,
            )
            .await
        }
        Err(e) => {
            shown(e, &request.csrf.words)?;
            Ok(see_other("/account?notice=mfa-unavailable#mfa", &[]))
        }
    }
}

/// `POST /account/mfa/totp/confirm`: confirms the app with its first code; the session is
/// renewed with the factor just shown, and the first backup codes are shown once.
pub async fn totp_confirm(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    // As at the start: a stale session neither sees the secret again nor confirms it.
    if let Some(step_up) = step_up_needed(&state, &request, &who, "/account#mfa").await? {
        return Ok(step_up);
    }
    let ctx = request.ctx(&state);
    let codes = match mfa::confirm_totp(&ctx, &who.user, &form.code).await {
        Ok(codes) => codes,
        Err(e) => {
            let (message, status) = shown(e, &request.csrf.words)?;
            let enrolment = match mfa::unfinished_totp(&ctx, &who.user).await? {
                Some(enrolment) => enrolment,
                None => return Ok(see_other("/account#mfa", &[])),
            };
            return enrol_page(
                &state,
                &request,
                &who.user,
                &enrolment,
                None,
                status,
                Some(&message),
            )
            .await;
        }
    };
    let issued = sessions::renew_with(&ctx, &who, Factor::Totp).await?;
    let response = see_other(
        "/account?notice=mfa-enabled#mfa",
        &[session_cookie(&issued)],
    );
    with_codes(&request, response, &codes, "/account#mfa")
}

/// `POST /account/mfa/totp/remove`: removes the app and its backup codes (after step-up).
pub async fn totp_remove(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
) -> Result<Response, PageError> {
    if let Some(step_up) = step_up_needed(&state, &request, &who, "/account#mfa").await? {
        return Ok(step_up);
    }
    mfa::remove_totp(&request.ctx(&state), &who.user).await?;
    Ok(see_other("/account?notice=mfa-removed#mfa", &[]))
}

/// `POST /account/mfa/backup-codes`: a new set of backup codes, shown once (after step-up).
pub async fn backup_codes_regenerate(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
) -> Result<Response, PageError> {
    if let Some(step_up) = step_up_needed(&state, &request, &who, "/account#mfa").await? {
        return Ok(step_up);
    }
    match mfa::regenerate_backup_codes(&request.ctx(&state), &who.user).await {
        Ok(codes) => codes_page(&request, &codes, "/account#mfa"),
        Err(e) => {
            shown(e, &request.csrf.words)?;
            Ok(see_other("/account?notice=mfa-unavailable#mfa", &[]))
        }
    }
}
