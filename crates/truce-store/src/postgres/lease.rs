//! The sequencer lease: which instance may append to the log, for how long,
//! and the fencing token of its term (see [`PgLog`]).
//!
//! Expiry is decided by the database's clock alone (`now()`), so instances
//! whose clocks disagree still agree on who holds the lease.

use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::runtime::Handle;

use super::log::{Fence, PgLog, PgLogError, PgTileStore, token_from_db};
use super::record::PgJournal;

/// The shortest time to live a lease may be asked for.
const MIN_TTL: Duration = Duration::from_millis(1);

/// The longest time to live a lease may be asked for.
const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The lease row as the database sees it at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequencerState {
    /// Who holds or last held the lease; `None` if it was released or never
    /// taken.
    pub holder: Option<String>,
    /// The fencing token of the latest acquisition (0 before any).
    pub token: u64,
    /// How long the lease has left, zero when it has expired (or is free).
    pub remaining: Duration,
    /// The base URL the holder advertised for the other instances to
    /// forward writes to ([`SequencerLease::advertise`]), if any.
    pub address: Option<String>,
}

impl SequencerState {
    pub(super) async fn read(pool: &PgPool) -> Result<Self, PgLogError> {
        let (holder, token, remaining_us, address): (Option<String>, i64, i64, Option<String>) =
            sqlx::query_as(
                "SELECT holder, token, \
                 CASE WHEN expires_at > now() \
                      THEN (extract(epoch FROM expires_at - now()) * 1000000)::bigint \
                      ELSE 0 END, \
                 address \
                 FROM log_sequencer WHERE id = 1",
            )
            .fetch_one(pool)
            .await
            .map_err(PgLogError::database("reading the sequencer lease"))?;
        Ok(SequencerState {
            holder,
            token: token_from_db(token)?,
            remaining: Duration::from_micros(u64::try_from(remaining_us).unwrap_or(0)),
            address,
        })
    }

    /// Whether someone holds a lease that has not expired.
    pub fn is_held(&self) -> bool {
        self.holder.is_some() && !self.remaining.is_zero()
    }
}

/// The right to append to the log, held by one instance at a time until it
/// expires or is released. Made by [`SequencerLease::acquire`]; renew it
/// ([`SequencerLease::renew`]) well before [`SequencerLease::valid_until`].
#[derive(Debug)]
pub struct SequencerLease {
    pool: PgPool,
    holder: String,
    token: u64,
    ttl: Duration,
    valid_until: Instant,
}

/// The time to live in seconds, for `make_interval`, if it is in range.
fn ttl_seconds(ttl: Duration) -> Result<f64, PgLogError> {
    if (MIN_TTL..=MAX_TTL).contains(&ttl) {
        Ok(ttl.as_secs_f64())
    } else {
        Err(PgLogError::InvalidTtl { ttl })
    }
}

