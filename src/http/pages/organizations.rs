//! `/organizations`: the user's organizations and the switcher, creating one, joining a
//! suggested one; `/organizations/{slug}`: its members, invitations, roles, leaving;
//! `/invitations/accept`: accepting an invitation.
//!
//! Handlers hold no rules: every check is in [`crate::auth::organizations`], which starts from
//! the acting user's membership. A slug the user is not a member of answers 404 like one that
//! does not exist; a refused change answers 403 or 422 with the page and its reason.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::account::{NoticeQuery, ago};
use super::error::PageError;
use super::extract::{Authenticated, PageRequest};
use super::{page, redirect_query, see_other};
use crate::auth::organizations::{self as orgs, Standing};
use crate::auth::{AuthError, Reason, SignedIn, redirect};
use crate::config::runtime::{INVITATIONS_MANAGE, MEMBERS_MANAGE, SETTINGS_MANAGE};
use crate::http::state::AppState;

/// Create form.
#[derive(Debug, Default, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    /// Where to go once it exists (an application waiting for an organization).
    #[serde(default)]
    redirect_url: Option<String>,
}

/// Switch and join forms: an organization id (empty: no active organization).
#[derive(Debug, Default, Deserialize)]
pub struct OrganizationForm {
    #[serde(default)]
    organization_id: String,
    /// Where to go afterwards (the picker an application sent the user to).
    #[serde(default)]
    redirect_url: Option<String>,
}

/// `GET /organizations?notice=&redirect_url=`: with `redirect_url`, the page is the picker an
/// Application that requires an organization sends its users to.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    notice: String,
    #[serde(default)]
    redirect_url: Option<String>,
}

/// Invite form.
#[derive(Debug, Default, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

/// Role-change and remove forms: which member (and the new role).
#[derive(Debug, Default, Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    role: String,
}

/// Settings form.
#[derive(Debug, Default, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    name: String,
}

/// Invitation-revoke form.
#[derive(Debug, Default, Deserialize)]
pub struct RevokeInvitationForm {
    #[serde(default)]
    invitation_id: String,
}

/// An invitation's token, from the mailed link or the accept form.
#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    token: String,
}

fn notice_text(key: &str) -> Option<&'static str> {
    match key {
        "created" => Some("organizations.notice.created"),
        "switched" => Some("organizations.notice.switched"),
        "joined" => Some("organizations.notice.joined"),
        "left" => Some("organizations.notice.left"),
        "invited" => Some("organization.notice.invited"),
        "revoked" => Some("organization.notice.revoked"),
        "role-changed" => Some("organization.notice.roleChanged"),
        "removed" => Some("organization.notice.removed"),
        "renamed" => Some("organization.notice.renamed"),
        _ => None,
    }
}

/// The status a refusal is shown with: not a member (or no such organization) is 404, a
/// permission the role lacks 403, anything else the user can fix 422.
fn refusal(error: AuthError, request: &PageRequest) -> Result<(String, StatusCode), PageError> {
    let status = match &error {
        AuthError::Rejected(Reason::OrganizationNotFound) => return Err(PageError::NotFound),
        AuthError::Rejected(Reason::NotPermitted | Reason::RoleAboveYours | Reason::OwnRole) => {
            Some(StatusCode::FORBIDDEN)
        }
        _ => None,
    };
    let (message, shown) = super::shown(error, &request.csrf.words)?;
    Ok((message, status.unwrap_or(shown)))
}

struct Shown<'a> {
    status: StatusCode,
    error: Option<&'a str>,
    notice: Option<&'a str>,
}

impl Shown<'_> {
    const OK: Shown<'static> = Shown {
        status: StatusCode::OK,
        error: None,
        notice: None,
    };
}

