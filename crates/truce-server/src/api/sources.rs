//! `/v1/sources`: registering and revoking keys (admin), listing them.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use truce_auth::{Action, Role, may_read_source_identity, permits, require};
use truce_log::entry::{Entry, SourceRegistration};
use truce_model::SourceKind;
use truce_note::{KeyName, SignatureType, Verifier};
use truce_store::Store;

use crate::api::{StoreSize, commit, earlier_submission, parse_json, prepared, read_store};
use crate::auth::{ReaderAuth, Signed, SingleBody};
use crate::error::{ApiError, FieldProblem};
use crate::projection::{REVOKED_KEY, role_for};
use crate::state::AppState;
use crate::views::{SourceList, SourceRegistrationRequest, SourceView};

/// Whether a key name can travel in the `Authorization` header unquoted.
fn fits_header(name: &str) -> bool {
    name.bytes()
        .all(|byte| byte.is_ascii_graphic() && !matches!(byte, b',' | b'"' | b'\\'))
}

/// Registers a source's key (admin).
#[utoipa::path(
    post,
    path = "/v1/sources",
    tag = "sources",
    request_body = SourceRegistrationRequest,
    responses(
        (status = 201, description = "Logged; the receipt of the registration", body = crate::views::Submitted),
        (status = 200, description = "The same request was logged before: its receipt", body = crate::views::Submitted),
        (status = 400, description = "Malformed body or header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is already registered", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid key, kind, party or role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    signed: Signed<SingleBody>,
) -> Result<Response, ApiError> {
    let caller = &signed.caller;
    require(caller.role, Action::RegisterSource)?;
    if let Some(answer) = earlier_submission(&state, caller).await? {
        return Ok(answer);
    }
    let request: SourceRegistrationRequest = parse_json(&signed.body)?;
    let mut problems = Vec::new();
    let verifier = match Verifier::from_vkey(request.vkey.trim()) {
        Ok(verifier) if verifier.signature_type() != SignatureType::Ed25519 => {
            problems.push(FieldProblem::at(
                "/vkey",
                "the key is not an Ed25519 (type 0x01) note key",
            ));
            None
        }
        Ok(verifier) if !fits_header(verifier.name().as_str()) => {
            problems.push(FieldProblem::at(
                "/vkey",
                format!(
                    "key name {:?} cannot be sent in a header: use printable ASCII without , \" or \\",
                    verifier.name().as_str()
                ),
            ));
            None
        }
        Ok(verifier) => Some(verifier),
        Err(error) => {
            problems.push(FieldProblem::at(
                "/vkey",
                format!("{:?} is not a verifier key: {error}", request.vkey),
            ));
            None
        }
    };
    let kind = match request.kind.parse::<SourceKind>() {
        Ok(kind) => Some(kind),
        Err(error) => {
            problems.push(FieldProblem::at("/kind", error.to_string()));
            None
        }
    };
    if let Some(kind) = kind {
        match (&request.party, kind) {
            (None, SourceKind::Party) => {
                problems.push(FieldProblem::at(
                    "/party",
                    "a source of kind party needs its party",
                ));
            }
            (Some(party), _) if party.trim().is_empty() => {
                problems.push(FieldProblem::at("/party", "the party must not be empty"));
            }
            _ => {}
        }
        let implied = role_for(kind, false);
        if let Some(role) = &request.role {
            match role.parse::<Role>() {
                Ok(role) if role == implied => {}
                Ok(role) => problems.push(FieldProblem::at(
                    "/role",
                    format!(
                        "role {role} does not follow from kind {kind}: the log records no role, a source of kind {kind} is a {implied}, and only the first key of the log is admin"
                    ),
                )),
                Err(error) => problems.push(FieldProblem::at("/role", error.to_string())),
            }
        }
    }
    let (Some(verifier), Some(kind), true) = (verifier, kind, problems.is_empty()) else {
        return Err(ApiError::Invalid {
            detail: format!("the registration has {} problem(s)", problems.len()),
            errors: problems,
        });
    };
    let entry = Entry::SourceRegistration(SourceRegistration {
        source_id: verifier.name().as_str().to_owned(),
        kind,
        party: request.party,
        public_key: *verifier.public_key(),
    });
    commit(&state, caller, vec![prepared(entry, String::new())?]).await
}

/// Revokes a source's key (admin). The key is refused from then on.
#[utoipa::path(
    post,
    path = "/v1/sources/{name}/revoke",
    tag = "sources",
    params(("name" = String, Path, description = "The source's name")),
    responses(
        (status = 201, description = "Logged; the receipt of the revocation", body = crate::views::Submitted),
        (status = 200, description = "The same request was logged before: its receipt", body = crate::views::Submitted),
        (status = 400, description = "Malformed header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such source", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already revoked, or the admin's own key", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Path(name): Path<String>,
    signed: Signed<SingleBody>,
) -> Result<Response, ApiError> {
    let caller = &signed.caller;
    require(caller.role, Action::RevokeSource)?;
    if let Some(answer) = earlier_submission(&state, caller).await? {
        return Ok(answer);
    }
    let not_found = || ApiError::NotFound {
        what: format!("source {name:?}"),
        parameter: "name",
    };
    let key_name = KeyName::new(&name).map_err(|_| not_found())?;
    let source = state.shared.registry.get(&key_name).ok_or_else(not_found)?;
    if source.key.role == Role::Admin {
        return Err(ApiError::Conflict(FieldProblem::parameter(
            "name",
            format!("source {name:?} is the admin; the admin's key cannot be revoked"),
        )));
    }
    let entry = Entry::SourceRegistration(SourceRegistration {
        source_id: name,
        kind: source.kind,
        party: source.key.party,
        public_key: REVOKED_KEY,
    });
    commit(&state, caller, vec![prepared(entry, String::new())?]).await
}

/// The registered sources a reader may see: every source for roles that
/// read identities, a party's own sources for a party, none for the public.
#[utoipa::path(
    get,
    path = "/v1/sources",
    tag = "sources",
    responses(
        (status = 200, description = "The sources the reader may see", body = SourceList, headers(("Truce-Store-Size" = u64, description = "The store size (log entries) the answer reflects at least; from a read replica, possibly fewer than the log holds"))),
        (status = 400, description = "Malformed signature header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "A signature that does not verify", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    reader: ReaderAuth,
) -> Result<(StoreSize, Json<SourceList>), ApiError> {
    let role = reader.role();
    let (store, size) = read_store(&state).await?;
    if role == Role::Public {
        return Ok((
            size,
            Json(SourceList {
                sources: Vec::new(),
            }),
        ));
    }
    let sources = store
        .sources()
        .await
        .map_err(|error| ApiError::internal(&error))?;
    let all = permits(role, Action::ReadSourceIdentities);
    let sources = sources
        .into_iter()
        .filter(|source| {
            all || may_read_source_identity(role, reader.party(), source.party.as_deref())
        })
        .map(SourceView::from)
        .collect();
    Ok((size, Json(SourceList { sources })))
}
