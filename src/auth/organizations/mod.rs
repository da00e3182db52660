//! Organizations at runtime: what a member may do (their role's permissions, from the
//! Vestibule's roles and a declared organization's own), creating one, the active organization
//! of a session, invitations, member management and joining by verified domain.
//!
//! Every check starts from the acting user's membership, read from the store on each request,
//! never from anything a form says (SECURITY 60–62): an organization the user is not a member of
//! looks the same as one that does not exist, a role change applies to the next request, and a
//! role can only be given by someone who holds all of its permissions.

mod sync;

use std::collections::BTreeMap;

pub use sync::{SyncReport, spawn_sync, sync_declared};

use crate::auth::{AuthError, Ctx, Reason, link, normalize_email, product, send};
use crate::config::runtime::{
    INVITATIONS_MANAGE, MEMBERS_MANAGE, OrganizationsConfig, SETTINGS_MANAGE,
};
use crate::crypto;
use crate::email::messages;
use crate::store::{
    Invitation, MemberChange, Membership, NewInvitation, NewOrganization, Organization, User,
};

/// How long an invitation can be accepted.
pub const INVITATION_DAYS: u32 = 7;
const INVITATION_TTL_MS: i64 = INVITATION_DAYS as i64 * 24 * 3600 * 1000;

/// A user's place in an organization, as of this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// The organization.
    pub organization: Organization,
    /// The membership.
    pub membership: Membership,
    /// What the membership's role allows, sorted.
    pub permissions: Vec<String>,
}

impl Standing {
    /// Whether the member's role grants `permission`.
    pub fn may(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }
}

/// The organization claims of a token or of `GET /session`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationClaims {
    /// `org_id`.
    pub id: String,
    /// `org_slug`.
    pub slug: String,
    /// `org_role`.
    pub role: String,
    /// `org_permissions`.
    pub permissions: Vec<String>,
}

/// The roles of `organization`: the Vestibule's, and a declared organization's own.
pub fn roles(
    config: &OrganizationsConfig,
    organization: &Organization,
) -> BTreeMap<String, Vec<String>> {
    config.roles_of(organization.managed.then_some(organization.slug.as_str()))
}

fn standing_of(ctx: &Ctx<'_>, organization: Organization, membership: Membership) -> Standing {
    let permissions = roles(&ctx.active.config.organizations, &organization)
        .remove(&membership.role)
        .unwrap_or_default();
    Standing {
        organization,
        membership,
        permissions,
    }
}

fn enabled<'a>(ctx: &Ctx<'a>) -> Result<&'a OrganizationsConfig, AuthError> {
    let config = &ctx.active.config.organizations;
    if config.enabled {
        Ok(config)
    } else {
        Err(Reason::OrganizationsUnavailable.into())
    }
}

/// `user_id`'s standing in the organization with this id, if they are a member.
pub async fn standing(
    ctx: &Ctx<'_>,
    user_id: &str,
    organization_id: &str,
) -> Result<Option<Standing>, AuthError> {
    let store = &ctx.services.store;
    let Some(membership) = store.membership(organization_id, user_id).await? else {
        return Ok(None);
    };
    let Some(organization) = store.organization_by_id(organization_id).await? else {
        return Ok(None);
    };
    Ok(Some(standing_of(ctx, organization, membership)))
}

/// `user_id`'s standing in the organization with this slug; `NotFound` when there is no such
/// organization *or* they are not a member, so ids and slugs of other organizations reveal
/// nothing (SECURITY 60).
pub async fn standing_by_slug(
    ctx: &Ctx<'_>,
    user_id: &str,
    slug: &str,
) -> Result<Standing, AuthError> {
    enabled(ctx)?;
    let store = &ctx.services.store;
    let organization = store
        .organization_by_slug(slug)
        .await?
        .ok_or(Reason::OrganizationNotFound)?;
    let membership = store
        .membership(&organization.id, user_id)
        .await?
        .ok_or(Reason::OrganizationNotFound)?;
    Ok(standing_of(ctx, organization, membership))
}

