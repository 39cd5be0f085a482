//! Backups (`VACUUM INTO` while serving) and restores (checked before they
//! replace anything).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection, SqlitePool};

use super::{APPLICATION_ID, DATABASE_FILE, MIGRATOR, temporary_path};
use crate::StoreError;

/// A [`StoreError::Io`] for `operation` on `path`, for use with `map_err`.
fn io_error(operation: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
    let path = path.to_owned();
    move |source| StoreError::Io {
        operation,
        path,
        source,
    }
}

/// Runs blocking file-system work off the async threads.
async fn blocking<T: Send + 'static>(
    path: &Path,
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|join| StoreError::Io {
            operation: "finish file work on",
            path: path.to_owned(),
            source: io::Error::other(join.to_string()),
        })?
}

/// Flushes a directory's entries (a new or renamed file's name) to disk.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(io_error("sync the directory", dir))
}

/// Removes `path` if it exists, for cleaning up after a failure.
fn discard(path: &Path) {
    if let Err(error) = std::fs::remove_file(path)
        && error.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), %error, "cannot remove a temporary file");
    }
}

/// The absolute form of `dest` and its directory.
fn absolute_parts(dest: &Path) -> Result<(PathBuf, PathBuf, String), StoreError> {
    let unusable = |reason| StoreError::UnusablePath {
        path: dest.to_owned(),
        reason,
    };
    let dest = std::path::absolute(dest).map_err(io_error("resolve", dest))?;
    let name = dest
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| unusable("it has no UTF-8 file name"))?
        .to_owned();
    let dir = dest
        .parent()
        .ok_or_else(|| unusable("it has no parent directory"))?
        .to_owned();
    Ok((dest, dir, name))
}

/// See [`Store::backup`](crate::Store::backup). The snapshot is written
/// beside `dest` under a temporary name, synced, then linked to `dest`, which
/// fails rather than replace a file that appeared meanwhile.
pub(super) async fn backup(readers: &SqlitePool, dest: &Path) -> Result<(), StoreError> {
    let (dest, dir, name) = absolute_parts(dest)?;
    if tokio::fs::symlink_metadata(&dest).await.is_ok() {
        return Err(StoreError::BackupExists { path: dest });
    }
    let partial = temporary_path(&dir, &name, "partial");
    let Some(partial_text) = partial.to_str().map(str::to_owned) else {
        return Err(StoreError::UnusablePath {
            path: dest,
            reason: "its directory is not UTF-8",
        });
    };
    // One read transaction: the snapshot is the database as of one commit.
    if let Err(source) = sqlx::query("VACUUM INTO ?")
        .bind(partial_text)
        .execute(readers)
        .await
    {
        discard(&partial);
        return Err(StoreError::Database {
            operation: "writing a snapshot",
            source,
        });
    }
    let shown = dest.clone();
    blocking(&shown, move || {
        let published = publish(&partial, &dest, &dir);
        discard(&partial);
        published
    })
    .await?;
    tracing::info!(path = %shown.display(), "store backed up");
    Ok(())
}

/// Syncs `partial` and gives it the name `dest` without replacing anything.
fn publish(partial: &Path, dest: &Path, dir: &Path) -> Result<(), StoreError> {
    File::open(partial)
        .and_then(|file| file.sync_all())
        .map_err(io_error("sync the snapshot", partial))?;
    match std::fs::hard_link(partial, dest) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            return Err(StoreError::BackupExists {
                path: dest.to_owned(),
            });
        }
        // A file system without hard links: check, then rename (a file
        // created in between by someone else would be replaced).
        Err(_) => {
            if std::fs::symlink_metadata(dest).is_ok() {
                return Err(StoreError::BackupExists {
                    path: dest.to_owned(),
                });
            }
            std::fs::rename(partial, dest).map_err(io_error("name the snapshot", dest))?;
        }
    }
    sync_dir(dir)
}

