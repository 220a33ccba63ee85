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
