//! From the provider's claims to a ccweb user: the username claim (with the
//! e-mail's local part as fallback) sanitised to the store's name rule, the
//! e-mail, domain and group allow-lists, admin groups, and first-login
//! provisioning. An existing local user is never taken over.

use serde_json::{Map, Value};

use super::{refused, Oidc};
use crate::error::ApiError;
use crate::state::AppState;
use ccweb_store::{StoreError, User};

/// How claims become a user, from the configuration.
#[derive(Debug, Clone)]
pub(super) struct Policy {
    pub(super) username_claim: String,
    pub(super) groups_claim: String,
    pub(super) allowed_emails: Vec<String>,
    pub(super) allowed_domains: Vec<String>,
    pub(super) require_verified_email: bool,
    pub(super) allowed_groups: Vec<String>,
    pub(super) admin_groups: Vec<String>,
    pub(super) auto_provision: bool,
}

/// What ccweb needs from the claims.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Identity {
    issuer: String,
    subject: String,
    /// Sanitised to the store's name rule.
    username: Option<String>,
    /// Lower case.
    email: Option<String>,
    email_verified: bool,
    groups: Vec<String>,
}

/// A claim as a string (numbers too).
fn claim_str(claims: &Map<String, Value>, name: &str) -> Option<String> {
    match claims.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A provider name as a ccweb user name (`^[a-z0-9][a-z0-9_.-]{0,63}$`):
/// the part before `@`, lower case, other characters as `-`.
fn sanitize_username(raw: &str) -> Option<String> {
    let local = raw.split('@').next().unwrap_or_default().trim();
    let mapped: String = local
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_' | '.' | '-') => c,
            _ => '-',
        })
        .collect();
    let trimmed = mapped.trim_start_matches(['_', '.', '-']);
    let name: String = trimmed.chars().take(64).collect();
    (!name.is_empty()).then_some(name)
}

impl Policy {
    /// Reads the identity out of verified claims.
    fn identity(&self, claims: &Map<String, Value>) -> Identity {
        let email = claim_str(claims, "email").map(|e| e.trim().to_ascii_lowercase());
        let username = claim_str(claims, &self.username_claim)
            .and_then(|n| sanitize_username(&n))
            .or_else(|| email.as_deref().and_then(sanitize_username));
        let email_verified = match claims.get("email_verified") {
            Some(Value::Bool(b)) => *b,
            // Some providers send it as a string.
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            _ => false,
        };
        let groups = match claims.get(&self.groups_claim) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        Identity {
            issuer: claim_str(claims, "iss").unwrap_or_default(),
            subject: claim_str(claims, "sub").unwrap_or_default(),
            username,
            email,
            email_verified,
            groups,
        }
    }

    /// Whether the allow-lists let this identity in; the refusal says why.
    fn admit(&self, id: &Identity) -> Result<(), (&'static str, &'static str)> {
        if !self.allowed_emails.is_empty() || !self.allowed_domains.is_empty() {
            let Some(email) = &id.email else {
                return Err((
                    "oidc_email_not_allowed",
                    "the provider sent no e-mail address",
                ));
            };
            if self.require_verified_email && !id.email_verified {
                return Err((
                    "oidc_email_not_verified",
                    "the provider has not verified this e-mail address",
                ));
            }
            let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
            let listed = self.allowed_emails.iter().any(|e| e == email)
                || self.allowed_domains.iter().any(|d| d == domain);
            if !listed {
                return Err((
                    "oidc_email_not_allowed",
                    "this e-mail address may not sign in here",
                ));
            }
        }
        if !self.allowed_groups.is_empty()
            && !id.groups.iter().any(|g| self.allowed_groups.contains(g))
        {
            return Err((
                "oidc_group_not_allowed",
                "this account is in none of the groups that may sign in here",
            ));
        }
        Ok(())
    }

    /// Admin rights from `oidc_admin_groups`, if configured.
    fn admin(&self, id: &Identity) -> Option<bool> {
        (!self.admin_groups.is_empty())
            .then(|| id.groups.iter().any(|g| self.admin_groups.contains(g)))
    }
}

