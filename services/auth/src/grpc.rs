//! `chat.v1.AuthService` over gRPC: each call validates its request, does its work with
//! the account, session, password, signing and limit modules, and maps failures through
//! [`Error`] to statuses with stable reasons.

use std::time::Duration;

use chat_proto::v1::auth_service_server::AuthService;
use chat_proto::v1::{
    AuthResponse, ChangeEmailRequest, ForgotPasswordRequest, ForgotPasswordResponse,
    GetSigningKeysRequest, GetUserRequest, GetUsersRequest, GetUsersResponse, ListSessionsRequest,
    ListSessionsResponse, LoginRequest, LogoutRequest, LogoutResponse, RecordLastSeenRequest,
    RecordLastSeenResponse, RefreshRequest, RegisterRequest, ResetPasswordRequest,
    ResetPasswordResponse, SearchUsersRequest, SearchUsersResponse, SessionInfo, SigningKeys,
    UpdateProfileRequest, User, VerifyEmailRequest, VerifyEmailResponse,
};
use secrecy::SecretString;
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::error::Error;
use crate::login_limit::{Account, LoginLimits};
use crate::password::{Passwords, Verification};
use crate::recovery::Recovery;
use crate::sessions::{self, Device, Refresh};
use crate::signing::TokenSigner;
use crate::users::{self, NewUser, ProfileChanges};
use crate::validation::{self, Violations};

/// Everything the calls share; cheap to clone.
#[derive(Clone)]
pub struct AuthGrpc {
    pub pool: PgPool,
    pub passwords: Passwords,
    pub signer: TokenSigner,
    pub limits: LoginLimits,
    pub recovery: Recovery,
    pub refresh_ttl: Duration,
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl AuthService for AuthGrpc {
    async fn register(&self, request: Request<RegisterRequest>) -> Reply<AuthResponse> {
        Ok(Response::new(self.register(request.into_inner()).await?))
    }

    async fn login(&self, request: Request<LoginRequest>) -> Reply<AuthResponse> {
        let result = self.login(request.into_inner()).await;
        let outcome = match &result {
            Ok(_) => "success",
            Err(Error::InvalidCredentials) => "invalid_credentials",
            Err(Error::TooManyAttempts { .. }) => "limited",
            Err(_) => "error",
        };
        metrics::counter!("auth_logins_total", "outcome" => outcome).increment(1);
        Ok(Response::new(result?))
    }

    async fn refresh(&self, request: Request<RefreshRequest>) -> Reply<AuthResponse> {
        Ok(Response::new(self.refresh(request.into_inner()).await?))
    }

    async fn logout(&self, request: Request<LogoutRequest>) -> Reply<LogoutResponse> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let user_id = violations.check("user_id", validation::uuid(&request.user_id));
        let session_id = violations.check("session_id", validation::uuid(&request.session_id));
        violations.finish()?;
        let (Some(user_id), Some(session_id)) = (user_id, session_id) else {
            unreachable!("finish() refuses missing ids");
        };
        if request.all_sessions {
            sessions::logout_everywhere(&self.pool, user_id).await?;
        } else {
            sessions::logout(&self.pool, user_id, session_id).await?;
        }
        Ok(Response::new(LogoutResponse {
            ended_at_ms: now_ms(),
        }))
    }

    async fn forgot_password(
        &self,
        request: Request<ForgotPasswordRequest>,
    ) -> Reply<ForgotPasswordResponse> {
        let request = request.into_inner();
        let device = Device::from(request.device);
        self.recovery.forgot(&request.login, &device).await?;
        Ok(Response::new(ForgotPasswordResponse {}))
    }

    async fn reset_password(
        &self,
        request: Request<ResetPasswordRequest>,
    ) -> Reply<ResetPasswordResponse> {
        let request = request.into_inner();
        let device = Device::from(request.device);
        let user_id = self
            .recovery
            .reset(&request.token, request.password, &device)
            .await?;
        Ok(Response::new(ResetPasswordResponse {
            user_id: user_id.to_string(),
            ended_at_ms: now_ms(),
        }))
    }