async fn list_page(
    state: &AppState,
    request: &PageRequest,
    who: &SignedIn,
    shown: Shown<'_>,
    form: &CreateForm,
) -> Result<Response, PageError> {
    let ctx = request.ctx(state);
    let config = &request.active.config.organizations;
    if !config.enabled {
        return Err(PageError::NotFound);
    }
    let redirect_url = redirect::kept(&request.active, form.redirect_url.as_deref());
    let active_id = who.session.organization_id.as_deref();
    let mine = orgs::of_user(&ctx, &who.user.id).await?;
    let organizations: Vec<_> = mine
        .iter()
        .map(|s| {
            context! {
                id => &s.organization.id,
                slug => &s.organization.slug,
                name => &s.organization.name,
                role => &s.membership.role,
                active => Some(s.organization.id.as_str()) == active_id,
            }
        })
        .collect();
    let suggestion = orgs::suggestion(&ctx, &who.user)
        .await?
        .map(|o| context! { id => o.id, name => o.name });
    page(
        shown.status,
        "organizations.html",
        &request.active,
        &request.csrf,
        "organizations.title",
        context! {
            organizations => organizations,
            active => active_id.is_some() && mine.iter().any(|s| Some(s.organization.id.as_str()) == active_id),
            suggestion => suggestion,
            can_create => config.allow_user_created,
            picking => !redirect_url.is_empty(),
            redirect_url => &redirect_url,
            name => &form.name,
            slug => &form.slug,
            error => shown.error,
            notice => shown.notice,
        },
    )
}

/// `GET /organizations`
pub async fn list(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let shown = Shown {
        notice: notice_text(&q.notice),
        ..Shown::OK
    };
    let form = CreateForm {
        redirect_url: q.redirect_url,
        ..CreateForm::default()
    };
    list_page(&state, &request, &who, shown, &form).await
}

/// After a switch, join or create: back where the picker was opened from, else `fallback`.
fn onward(request: &PageRequest, redirect_url: Option<&str>, fallback: &str) -> Response {
    let back = redirect::kept(&request.active, redirect_url);
    see_other(if back.is_empty() { fallback } else { &back }, &[])
}

/// `POST /organizations`: creates one; the creator works in it at once.
pub async fn create(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Form(form): Form<CreateForm>,
) -> Result<Response, PageError> {
    let ctx = request.ctx(&state);
    match orgs::create(&ctx, &who.user, &form.name, &form.slug).await {
        Ok(organization) => {
            orgs::switch(&ctx, &who.user.id, &who.session.id, Some(&organization.id)).await?;
            Ok(onward(
                &request,
                form.redirect_url.as_deref(),
                &format!("/organizations/{}?notice=created", organization.slug),
            ))
        }
        Err(e) => {
            let (message, status) = refusal(e, &request)?;
            let shown = Shown {
                status,
                error: Some(&message),
                notice: None,
            };
            list_page(&state, &request, &who, shown, &form).await
        }
    }
}

/// `POST /organizations/switch`: the session's active organization (empty: none).
pub async fn switch(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Form(form): Form<OrganizationForm>,
) -> Result<Response, PageError> {
    let ctx = request.ctx(&state);
    let wanted = Some(form.organization_id.as_str()).filter(|id| !id.is_empty());
    match orgs::switch(&ctx, &who.user.id, &who.session.id, wanted).await {
        Ok(_) => Ok(onward(
            &request,
            form.redirect_url.as_deref(),
            "/organizations?notice=switched",
        )),
        Err(e) => Err(refusal(e, &request).map(|(m, _)| PageError::BadRequest(m))?),
    }
}

/// `POST /organizations/join`: joins the organization suggested by the user's domain.
pub async fn join(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Form(form): Form<OrganizationForm>,
) -> Result<Response, PageError> {
    let ctx = request.ctx(&state);
    match orgs::join_suggested(&ctx, &who.user, &form.organization_id).await {
        Ok(organization) => {
            orgs::switch(&ctx, &who.user.id, &who.session.id, Some(&organization.id)).await?;
            Ok(onward(
                &request,
                form.redirect_url.as_deref(),
                "/organizations?notice=joined",
            ))
        }
        Err(e) => Err(refusal(e, &request).map(|(m, _)| PageError::BadRequest(m))?),
    }
}