/// The organizations `user_id` belongs to, with their standing, by slug.
pub async fn of_user(ctx: &Ctx<'_>, user_id: &str) -> Result<Vec<Standing>, AuthError> {
    Ok(ctx
        .services
        .store
        .organizations_of_user(user_id)
        .await?
        .into_iter()
        .map(|(o, m)| standing_of(ctx, o, m))
        .collect())
}

/// The claims for the session's or grant's active organization, while the user is still a
/// member (read now, so a role change shows in the next token: SECURITY 61).
pub async fn claims(
    ctx: &Ctx<'_>,
    user_id: &str,
    organization_id: Option<&str>,
) -> Result<Option<OrganizationClaims>, AuthError> {
    let Some(organization_id) = organization_id else {
        return Ok(None);
    };
    if !ctx.active.config.organizations.enabled {
        return Ok(None);
    }
    Ok(standing(ctx, user_id, organization_id)
        .await?
        .map(|s| OrganizationClaims {
            id: s.organization.id,
            slug: s.organization.slug,
            role: s.membership.role,
            permissions: s.permissions,
        }))
}

/// Paths under `/organizations/` that are not organizations.
const RESERVED_SLUGS: &[&str] = &["join", "switch"];

/// Whether `slug` may name a runtime organization: a DNS label (the form declared slugs take
/// too), not a reserved path, and not shaped like an organization id (`organization=` on the
/// authorize endpoint takes either, and a slug must never stand for another's id).
fn valid_slug(slug: &str) -> bool {
    let id_shaped = slug.len() == 32 && slug.bytes().all(|b| b.is_ascii_hexdigit());
    crate::config::is_dns_label(slug) && !RESERVED_SLUGS.contains(&slug) && !id_shaped
}