    async fn change_email(&self, request: Request<ChangeEmailRequest>) -> Reply<User> {
        let request = request.into_inner();
        let user_id = validation::uuid(&request.user_id)
            .map_err(|why| Error::invalid_field("user_id", why))?;
        let device = Device::from(request.device);
        let user = self
            .recovery
            .change_email(
                user_id,
                request.email.trim(),
                SecretString::from(request.password),
                &device,
            )
            .await?;
        Ok(Response::new(user.into_proto(true)))
    }

    async fn verify_email(
        &self,
        request: Request<VerifyEmailRequest>,
    ) -> Reply<VerifyEmailResponse> {
        let (user_id, email) = self
            .recovery
            .verify_email(&request.into_inner().token)
            .await?;
        Ok(Response::new(VerifyEmailResponse {
            user_id: user_id.to_string(),
            email,
        }))
    }

    async fn list_sessions(
        &self,
        request: Request<ListSessionsRequest>,
    ) -> Reply<ListSessionsResponse> {
        let user_id = validation::uuid(&request.into_inner().user_id)
            .map_err(|why| Error::invalid_field("user_id", why))?;
        let open = sessions::list(&self.pool, user_id).await?;
        Ok(Response::new(ListSessionsResponse {
            sessions: open
                .into_iter()
                .map(|session| SessionInfo {
                    id: session.id.to_string(),
                    user_agent: session.user_agent,
                    ip_address: session.ip_address,
                    created_at: Some(chat_runtime::time::to_proto(session.created_at)),
                    last_used_at: Some(chat_runtime::time::to_proto(session.last_used_at)),
                })
                .collect(),
        }))
    }

    async fn get_user(&self, request: Request<GetUserRequest>) -> Reply<User> {
        let request = request.into_inner();
        let id = validation::uuid(&request.user_id)
            .map_err(|why| Error::invalid_field("user_id", why))?;
        let mut conn = self.pool.acquire().await.map_err(Error::from)?;
        let user = users::find(&mut conn, id)
            .await?
            .ok_or(Error::UserNotFound)?;
        Ok(Response::new(user.into_proto(request.include_email)))
    }

    async fn get_users(&self, request: Request<GetUsersRequest>) -> Reply<GetUsersResponse> {
        let request = request.into_inner();
        let ids = parse_user_ids(&request.user_ids)?;
        if request.usernames.len() > MAX_USERNAMES {
            return Err(Error::invalid_field(
                "usernames",
                format!("at most {MAX_USERNAMES} usernames"),
            )
            .into());
        }
        if ids.is_empty() && request.usernames.is_empty() {
            return Ok(Response::new(GetUsersResponse::default()));
        }
        let mut users = users::find_many(&self.pool, &ids).await?;
        if !request.usernames.is_empty() {
            for user in users::find_by_usernames(&self.pool, &request.usernames).await? {
                if !users.iter().any(|known| known.id == user.id) {
                    users.push(user);
                }
            }
        }
        Ok(Response::new(GetUsersResponse {
            users: users.into_iter().map(|u| u.into_proto(false)).collect(),
        }))
    }

