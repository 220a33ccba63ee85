//! Uploads: read and checked off the async runtime, stored under a fresh
//! random key, and linked by an absolute URL.
use crate::error::{AppError, UserError, UserErrorCode};
use crate::media::image_check::{check_and_reencode, CheckedImage, ImageKind, ImageProblem};
use crate::media_store::MediaStore;
use crate::state::AppState;

/// The absolute URL a client fetches a stored picture from.
pub fn public_url(state: &AppState, key: &str) -> String {
    match &state.config.media.public_url {
        Some(base) => format!("{base}/{key}"),
        None => format!("{}/media/{}", state.config.server.public_url(), key),
    }
}

/// What a stored key holds, judged by its shape: None for anything that is
/// not a picture key of ours.
pub fn kind_of_key(key: &str) -> Option<ImageKind> {
    MediaStore::key_extension(key).and_then(ImageKind::from_extension)
}

/// Reads and checks an uploaded picture (off the async runtime). A problem
/// with the picture is a UserError on `field`; nothing is stored yet.
pub async fn check_upload(
    state: &AppState,
    upload: async_graphql::UploadValue,
    field: &[&str],
) -> Result<Result<CheckedImage, UserError>, AppError> {
    let max = state.config.media.max_upload_bytes;
    let checked = tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut bytes = Vec::new();
        // One byte past the limit is enough to know it is too large.
        upload.content.take(max as u64 + 1).read_to_end(&mut bytes).map_err(|e| AppError::internal("reading an upload", e))?;
        Ok::<_, AppError>(check_and_reencode(&bytes, max))
    })
    .await
    .map_err(|e| AppError::internal("upload task", e))??;
    Ok(checked.map_err(|problem| match problem {
        ImageProblem::TooLarge => {
            UserError::new(field, UserErrorCode::FileTooLarge, format!("The picture is larger than {} KiB.", max / 1024))
        }
        ImageProblem::Unsupported(message) => UserError::new(field, UserErrorCode::UnsupportedFileType, message),
    }))
}

/// Stores a checked picture under a new random key.
pub async fn put_checked(state: &AppState, checked: CheckedImage) -> Result<String, AppError> {
    let key = MediaStore::new_key(checked.kind.extension());
    state.media.put(&key, checked.bytes).await?;
    Ok(key)
}

/// Deletes stored pictures that no profile points at and that were stored
/// more than `grace` ago (younger ones may belong to a request still
/// running): what a crash between storing and recording leaves behind.
/// Returns how many it deleted. Every instance may run it; deleting twice is harmless.
pub async fn sweep_orphans(state: &AppState, db: &sea_orm::DatabaseConnection, grace: std::time::Duration) -> Result<usize, AppError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    let cutoff = chrono::Utc::now() - chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::days(1));
    let candidates = state.media.keys_older_than(cutoff).await?;
    let mut deleted = state.media.remove_stale_staging_files(cutoff).await?;
    for batch in candidates.chunks(500) {
        let referenced: std::collections::HashSet<String> = crate::entities::profile::Entity::find()
            .select_only()
            .column(crate::entities::profile::Column::DisplayPicKey)
            .filter(crate::entities::profile::Column::DisplayPicKey.is_in(batch.iter().cloned()))
            .into_tuple::<Option<String>>()
            .all(db)
            .await?
            .into_iter()
            .flatten()
            .collect();
        for key in batch.iter().filter(|key| !referenced.contains(*key)) {
            state.media.delete_quietly(key).await;
            deleted += 1;
        }
    }
    Ok(deleted)
}