/// Creates an organization with `user` as its first member (the creator role).
pub async fn create(
    ctx: &Ctx<'_>,
    user: &User,
    name: &str,
    slug: &str,
) -> Result<Organization, AuthError> {
    let config = enabled(ctx)?;
    if !config.allow_user_created {
        return Err(Reason::OrganizationsUnavailable.into());
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 128 {
        return Err(Reason::InvalidOrganizationName.into());
    }
    let slug = slug.trim().to_ascii_lowercase();
    if !valid_slug(&slug) {
        return Err(Reason::InvalidSlug.into());
    }
    // Declared slugs stay free for the platform team's resources, even before they sync.
    if config.declared_by_slug(&slug).is_some() {
        return Err(Reason::SlugTaken.into());
    }
    let store = &ctx.services.store;
    let made = store.organizations_created_by(&user.id).await?;
    if made >= i64::from(config.max_created_per_user) {
        return Err(Reason::OrganizationLimit(config.max_created_per_user).into());
    }
    match store
        .create_organization(&NewOrganization {
            slug,
            name: name.to_owned(),
            managed: false,
            creator: Some((user.id.clone(), config.creator_role.clone())),
            now: ctx.now,
        })
        .await
    {
        Ok(organization) => Ok(organization),
        Err(crate::store::StoreError::SlugTaken) => Err(Reason::SlugTaken.into()),
        Err(e) => Err(e.into()),
    }
}

/// Makes the organization with this id (a membership of the user) the session's active one,
/// or none.
pub async fn switch(
    ctx: &Ctx<'_>,
    user_id: &str,
    session_id: &str,
    organization_id: Option<&str>,
) -> Result<Option<Standing>, AuthError> {
    let standing = match organization_id {
        Some(id) => {
            enabled(ctx)?;
            Some(
                standing(ctx, user_id, id)
                    .await?
                    .ok_or(Reason::OrganizationNotFound)?,
            )
        }
        None => None,
    };
    ctx.services
        .store
        .set_session_organization(session_id, organization_id)
        .await?;
    Ok(standing)
}

/// Renames `actor`'s organization (a runtime one: a declared one's name is in its resource).
pub async fn rename(ctx: &Ctx<'_>, actor: &Standing, name: &str) -> Result<(), AuthError> {
    if !actor.may(SETTINGS_MANAGE) {
        return Err(Reason::NotPermitted.into());
    }
    if actor.organization.managed {
        return Err(Reason::DeclaredAsCode.into());
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 128 {
        return Err(Reason::InvalidOrganizationName.into());
    }
    ctx.services
        .store
        .rename_organization(&actor.organization.id, name, ctx.now)
        .await?;
    Ok(())
}

/// Whether `actor` may hand out `role` in their organization: it must exist there, and its
/// permissions must all be the actor's own, so nobody makes anyone more than themselves
/// (SECURITY 62).
fn assignable(ctx: &Ctx<'_>, actor: &Standing, role: &str) -> Result<(), AuthError> {
    let roles = roles(&ctx.active.config.organizations, &actor.organization);
    let Some(permissions) = roles.get(role) else {
        return Err(Reason::UnknownRole.into());
    };
    if permissions.iter().all(|p| actor.may(p)) {
        Ok(())
    } else {
        Err(Reason::RoleAboveYours.into())
    }
}

/// Roles whose holders manage members: an organization always keeps one of them.
fn manager_roles(ctx: &Ctx<'_>, organization: &Organization) -> Vec<String> {
    roles(&ctx.active.config.organizations, organization)
        .into_iter()
        .filter(|(_, permissions)| permissions.iter().any(|p| p == MEMBERS_MANAGE))
        .map(|(name, _)| name)
        .collect()
}

/// Invites `email` into `actor`'s organization with `role` and mails them the link.
pub async fn invite(
    ctx: &Ctx<'_>,
    actor: &Standing,
    email: &str,
    role: &str,
) -> Result<Invitation, AuthError> {
    if !actor.may(INVITATIONS_MANAGE) {
        return Err(Reason::NotPermitted.into());
    }
    let email = normalize_email(email).ok_or(Reason::InvalidEmail)?;
    assignable(ctx, actor, role)?;
    // Each invitation is mail to an address of the inviter's choosing.
    crate::auth::limits::hit(
        ctx,
        &crate::auth::limits::INVITATIONS_PER_USER,
        &actor.membership.user_id,
    )
    .await?;
    let (invitation, token) = store_invitation(
        ctx,
        &actor.organization.id,
        &email,
        role,
        Some(&actor.membership.user_id),
    )
    .await?;
    mail_invitation(ctx, &actor.organization, &email, &token).await;
    Ok(invitation)
}

/// Stores an invitation and returns it with the token to mail (never stored).
pub(crate) async fn store_invitation(
    ctx: &Ctx<'_>,
    organization_id: &str,
    email: &str,
    role: &str,
    invited_by: Option<&str>,
) -> Result<(Invitation, String), AuthError> {
    let token = crypto::random_token();
    let invitation = ctx
        .services
        .store
        .create_invitation(&NewInvitation {
            organization_id: organization_id.to_owned(),
            email: email.to_owned(),
            role: role.to_owned(),
            token_hash: crypto::token_hash(&token),
            invited_by: invited_by.map(str::to_owned),
            now: ctx.now,
            expires_at: ctx.now.saturating_add(INVITATION_TTL_MS),
        })
        .await?;
    Ok((invitation, token))
}

/// Mails the invitation link (in the theme of the organization, in the request's language).
pub(crate) async fn mail_invitation(
    ctx: &Ctx<'_>,
    organization: &Organization,
    email: &str,
    token: &str,
) {
    // A GET shows the invitation; only the page's POST accepts it (mail scanners follow links).
    let accept = link(
        ctx,
        &format!(
            "/invitations/accept?token={token}&organization={}",
            organization.slug
        ),
    );
    let message = messages::invitation(
        ctx.words(),
        email,
        &product(ctx),
        &organization.name,
        &accept,
        INVITATION_DAYS,
    );
    send(ctx, message).await;
}

/// Revokes a pending invitation of `actor`'s organization.
pub async fn revoke_invitation(
    ctx: &Ctx<'_>,
    actor: &Standing,
    invitation_id: &str,
) -> Result<(), AuthError> {
    if !actor.may(INVITATIONS_MANAGE) {
        return Err(Reason::NotPermitted.into());
    }
    // Keyed by the actor's organization: another organization's invitation id revokes nothing.
    if ctx
        .services
        .store
        .revoke_invitation(&actor.organization.id, invitation_id, ctx.now)
        .await?
    {
        Ok(())
    } else {
        Err(Reason::InvalidInvitation.into())
    }
}

/// Gives another member of `actor`'s organization `role`.
pub async fn change_role(
    ctx: &Ctx<'_>,
    actor: &Standing,
    user_id: &str,
    role: &str,
) -> Result<(), AuthError> {
    if !actor.may(MEMBERS_MANAGE) {
        return Err(Reason::NotPermitted.into());
    }
    if user_id == actor.membership.user_id {
        return Err(Reason::OwnRole.into());
    }
    assignable(ctx, actor, role)?;
    // The member's current role must not be above the actor's either.
    not_above(ctx, actor, user_id).await?;
    change(ctx, &actor.organization, user_id, Some(role), false).await
}

/// Removes another member from `actor`'s organization.
pub async fn remove_member(
    ctx: &Ctx<'_>,
    actor: &Standing,
    user_id: &str,
) -> Result<(), AuthError> {
    if !actor.may(MEMBERS_MANAGE) {
        return Err(Reason::NotPermitted.into());
    }
    not_above(ctx, actor, user_id).await?;
    change(ctx, &actor.organization, user_id, None, true).await
}

/// `member` leaves their organization (not the last admin).
pub async fn leave(ctx: &Ctx<'_>, member: &Standing) -> Result<(), AuthError> {
    change(
        ctx,
        &member.organization,
        &member.membership.user_id,
        None,
        false,
    )
    .await
}

/// The member `user_id` must not hold a permission `actor` lacks (nobody demotes or removes
/// someone above them).
async fn not_above(ctx: &Ctx<'_>, actor: &Standing, user_id: &str) -> Result<(), AuthError> {
    match standing(ctx, user_id, &actor.organization.id).await? {
        Some(target) if !target.permissions.iter().all(|p| actor.may(p)) => {
            Err(Reason::RoleAboveYours.into())
        }
        _ => Ok(()),
    }
}

/// Whether `user_id` is a member `organization`'s resource declares (their membership is
/// changed in YAML, not on the pages, or the next sync would undo it).
async fn declared_member(
    ctx: &Ctx<'_>,
    organization: &Organization,
    user_id: &str,
) -> Result<bool, AuthError> {
    let Some(declared) = organization
        .managed
        .then(|| {
            ctx.active
                .config
                .organizations
                .declared_by_slug(&organization.slug)
        })
        .flatten()
    else {
        return Ok(false);
    };
    let Some(user) = ctx.services.store.user_by_id(user_id).await? else {
        return Ok(false);
    };
    Ok(declared.members.contains_key(&user.email))
}

/// Changes `user_id`'s role, or removes them (`removed_by_admin`: recorded, so their email
/// domain does not bring them back).
async fn change(
    ctx: &Ctx<'_>,
    organization: &Organization,
    user_id: &str,
    role: Option<&str>,
    removed_by_admin: bool,
) -> Result<(), AuthError> {
    if declared_member(ctx, organization, user_id).await? {
        return Err(Reason::DeclaredAsCode.into());
    }
    let managers = manager_roles(ctx, organization);
    match ctx
        .services
        .store
        .change_member_as(
            &organization.id,
            user_id,
            role,
            &managers,
            removed_by_admin,
            ctx.now,
        )
        .await?
    {
        MemberChange::Done => {
            tracing::info!(
                target: "vestibule::audit",
                event = if role.is_some() { "organization.role_changed" } else { "organization.member_removed" },
                organization = %organization.id,
                user = %user_id,
                role = role.unwrap_or_default(),
                "organization membership changed"
            );
            Ok(())
        }
        MemberChange::NotMember => Err(Reason::OrganizationNotFound.into()),
        MemberChange::LastManager => Err(Reason::LastAdmin.into()),
    }
}

/// The pending invitation with this token and its organization, to show before accepting.
pub async fn invitation(
    ctx: &Ctx<'_>,
    token: &str,
) -> Result<(Invitation, Organization), AuthError> {
    enabled(ctx)?;
    let invalid = || AuthError::from(Reason::InvalidInvitation);
    if !crypto::is_token(token) {
        return Err(invalid());
    }
    let store = &ctx.services.store;
    let invitation = store
        .pending_invitation(&crypto::token_hash(token), ctx.now)
        .await?
        .ok_or_else(invalid)?;
    let organization = store
        .organization_by_id(&invitation.organization_id)
        .await?
        .ok_or_else(invalid)?;
    Ok((invitation, organization))
}

/// Accepts an invitation for `user`: it must have been sent to the user's address, and that
/// address must be verified. Single use; the user joins with its role.
pub async fn accept(ctx: &Ctx<'_>, user: &User, token: &str) -> Result<Organization, AuthError> {
    let (invitation, organization) = invitation(ctx, token).await?;
    if user.email_verified_at.is_none() || invitation.email != user.email {
        return Err(Reason::InvitationForAnotherAddress.into());
    }
    ctx.services
        .store
        .accept_invitation(&crypto::token_hash(token), &user.email, &user.id, ctx.now)
        .await?
        .ok_or(Reason::InvalidInvitation)?;
    Ok(organization)
}

/// The organization of the verified domain of `user`'s address, and whether it is `autoJoin`.
async fn domain_organization(
    ctx: &Ctx<'_>,
    user: &User,
) -> Result<Option<(Organization, bool)>, AuthError> {
    if !ctx.active.config.organizations.enabled || user.email_verified_at.is_none() {
        return Ok(None);
    }
    let store = &ctx.services.store;
    let domain = user.email.rsplit('@').next().unwrap_or_default();
    let Some((organization_id, enrollment)) = store.organization_of_domain(domain).await? else {
        return Ok(None);
    };
    if enrollment == "none"
        || store
            .membership(&organization_id, &user.id)
            .await?
            .is_some()
        || store.was_removed(&organization_id, &user.id).await?
    {
        return Ok(None);
    }
    Ok(store
        .organization_by_id(&organization_id)
        .await?
        .map(|o| (o, enrollment == "autoJoin")))
}

/// After `user`'s address is verified: joins the organization whose `autoJoin` domain it is in,
/// with the default role. Which organization, if any.
pub async fn join_by_domain(ctx: &Ctx<'_>, user: &User) -> Result<Option<Organization>, AuthError> {
    let Some((organization, true)) = domain_organization(ctx, user).await? else {
        return Ok(None);
    };
    let role = &ctx.active.config.organizations.default_role;
    ctx.services
        .store
        .join_organization(&organization.id, &user.id, role, ctx.now)
        .await?;
    Ok(Some(organization))
}

/// The organization `user` is offered to join (a `suggest` domain of their verified address).
pub async fn suggestion(ctx: &Ctx<'_>, user: &User) -> Result<Option<Organization>, AuthError> {
    Ok(match domain_organization(ctx, user).await? {
        Some((organization, false)) => Some(organization),
        _ => None,
    })
}

/// Joins the suggested organization with this id, with the default role.
pub async fn join_suggested(
    ctx: &Ctx<'_>,
    user: &User,
    organization_id: &str,
) -> Result<Organization, AuthError> {
    let organization = suggestion(ctx, user)
        .await?
        .filter(|o| o.id == organization_id)
        .ok_or(Reason::OrganizationNotFound)?;
    let role = &ctx.active.config.organizations.default_role;
    ctx.services
        .store
        .join_organization(&organization.id, &user.id, role, ctx.now)
        .await?;
    Ok(organization)
}

/// Whether invite-only sign-up lets `email` in: it has a pending invitation.
pub async fn is_invited(ctx: &Ctx<'_>, email: &str) -> Result<bool, AuthError> {
    Ok(ctx.active.config.organizations.enabled
        && ctx.services.store.is_invited(email, ctx.now).await?)
}