async fn organization_page(
    state: &AppState,
    request: &PageRequest,
    me: &Standing,
    shown: Shown<'_>,
) -> Result<Response, PageError> {
    let store = &state.auth.store;
    let now = state.auth.clock.now();
    let words = &request.csrf.words;
    let config = &request.active.config.organizations;
    let manage = me.may(MEMBERS_MANAGE);
    let roles = orgs::roles(config, &me.organization);
    // Only roles the viewer could hand out are offered (the flow checks again).
    let assignable: Vec<String> = roles
        .iter()
        .filter(|(_, permissions)| permissions.iter().all(|p| me.may(p)))
        .map(|(name, _)| name.clone())
        .collect();
    let mut members = Vec::new();
    for m in store.members(&me.organization.id).await? {
        let email = store
            .user_by_id(&m.user_id)
            .await?
            .map(|u| u.email)
            .unwrap_or_default();
        let above = roles
            .get(&m.role)
            .is_some_and(|permissions| !permissions.iter().all(|p| me.may(p)));
        let you = m.user_id == me.membership.user_id;
        members.push(context! {
            user_id => &m.user_id,
            email => email,
            role => &m.role,
            you => you,
            manageable => manage && !you && !above,
        });
    }
    let invitations: Vec<_> = if me.may(INVITATIONS_MANAGE) {
        store
            .pending_invitations(&me.organization.id, now)
            .await?
            .into_iter()
            .map(|i| {
                context! {
                    id => i.id,
                    email => i.email,
                    role => i.role,
                    since => ago(words, now, i.created_at),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    page(
        shown.status,
        "organization.html",
        &request.active,
        &request.csrf,
        &me.organization.name,
        context! {
            slug => &me.organization.slug,
            role => &me.membership.role,
            members => members,
            assignable => assignable,
            default_role => &config.default_role,
            can_invite => me.may(INVITATIONS_MANAGE),
            can_rename => me.may(SETTINGS_MANAGE) && !me.organization.managed,
            name => &me.organization.name,
            invitations => invitations,
            error => shown.error,
            notice => shown.notice,
        },
    )
}

/// `GET /organizations/{slug}`
pub async fn show(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Path(slug): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let ctx = request.ctx(&state);
    let me = match orgs::standing_by_slug(&ctx, &who.user.id, &slug).await {
        Ok(me) => me,
        Err(e) => return Err(refusal(e, &request).map(|(m, _)| PageError::BadRequest(m))?),
    };
    let shown = Shown {
        notice: notice_text(q.key()),
        ..Shown::OK
    };
    organization_page(&state, &request, &me, shown).await
}

/// Where a change on an organization's page goes once done.
enum Then {
    /// The organization's page, with this notice.
    Page(&'static str),
    /// The list of organizations, with this notice (after leaving it).
    List(&'static str),
}

/// Runs `change` as the signed-in member of `slug`, then on as `then` says, or back to the
/// organization's page with the reason.
async fn as_member<F>(
    state: &AppState,
    request: &PageRequest,
    who: &SignedIn,
    slug: &str,
    then: Then,
    change: F,
) -> Result<Response, PageError>
where
    F: AsyncFnOnce(&crate::auth::Ctx<'_>, &Standing) -> Result<(), AuthError>,
{
    let ctx = request.ctx(state);
    let me = match orgs::standing_by_slug(&ctx, &who.user.id, slug).await {
        Ok(me) => me,
        Err(e) => return Err(refusal(e, request).map(|(m, _)| PageError::BadRequest(m))?),
    };
    match change(&ctx, &me).await {
        Ok(()) => Ok(see_other(
            &match then {
                Then::Page(notice) => {
                    format!("/organizations/{}?notice={notice}", me.organization.slug)
                }
                Then::List(notice) => format!("/organizations?notice={notice}"),
            },
            &[],
        )),
        Err(e) => {
            let (message, status) = refusal(e, request)?;
            let shown = Shown {
                status,
                error: Some(&message),
                notice: None,
            };
            organization_page(state, request, &me, shown).await
        }
    }
}

/// `POST /organizations/{slug}/invitations`
pub async fn invite(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Path(slug): Path<String>,
    Form(form): Form<InviteForm>,
) -> Result<Response, PageError> {
    as_member(
        &state,
        &request,
        &who,
        &slug,
        Then::Page("invited"),
        async |ctx, me| {
            orgs::invite(ctx, me, &form.email, &form.role)
                .await
                .map(|_| ())
        },
    )
    .await
}

/// `POST /organizations/{slug}/invitations/revoke`
pub async fn revoke_invitation(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Path(slug): Path<String>,
    Form(form): Form<RevokeInvitationForm>,
) -> Result<Response, PageError> {
    as_member(
        &state,
        &request,
        &who,
        &slug,
        Then::Page("revoked"),
        async |ctx, me| orgs::revoke_invitation(ctx, me, &form.invitation_id).await,
    )
    .await
}

/// `POST /organizations/{slug}/members/role`
pub async fn change_role(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Path(slug): Path<String>,
    Form(form): Form<MemberForm>,
) -> Result<Response, PageError> {
    as_member(
        &state,
        &request,
        &who,
        &slug,
        Then::Page("role-changed"),
        async |ctx, me| orgs::change_role(ctx, me, &form.user_id, &form.role).await,
    )
    .await
}

/// `POST /organizations/{slug}/members/remove`
pub async fn remove_member(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Path(slug): Path<String>,
    Form(form): Form<MemberForm>,
) -> Result<Response, PageError> {
    as_member(
        &state,
        &request,
        &who,
        &slug,
        Then::Page("removed"),
        async |ctx, me| orgs::remove_member(ctx, me, &form.user_id).await,
    )
    .await
}

/// `POST /organizations/{slug}/settings`
pub async fn settings(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Path(slug): Path<String>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, PageError> {
    as_member(
        &state,
        &request,
        &who,
        &slug,
        Then::Page("renamed"),
        async |ctx, me| orgs::rename(ctx, me, &form.name).await,
    )
    .await
}

/// `POST /organizations/{slug}/leave`
pub async fn leave(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    as_member(
        &state,
        &request,
        &who,
        &slug,
        Then::List("left"),
        async |ctx, me| orgs::leave(ctx, me).await,
    )
    .await
}

/// `GET /invitations/accept?token=`: the invitation, and a button to accept it (signed in) or
/// the way to sign up or in first and come back.
pub async fn accept_page(
    State(state): State<AppState>,
    request: PageRequest,
    Query(q): Query<TokenForm>,
) -> Result<Response, PageError> {
    let ctx = request.ctx(&state);
    let signed_in = request.session(&state).await?;
    let (status, error, invitation) = match orgs::invitation(&ctx, &q.token).await {
        Ok((invitation, organization)) => (
            StatusCode::OK,
            None,
            Some(context! {
                organization => organization.name,
                role => invitation.role,
                email => invitation.email,
            }),
        ),
        Err(e) => {
            let (message, status) = refusal(e, &request)?;
            (status, Some(message), None)
        }
    };
    let back = redirect_query(&format!(
        "/invitations/accept?token={}",
        url::form_urlencoded::byte_serialize(q.token.as_bytes()).collect::<String>()
    ));
    page(
        status,
        "invitation.html",
        &request.active,
        &request.csrf,
        "invitation.title",
        context! {
            invitation => invitation,
            signed_in => signed_in.is_some(),
            token => &q.token,
            back => back,
            error => error,
        },
    )
}

/// `POST /invitations/accept`: joins, and works in the organization from now on.
pub async fn accept(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    let ctx = request.ctx(&state);
    match orgs::accept(&ctx, &who.user, &form.token).await {
        Ok(organization) => {
            orgs::switch(&ctx, &who.user.id, &who.session.id, Some(&organization.id)).await?;
            Ok(see_other(
                &format!("/organizations/{}?notice=joined", organization.slug),
                &[],
            ))
        }
        Err(e) => {
            let (message, status) = refusal(e, &request)?;
            page(
                status,
                "invitation.html",
                &request.active,
                &request.csrf,
                "invitation.title",
                context! { error => message },
            )
        }
    }
}