/// See [`SqliteStore::restore`](super::SqliteStore::restore).
pub(super) async fn restore(snapshot: &Path, data_dir: &Path) -> Result<(), StoreError> {
    tokio::fs::create_dir_all(data_dir)
        .await
        .map_err(io_error("create the data directory", data_dir))?;
    let data_dir = tokio::fs::canonicalize(data_dir)
        .await
        .map_err(io_error("resolve the data directory", data_dir))?;
    let staged = temporary_path(&data_dir, DATABASE_FILE, "restore");
    if let Err(error) = tokio::fs::copy(snapshot, &staged).await {
        discard(&staged);
        return Err(StoreError::Io {
            operation: "copy the snapshot",
            path: snapshot.to_owned(),
            source: error,
        });
    }
    if let Err(error) = check_snapshot(&staged, snapshot).await {
        discard(&staged);
        return Err(error);
    }
    let target = data_dir.join(DATABASE_FILE);
    let shown = target.clone();
    blocking(&shown, move || {
        let installed = install(&staged, &target, &data_dir);
        if installed.is_err() {
            discard(&staged);
        }
        installed
    })
    .await?;
    tracing::info!(path = %shown.display(), snapshot = %snapshot.display(), "store restored");
    Ok(())
}

/// Moves the checked copy into place. The old database's WAL and shared
/// memory files go first: left beside the new file, SQLite would replay the
/// old WAL into it.
fn install(staged: &Path, target: &Path, data_dir: &Path) -> Result<(), StoreError> {
    File::open(staged)
        .and_then(|file| file.sync_all())
        .map_err(io_error("sync the restored copy", staged))?;
    for suffix in ["-wal", "-shm"] {
        let mut side = target.as_os_str().to_owned();
        side.push(suffix);
        let side = PathBuf::from(side);
        match std::fs::remove_file(&side) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(io_error("remove the old database's", &side)(error)),
        }
    }
    std::fs::rename(staged, target).map_err(io_error("move the restored copy to", target))?;
    sync_dir(data_dir)
}

/// Checks that `staged` (a copy of `shown`) is a complete truce store.
async fn check_snapshot(staged: &Path, shown: &Path) -> Result<(), StoreError> {
    let refuse = |reason: String| StoreError::NotATruceStore {
        path: shown.to_owned(),
        reason,
    };
    let options = SqliteConnectOptions::new().filename(staged);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|error| refuse(format!("it does not open ({error})")))?;
    let checked = check_schema(&mut conn).await.map_err(refuse);
    if let Err(error) = conn.close().await {
        tracing::warn!(%error, "closing the checked snapshot failed");
    }
    checked
}

async fn check_schema(conn: &mut SqliteConnection) -> Result<(), String> {
    let application_id: i64 = sqlx::query_scalar("PRAGMA application_id")
        .fetch_one(&mut *conn)
        .await
        .map_err(|error| format!("it is not an SQLite database ({error})"))?;
    if application_id != APPLICATION_ID {
        return Err(format!(
            "its application_id is {application_id}, not {APPLICATION_ID}"
        ));
    }
    let check: Vec<String> = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_all(&mut *conn)
        .await
        .map_err(|error| format!("its integrity check cannot run ({error})"))?;
    if check != ["ok"] {
        return Err(format!("its integrity check failed: {}", check.join("; ")));
    }
    let applied: Vec<(i64, Vec<u8>, bool)> =
        sqlx::query_as("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await
            .map_err(|error| format!("it has no migration history ({error})"))?;
    if applied.is_empty() {
        return Err("its migration history is empty".to_owned());
    }
    for (version, checksum, success) in applied {
        let Some(known) = MIGRATOR
            .iter()
            .find(|migration| migration.version == version)
        else {
            return Err(format!(
                "it has migration {version}, which this build does not know"
            ));
        };
        if *known.checksum != *checksum {
            return Err(format!("its migration {version} differs from this build's"));
        }
        if !success {
            return Err(format!("its migration {version} did not complete"));
        }
    }
    let applied_size: Option<i64> =
        sqlx::query_scalar("SELECT applied_size FROM store_state WHERE id = 1")
            .fetch_optional(&mut *conn)
            .await
            .map_err(|error| format!("it has no store state ({error})"))?;
    match applied_size {
        Some(size) if size >= 0 => Ok(()),
        Some(size) => Err(format!("its applied size {size} is negative")),
        None => Err("it has no applied size".to_owned()),
    }
}
