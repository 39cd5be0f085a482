//! `/healthz` (the process is up) and `/readyz` (the store has caught up
//! with the log and answers, and so does the read replica if one is
//! configured).

use axum::Json;
use axum::extract::State;

use crate::api::store_reachable;
use crate::error::ApiError;
use crate::state::AppState;
use crate::views::Health;

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    responses((status = 200, description = "Up", body = Health))
)]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        log_size: None,
        role: None,
    })
}

/// The store has caught up with the log and is reachable, and so is the
/// read replica if one is configured (its lag is not judged: reads from it
/// say their size): the server serves.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "meta",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Still catching up with the log, or the store or the read replica does not answer", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let not_ready = ApiError::NotReady {
        retry_after_s: state.config().retry_after_s,
    };
    if !state.is_ready() {
        return Err(not_ready);
    }
    if store_reachable(&state).await.is_err() {
        return Err(not_ready);
    }
    Ok(Json(Health {
        status: "ok".to_owned(),
        log_size: Some(state.log_size()),
        role: if state.shared.follower.is_some() {
            Some("follower".to_owned())
        } else if state.shared.lease.is_some() {
            Some("sequencer".to_owned())
        } else {
            None
        },
    }))
}
