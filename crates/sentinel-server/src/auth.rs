//! Staff access. Passwords are argon2id hashes; bearer tokens and session ids are
//! 256-bit random secrets stored only as SHA-256, so a database leak yields no
//! usable credential. Secrets never reach the log: [`Secret`] does not print.
//!
//! Every staff endpoint takes a [`Staff`] and calls [`Staff::require`] with the
//! roles it allows; the lifecycle adds department and unit scope.

use crate::AppState;
use crate::error::ApiError;
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sentinel_core::{Actor, Role};
use sentinel_store::User;
use sha2::{Digest, Sha256};
use std::fmt;
use time::OffsetDateTime;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "sentinel_session";
/// Prefix that makes a Sentinel token recognisable (and greppable in leaks).
pub const TOKEN_PREFIX: &str = "sn_";

/// A secret value that never appears in logs or debug output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Hashes a password with argon2id (default parameters: 19 MiB, 2 passes).
pub fn hash_password(password: &Secret) -> Result<String, ApiError> {
    Argon2::default()
        .hash_password(password.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(format!("hashing a password: {e}")))
}

/// Checks a password against its stored hash.
pub fn verify_password(password: &Secret, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.expose().as_bytes(), hash)
        .is_ok()
}

/// Password hashing at a time, at most one per core: each argon2id run holds 19 MiB,
/// and the allocator keeps what a thread once used, so unbounded concurrent
/// sign-ins (a guessing attack from many addresses) grew the process by 19 MiB per
/// blocking thread and never gave it back. Waiting here also keeps the cores for
/// intake.
fn hashing() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    })
}

async fn bounded<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let _permit = hashing()
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// [`hash_password`] on a blocking thread, bounded as above.
pub async fn hash_password_async(password: Secret) -> Result<String, ApiError> {
    bounded(move || hash_password(&password)).await?
}

/// [`verify_password`] on a blocking thread, bounded as above.
pub async fn verify_password_async(password: Secret, hash: String) -> Result<bool, ApiError> {
    bounded(move || verify_password(&password, &hash)).await
}

/// The password every demo account shares: printed at start, so accepted for the
/// demo city only.
pub const DEMO_PASSWORD: &str = "sentinel-demo";

/// Which passwords an account may be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordPolicy {
    /// Strong enough to guard personal data: at least 10 characters, no user name,
    /// not the demo password, and hard to guess by zxcvbn's estimate (score 3 of 4,
    /// about 10^10 guesses).
    Strong,
    /// The demo city's shared password is allowed too.
    Demo,
}

/// Refuses a password too weak to protect an account, saying why in one sentence.
/// `user_inputs` are words the account is known by (its name), which a guesser
/// would try first.
pub fn check_password_strength(password: &Secret, user_inputs: &[&str]) -> Result<(), String> {
    check_password(password, user_inputs, PasswordPolicy::Strong)
}

/// [`check_password_strength`] under a policy.
pub fn check_password(
    password: &Secret,
    user_inputs: &[&str],
    policy: PasswordPolicy,
) -> Result<(), String> {
    let p = password.expose();
    if policy == PasswordPolicy::Demo && p == DEMO_PASSWORD {
        return Ok(());
    }
    let chars = p.chars().count();
    if chars < 10 {
        return Err("passwords must be at least 10 characters".into());
    }
    if chars > 1024 {
        return Err("passwords must be at most 1024 characters".into());
    }
    if p.trim().is_empty() {
        return Err("a password must not be only spaces".into());
    }
    if p.eq_ignore_ascii_case(DEMO_PASSWORD) {
        return Err("the demo password is public: choose another one".into());
    }
    let lower = p.to_lowercase();
    if user_inputs
        .iter()
        .map(|u| u.trim().to_lowercase())
        .any(|u| u.chars().count() >= 3 && lower.contains(&u))
    {
        return Err("a password must not contain the account's own name".into());
    }
    // zxcvbn looks at the first 100 characters; a longer phrase is long enough.
    let head: String = p.chars().take(100).collect();
    let mut inputs: Vec<&str> = user_inputs.to_vec();
    inputs.extend(["sentinel", "哨兵", "liaocheng", "聊城"]);
    let estimate = zxcvbn::zxcvbn(&head, &inputs);
    if estimate.score() < zxcvbn::Score::Three {
        let why = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        return Err(format!(
            "this password is too easy to guess{why}: use a longer phrase of unrelated words"
        ));
    }
    Ok(())
}

/// 32 random bytes as hex.
pub fn random_secret() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the operating system's random source");
    sentinel_photos::hex(&b)
}

/// A new bearer token.
pub fn new_token() -> Secret {
    Secret(format!("{TOKEN_PREFIX}{}", random_secret()))
}

/// What is stored for a token or session id.
pub fn secret_hash(secret: &str) -> String {
    sentinel_photos::hex(&Sha256::digest(secret.as_bytes()))
}

/// A signed-in staff member.
#[derive(Debug, Clone)]
pub struct Staff {
    /// Their account.
    pub user: User,
    /// For a unit-role account, the tracking codes of the reports its units are out
    /// on now (an open dispatch): a crew sent to a report needs to read it even when
    /// the report is assigned to someone else. Empty for every other role.
    pub dispatched: Vec<String>,
}