impl SequencerLease {
    /// Takes the lease for `holder` for `ttl` (1 ms to 24 h) if it is free,
    /// expired, or already `holder`'s; `None` while another holder's lease
    /// is live.
    ///
    /// The token grows by one unless this renews `holder`'s own live lease:
    /// a takeover, an acquisition after expiry (even by the same holder) or
    /// after a release starts a new term, and every store made under an
    /// older token is fenced from then on. One statement decides, under the
    /// row's lock, so of several instances racing for a free lease exactly
    /// one gets it.
    pub async fn acquire(
        log: &PgLog,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<SequencerLease>, PgLogError> {
        if holder.is_empty() {
            return Err(PgLogError::EmptyHolder);
        }
        let seconds = ttl_seconds(ttl)?;
        // Taken before the request goes out: the database's expiry, counted
        // from its `now()` once the statement runs, cannot come earlier.
        let sent = Instant::now();
        let token: Option<i64> = sqlx::query_scalar(
            "UPDATE log_sequencer SET \
                 token = CASE WHEN holder = $1 AND expires_at > now() \
                              THEN token ELSE token + 1 END, \
                 address = CASE WHEN holder = $1 AND expires_at > now() \
                                THEN address ELSE NULL END, \
                 holder = $1, \
                 expires_at = now() + make_interval(secs => $2) \
             WHERE id = 1 AND (holder IS NULL OR holder = $1 OR expires_at <= now()) \
             RETURNING token",
        )
        .bind(holder)
        .bind(seconds)
        .fetch_optional(log.pool())
        .await
        .map_err(PgLogError::database("acquiring the sequencer lease"))?;
        let Some(token) = token else {
            return Ok(None);
        };
        let token = token_from_db(token)?;
        tracing::info!(holder, token, "sequencer lease acquired");
        Ok(Some(SequencerLease {
            pool: log.pool().clone(),
            holder: holder.to_owned(),
            token,
            ttl,
            valid_until: sent + ttl,
        }))
    }

    /// The holder's name.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The fencing token of this term.
    pub fn token(&self) -> u64 {
        self.token
    }

    /// The time to live each acquisition or renewal grants.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A moment on this process's monotonic clock before which the lease
    /// cannot have expired (counted from before the last successful
    /// acquisition or renewal was sent). Only advice for when to stop
    /// appending or renew: what makes a lost lease harmless is the fencing
    /// of every write.
    pub fn valid_until(&self) -> Instant {
        self.valid_until
    }

    /// Extends the lease by its time to live from now, on the database's
    /// clock. Fails with [`PgLogError::Fenced`] if another holder took it or
    /// it was released; a lease that expired but that nobody took meanwhile
    /// is still this term's and is renewed (nobody else can have written).
    pub async fn renew(&mut self) -> Result<(), PgLogError> {
        let seconds = ttl_seconds(self.ttl)?;
        let sent = Instant::now();
        let token = i64::try_from(self.token).map_err(|_| self.corrupt_token())?;
        let renewed = sqlx::query(
            "UPDATE log_sequencer SET expires_at = now() + make_interval(secs => $3) \
             WHERE id = 1 AND holder = $1 AND token = $2",
        )
        .bind(&self.holder)
        .bind(token)
        .bind(seconds)
        .execute(&self.pool)
        .await
        .map_err(PgLogError::database("renewing the sequencer lease"))?
        .rows_affected();
        if renewed == 1 {
            self.valid_until = sent + self.ttl;
            return Ok(());
        }
        Err(self.fenced().await)
    }

    /// Advertises `address` (a base URL such as `http://10.0.0.5:8080`; `None`
    /// clears it) as where this term's sequencer takes writes, for the
    /// other instances to forward to. Fails with [`PgLogError::Fenced`] if
    /// the lease is no longer this term's.
    pub async fn advertise(&self, address: Option<&str>) -> Result<(), PgLogError> {
        let token = i64::try_from(self.token).map_err(|_| self.corrupt_token())?;
        let address = address.filter(|address| !address.is_empty());
        let set = sqlx::query(
            "UPDATE log_sequencer SET address = $3 WHERE id = 1 AND holder = $1 AND token = $2",
        )
        .bind(&self.holder)
        .bind(token)
        .bind(address)
        .execute(&self.pool)
        .await
        .map_err(PgLogError::database("advertising the sequencer's address"))?
        .rows_affected();
        if set == 1 {
            return Ok(());
        }
        Err(self.fenced().await)
    }

    /// Gives the lease up so another instance can take it at once; whether
    /// it was still this term's (`false`: someone else already holds it, or
    /// it was released before). Stores made under it are fenced afterwards.
    pub async fn release(self) -> Result<bool, PgLogError> {
        let token = i64::try_from(self.token).map_err(|_| self.corrupt_token())?;
        let released = sqlx::query(
            "UPDATE log_sequencer SET holder = NULL, address = NULL, expires_at = now() \
             WHERE id = 1 AND holder = $1 AND token = $2",
        )
        .bind(&self.holder)
        .bind(token)
        .execute(&self.pool)
        .await
        .map_err(PgLogError::database("releasing the sequencer lease"))?
        .rows_affected();
        if released == 1 {
            tracing::info!(
                holder = self.holder,
                token = self.token,
                "sequencer lease released"
            );
        }
        Ok(released == 1)
    }

    /// A tile store whose every write is fenced by this lease's holder and
    /// token (see [`PgLog`], also on `runtime`). It
    /// stays fenced by this term even after the lease is renewed; after the
    /// lease is lost it refuses every write.
    pub fn tile_store(&self, runtime: Handle) -> PgTileStore {
        PgTileStore::fenced(
            self.pool.clone(),
            runtime,
            Fence {
                holder: self.holder.clone(),
                token: self.token,
            },
        )
    }

    /// The entry journal's table for this term: every append is fenced by this lease's
    /// holder and token, as the tile store's writes are.
    pub fn journal(&self) -> PgJournal {
        PgJournal::new(
            self.pool.clone(),
            Some(Fence {
                holder: self.holder.clone(),
                token: self.token,
            }),
        )
    }

    /// The error for a renewal that found the lease gone, naming its state.
    async fn fenced(&self) -> PgLogError {
        match SequencerState::read(&self.pool).await {
            Ok(state) => PgLogError::Fenced {
                holder: self.holder.clone(),
                token: self.token,
                current_holder: state.holder,
                current_token: state.token,
            },
            Err(error) => error,
        }
    }

    fn corrupt_token(&self) -> PgLogError {
        PgLogError::Corrupt {
            field: "log_sequencer.token",
            value: self.token.to_string(),
        }
    }
}