/// The user these claims log in as: the one linked to (issuer, subject);
/// else, at the first login, a new user (auto-provisioning) or one created
/// beforehand without a password (no auto-provisioning). An existing user
/// is never taken over otherwise.
pub(super) async fn resolve_user(
    state: &AppState,
    oidc: &Oidc,
    claims: &Map<String, Value>,
) -> Result<User, ApiError> {
    let policy = &oidc.policy;
    let id = policy.identity(claims);
    if id.subject.is_empty() {
        return Err(refused(
            "oidc_token_invalid",
            "the provider's answer names no subject",
            "no sub",
        ));
    }
    // The verified `iss` equals the configured issuer; use that spelling.
    let issuer = oidc.issuer.as_str();
    policy
        .admit(&id)
        .map_err(|(code, message)| refused(code, message, code))?;
    let admin = policy.admin(&id);
    let user = match state
        .store
        .user_by_oidc_identity(issuer, &id.subject)
        .await?
    {
        Some(user) => user,
        None => {
            let Some(name) = id.username.as_deref() else {
                return Err(refused(
                    "oidc_no_username",
                    "the provider sent no usable user name or e-mail address",
                    "no username",
                ));
            };
            let taken = || {
                refused(
                    "oidc_name_taken",
                    format!("a local user named {name} exists and is not linked to this account; ask an administrator"),
                    "name taken",
                )
            };
            match state.store.user_by_name(name).await? {
                Some(existing)
                    if !policy.auto_provision
                        && !existing.has_password
                        && !existing.is_admin
                        && !existing.disabled =>
                {
                    state
                        .store
                        .link_oidc_identity(existing.id, issuer, &id.subject)
                        .await
                        .map_err(|e| match e {
                            StoreError::Conflict(_) => taken(),
                            e => e.into(),
                        })?;
                    tracing::info!(user = %existing.name, "linked an OpenID Connect account to a pre-created user");
                    existing
                }
                Some(existing) if existing.disabled => return Err(disabled()),
                Some(_) => return Err(taken()),
                None if policy.auto_provision => {
                    let user = state
                        .store
                        .create_oidc_user(name, admin.unwrap_or(false), issuer, &id.subject)
                        .await
                        .map_err(|e| match e {
                            StoreError::Conflict(_) => taken(),
                            e => e.into(),
                        })?;
                    tracing::info!(user = %user.name, admin = user.is_admin, "created a user at the first OpenID Connect login");
                    user
                }
                None => {
                    return Err(refused(
                        "oidc_not_provisioned",
                        format!("there is no user {name} here and new users are not created automatically; ask an administrator"),
                        "not provisioned",
                    ))
                }
            }
        }
    };
    if user.disabled {
        return Err(disabled());
    }
    match admin {
        Some(is_admin) if is_admin != user.is_admin => {
            let user = state.store.set_user_admin(user.id, is_admin).await?;
            tracing::info!(user = %user.name, admin = is_admin, "admin rights set from OpenID Connect groups");
            Ok(user)
        }
        _ => Ok(user),
    }
}

fn disabled() -> ApiError {
    refused("account_disabled", "this account is disabled", "disabled")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn usernames_are_sanitised_to_the_store_rule() {
        assert_eq!(sanitize_username("Alice").as_deref(), Some("alice"));
        assert_eq!(
            sanitize_username("john.doe@corp.example").as_deref(),
            Some("john.doe")
        );
        assert_eq!(sanitize_username("John Doe").as_deref(), Some("john-doe"));
        assert_eq!(sanitize_username("_x").as_deref(), Some("x"));
        assert_eq!(sanitize_username("@corp").as_deref(), None);
        assert_eq!(sanitize_username(&"a".repeat(100)).unwrap().len(), 64);
    }

    fn policy() -> Policy {
        Policy {
            username_claim: "preferred_username".into(),
            groups_claim: "groups".into(),
            allowed_emails: vec![],
            allowed_domains: vec![],
            require_verified_email: true,
            allowed_groups: vec![],
            admin_groups: vec![],
            auto_provision: true,
        }
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn email_falls_back_when_the_username_claim_is_missing() {
        let id = policy().identity(&claims(json!({"sub": "1", "email": "Bob@Example.com"})));
        assert_eq!(id.username.as_deref(), Some("bob"));
        assert_eq!(id.email.as_deref(), Some("bob@example.com"));
    }

    #[test]
    fn domains_need_a_verified_email_unless_configured_otherwise() {
        let mut p = Policy {
            allowed_domains: vec!["example.com".into()],
            ..policy()
        };
        let unverified = p.identity(&claims(json!({"sub": "1", "email": "a@example.com"})));
        assert_eq!(
            p.admit(&unverified).unwrap_err().0,
            "oidc_email_not_verified"
        );
        let other = p.identity(&claims(
            json!({"sub": "1", "email": "a@example.com.evil.org", "email_verified": true}),
        ));
        assert_eq!(p.admit(&other).unwrap_err().0, "oidc_email_not_allowed");
        p.require_verified_email = false;
        assert!(p.admit(&unverified).is_ok());
    }

    #[test]
    fn groups_admit_and_make_admins() {
        let p = Policy {
            allowed_groups: vec!["staff".into(), "ops".into()],
            admin_groups: vec!["ops".into()],
            ..policy()
        };
        let staff = p.identity(&claims(json!({"sub": "1", "groups": ["staff"]})));
        let ops = p.identity(&claims(json!({"sub": "2", "groups": "ops"})));
        let none = p.identity(&claims(json!({"sub": "3", "groups": ["Staff"]})));
        assert!(p.admit(&staff).is_ok());
        assert_eq!(p.admin(&staff), Some(false));
        assert_eq!(p.admin(&ops), Some(true));
        assert_eq!(p.admit(&none).unwrap_err().0, "oidc_group_not_allowed");
        assert_eq!(policy().admin(&ops), None);
    }
}