impl Staff {
    /// Loads what a unit-role account is out on; other roles need nothing more.
    pub async fn of(user: User, store: &dyn sentinel_store::Store) -> Result<Staff, ApiError> {
        let dispatched = if user.role == Role::Unit {
            store
                .dispatches(
                    sentinel_store::DispatchesOf::OpenFor(user.name.clone()),
                    100,
                )
                .await?
                .into_iter()
                .map(|d| d.report)
                .collect()
        } else {
            Vec::new()
        };
        Ok(Staff { user, dispatched })
    }
}

impl Staff {
    /// Refuses unless the role is one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.user.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "the {} role may not do this",
                self.user.role
            )))
        }
    }

    /// The lifecycle's view of this person.
    pub fn actor(&self) -> Actor {
        Actor::Staff {
            user: self.user.name.clone(),
            role: self.user.role,
            department: self.user.department.clone(),
        }
    }
}

/// A hash to verify against when the user does not exist, so that a wrong name
/// takes as long as a wrong password.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        hash_password(&Secret::new(random_secret())).unwrap_or_default()
    });
    &HASH
}

/// The session id in the request's cookies, if any.
pub fn session_cookie(headers: &axum::http::HeaderMap) -> Option<&str> {
    cookie_value(headers, SESSION_COOKIE)
}

/// A cookie's value from the request headers.
pub(crate) fn cookie_value<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Credentials a request presents, if any.
enum Presented<'a> {
    Bearer(&'a str),
    Session(&'a str),
    None,
}

fn presented(parts: &Parts) -> Result<Presented<'_>, ApiError> {
    if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
        let auth = auth
            .to_str()
            .map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
        let token = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::Unauthorized("use Authorization: Bearer <token>".into()))?;
        return Ok(Presented::Bearer(token.trim()));
    }
    Ok(cookie_value(&parts.headers, SESSION_COOKIE).map_or(Presented::None, Presented::Session))
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Option<Staff>, ApiError> {
    let now = OffsetDateTime::now_utc();
    let user = match presented(parts)? {
        Presented::None => return Ok(None),
        Presented::Bearer(token) => state
            .store
            .user_for_token(&secret_hash(token), now)
            .await?
            .ok_or_else(|| {
                ApiError::Unauthorized("the token is unknown, expired or revoked".into())
            })?,
        Presented::Session(id) => state
            .store
            .user_for_session(&secret_hash(id), now)
            .await?
            .ok_or_else(|| ApiError::Unauthorized("the session has ended; sign in again".into()))?,
    };
    Ok(Some(Staff::of(user, state.store.as_ref()).await?))
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state)
            .await?
            .ok_or_else(|| ApiError::Unauthorized("sign in or send a bearer token".into()))
    }
}

/// Staff if credentials were presented (and valid), nobody otherwise. Invalid
/// credentials are refused, not quietly treated as the public.
pub struct MaybeStaff(pub Option<Staff>);

impl FromRequestParts<AppState> for MaybeStaff {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state).await.map(MaybeStaff)
    }
}

/// Creates a staff account after checking the role, department and password:
/// the one path used by the command line (and later the admin API).
pub async fn create_staff_user(
    store: &dyn sentinel_store::Store,
    catalog: &sentinel_core::Catalog,
    name: &str,
    password: &Secret,
    role: Role,
    department: Option<&str>,
    policy: PasswordPolicy,
) -> Result<User, ApiError> {
    let valid_name = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "._-@".contains(c));
    if !valid_name {
        return Err(ApiError::Unprocessable(
            "user names are 1-64 letters, digits or . _ - @".into(),
        ));
    }
    match (role, department) {
        (Role::Officer, None) => {
            return Err(ApiError::Unprocessable(
                "an officer needs --department".into(),
            ));
        }
        (_, Some(d)) if catalog.department(d).is_none() => {
            return Err(ApiError::Unprocessable(format!("unknown department {d:?}")));
        }
        _ => {}
    }
    check_password(password, &[name], policy).map_err(ApiError::Unprocessable)?;
    let hash = hash_password_async(password.clone()).await?;
    Ok(store
        .create_user(name, &hash, role, department, OffsetDateTime::now_utc())
        .await?)
}

#[cfg(test)]
mod password_tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused_with_a_reason() {
        for (weak, why) in [
            ("          ", "only spaces"),
            ("1234567890", "too easy"),
            ("password12", "too easy"),
            ("dispatcher-2024", "own name"),
            ("sentinel-demo", "demo password"),
            ("short", "at least 10"),
        ] {
            let e = check_password_strength(&Secret::new(weak), &["dispatcher"]).unwrap_err();
            assert!(e.contains(why), "{weak:?}: {e}");
        }
        // The demo may use its own password, and only the demo.
        assert!(
            check_password(
                &Secret::new(DEMO_PASSWORD),
                &["admin"],
                PasswordPolicy::Demo
            )
            .is_ok()
        );
    }

    #[test]
    fn phrases_of_unrelated_words_pass() {
        for good in [
            "correct horse battery",
            "a long enough password",
            "dispatcher password 1",
            "rider password 1",
            "owner's own phrase 7",
            "attacker phrase 99",
            "the holder's phrase 8",
            "someone else's 42!",
            "a new password 1",
            "long enough pass",
            "another password",
            "wrong password!",
        ] {
            assert!(
                check_password_strength(&Secret::new(good), &["duty"]).is_ok(),
                "{good}"
            );
        }
    }
}