    async fn update_profile(&self, request: Request<UpdateProfileRequest>) -> Reply<User> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let id = violations.check("user_id", validation::uuid(&request.user_id));
        // Absent: left alone. Present: checked; blank clears.
        let changes = ProfileChanges {
            display_name: request.display_name.map(|v| {
                violations
                    .check("display_name", validation::display_name(&v))
                    .flatten()
            }),
            avatar_url: request.avatar_url.map(|v| {
                violations
                    .check("avatar_url", validation::avatar_url(&v))
                    .flatten()
            }),
            bio: request
                .bio
                .map(|v| violations.check("bio", validation::bio(&v)).flatten()),
            show_presence: request.show_presence,
            send_read_receipts: request.send_read_receipts,
        };
        violations.finish()?;
        let id = id.expect("finish() refuses a missing id");
        let user = users::update_profile(&self.pool, id, changes).await?;
        Ok(Response::new(user.into_proto(false)))
    }

    async fn search_users(
        &self,
        request: Request<SearchUsersRequest>,
    ) -> Reply<SearchUsersResponse> {
        let request = request.into_inner();
        let prefix = request.prefix.trim();
        if prefix.is_empty() || prefix.chars().count() > validation::DISPLAY_NAME_MAX {
            return Err(Error::invalid_field(
                "prefix",
                format!(
                    "must be 1 to {} characters long",
                    validation::DISPLAY_NAME_MAX
                ),
            )
            .into());
        }
        let limit = match request.limit {
            0 => users::DEFAULT_SEARCH_LIMIT,
            n => n.min(users::MAX_SEARCH_LIMIT),
        };
        let users = users::search(&self.pool, prefix, limit).await?;
        Ok(Response::new(SearchUsersResponse {
            users: users.into_iter().map(|u| u.into_proto(false)).collect(),
        }))
    }

    async fn get_signing_keys(&self, _: Request<GetSigningKeysRequest>) -> Reply<SigningKeys> {
        Ok(Response::new(self.signer.signing_keys()))
    }

    async fn record_last_seen(
        &self,
        request: Request<RecordLastSeenRequest>,
    ) -> Reply<RecordLastSeenResponse> {
        let request = request.into_inner();
        if request.seen.len() > users::MAX_BATCH {
            return Err(Error::invalid_field(
                "seen",
                format!("at most {} users at once", users::MAX_BATCH),
            )
            .into());
        }
        let mut seen = Vec::with_capacity(request.seen.len());
        for (n, entry) in request.seen.iter().enumerate() {
            let id = validation::uuid(&entry.user_id)
                .map_err(|why| Error::invalid_field(format!("seen[{n}].user_id"), why))?;
            let at = entry
                .at
                .as_ref()
                .and_then(chat_runtime::time::from_proto)
                .ok_or_else(|| {
                    Error::invalid_field(format!("seen[{n}].at"), "missing or out of range")
                })?;
            seen.push((id, at));
        }
        if !seen.is_empty() {
            users::record_last_seen(&self.pool, &seen).await?;
        }
        Ok(Response::new(RecordLastSeenResponse {}))
    }
}

impl AuthGrpc {
    #[tracing::instrument(skip_all, fields(username = %request.username))]
    async fn register(&self, request: RegisterRequest) -> Result<AuthResponse, Error> {
        let mut violations = Violations::new();
        let username = violations.check("username", validation::username(&request.username));
        violations.check("email", validation::email(&request.email));
        violations.check("password", validation::password(&request.password));
        let display_name = request.display_name.as_deref().and_then(|name| {
            let checked = validation::display_name(name)
                .and_then(|name| name.ok_or_else(|| "must not be blank".to_owned()));
            violations.check("display_name", checked)
        });
        violations.finish()?;
        let username = username.expect("finish() refuses an invalid username");
        let device = Device::from(request.device);
        self.limits.check_registration(&device.ip_address).await?;
        let display_name = display_name
            .or_else(|| validation::display_name_from_username(&request.username, &username));

        let password_hash = self
            .passwords
            .hash(SecretString::from(request.password))
            .await?;
        let mut tx = self.pool.begin().await?;
        let user = users::insert(
            &mut tx,
            NewUser {
                username,
                email: request.email,
                password_hash,
                display_name,
            },
        )
        .await?;
        let refresh = sessions::create(&mut tx, user.id, &device, self.refresh_ttl).await?;
        tx.commit().await?;
        metrics::counter!("auth_registrations_total").increment(1);
        tracing::info!(user_id = %user.id, "registered");
        self.recovery.send_verification(&user);
        self.respond(user, refresh)
    }

    #[tracing::instrument(skip_all)]
    async fn login(&self, request: LoginRequest) -> Result<AuthResponse, Error> {
        let login = request.login.trim().to_lowercase();
        let mut violations = Violations::new();
        if login.is_empty() || login.chars().count() > validation::LOGIN_MAX {
            violations.check::<()>(
                "login",
                Err(format!(
                    "must be 1 to {} characters long",
                    validation::LOGIN_MAX
                )),
            );
        }
        if request.password.is_empty()
            || request.password.chars().count() > validation::PASSWORD_MAX
        {
            violations.check::<()>(
                "password",
                Err(format!(
                    "must be 1 to {} characters long",
                    validation::PASSWORD_MAX
                )),
            );
        }
        violations.finish()?;

        let device = Device::from(request.device);
        self.limits.check_address(&device.ip_address).await?;
        let credentials = users::find_credentials(&self.pool, &login).await?;
        let account = match &credentials {
            Some(found) => Account::User(found.user.id),
            None => Account::UnknownLogin(&login),
        };
        self.limits
            .check_account(account, &device.ip_address)
            .await?;

        let password = SecretString::from(request.password);
        let (stored, user) = match credentials {
            Some(found) => (Some(found.password_hash), Some(found.user)),
            None => (None, None),
        };
        let verification = self.passwords.verify(password.clone(), stored).await?;
        let (user, needs_rehash) = match (user, verification) {
            (Some(user), Verification::Match { needs_rehash }) => (user, needs_rehash),
            _ => return Err(Error::InvalidCredentials),
        };
        self.limits
            .clear_account(Account::User(user.id), &device.ip_address)
            .await?;
        if needs_rehash {
            let hash = self.passwords.hash(password).await?;
            users::set_password_hash(&self.pool, user.id, &hash).await?;
        }

        let mut tx = self.pool.begin().await?;
        let refresh = sessions::create(&mut tx, user.id, &device, self.refresh_ttl).await?;
        tx.commit().await?;
        tracing::info!(user_id = %user.id, session_id = %refresh.session_id, "logged in");
        self.respond(user, refresh)
    }

    #[tracing::instrument(skip_all)]
    async fn refresh(&self, request: RefreshRequest) -> Result<AuthResponse, Error> {
        let refresh =
            sessions::rotate(&self.pool, &request.refresh_token, self.refresh_ttl).await?;
        let mut conn = self.pool.acquire().await?;
        let user = users::find(&mut conn, refresh.user_id)
            .await?
            .ok_or(Error::InvalidRefreshToken)?;
        self.respond(user, refresh)
    }

    fn respond(&self, user: users::User, refresh: Refresh) -> Result<AuthResponse, Error> {
        let access = self.signer.issue(user.id, refresh.session_id)?;
        Ok(AuthResponse {
            user: Some(user.into_proto(true)),
            access_token: access.token,
            refresh_token: refresh.token,
            expires_in: access.expires_in,
            session_id: refresh.session_id.to_string(),
            refresh_expires_in: i64::try_from(self.refresh_ttl.as_secs()).unwrap_or(i64::MAX),
        })
    }
}

/// The most usernames one `GetUsers` looks up.
const MAX_USERNAMES: usize = 100;

fn parse_user_ids(raw: &[String]) -> Result<Vec<Uuid>, Error> {
    if raw.len() > users::MAX_BATCH {
        return Err(Error::invalid_field(
            "user_ids",
            format!("at most {} ids per call", users::MAX_BATCH),
        ));
    }
    let mut violations = Violations::new();
    let mut ids = Vec::with_capacity(raw.len());
    for (index, id) in raw.iter().enumerate() {
        if let Some(id) = violations.check(format!("user_ids[{index}]"), validation::uuid(id))
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    violations.finish()?;
    Ok(ids)
}

/// Now, in Unix milliseconds: when sessions revoked a moment ago ended.
fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}
