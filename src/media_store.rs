//! Where uploaded files live: a folder by default, S3 (or any S3-compatible
//! store) in production, both through object_store. Keys are random and
//! immutable: 32 hex digits and an extension.
use std::sync::Arc;

use anyhow::{bail, Context};
use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{GetResult, ObjectStore, PutPayload};

use crate::error::AppError;

#[derive(Clone)]
pub struct MediaStore {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    /// The folder, for a folder store (see `remove_stale_staging_files`).
    folder: Option<std::path::PathBuf>,
}

impl MediaStore {
    /// `file:///abs/dir` (or a plain path) or `s3://bucket/prefix`. For S3,
    /// credentials and region come from the usual AWS_* variables.
    pub fn open(url: &str, s3_endpoint: Option<&str>) -> anyhow::Result<MediaStore> {
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                bail!("MEDIA_STORE_URL `{url}` names no bucket");
            }
            let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
            if std::env::var("AWS_DEFAULT_REGION").is_err() && std::env::var("AWS_REGION").is_err() {
                builder = builder.with_region("us-east-1");
            }
            if let Some(endpoint) = s3_endpoint {
                builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
            }
            let store = builder.build().context("configuring the S3 media store")?;
            return Ok(MediaStore { store: Arc::new(store), prefix: Path::from(prefix.trim_matches('/')), folder: None });
        }
        let dir = url.strip_prefix("file://").unwrap_or(url);
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create the media folder {dir}"))?;
        let store = LocalFileSystem::new_with_prefix(dir).with_context(|| format!("opening the media folder {dir}"))?;
        Ok(MediaStore { store: Arc::new(store), prefix: Path::default(), folder: Some(dir.into()) })
    }

    /// A fresh random key: nothing of the client's file name goes into it.
    pub fn new_key(extension: &str) -> String {
        format!("{}.{}", uuid::Uuid::new_v4().simple(), extension)
    }

    /// The extension of a key of our shape (32 hex digits, a dot, an
    /// extension); None for anything else, which is then never looked up.
    pub fn key_extension(key: &str) -> Option<&str> {
        let (id, extension) = key.split_once('.')?;
        let ours = id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        (ours && !extension.is_empty() && extension.bytes().all(|b| b.is_ascii_lowercase())).then_some(extension)
    }

    fn path(&self, key: &str) -> Path {
        self.prefix.child(key)
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), AppError> {
        self.store
            .put(&self.path(key), PutPayload::from(Bytes::from(bytes)))
            .await
            .map_err(|e| AppError::internal("storing a picture", e))?;
        Ok(())
    }

    /// None when there is no such object.
    pub async fn get(&self, key: &str) -> Result<Option<GetResult>, AppError> {
        match self.store.get(&self.path(key)).await {
            Ok(result) => Ok(Some(result)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(AppError::internal("reading a picture", error)),
        }
    }

    /// Deletes an object; a failure is logged, not raised: by then the
    /// database no longer points at it, so it is garbage, not data.
    pub async fn delete_quietly(&self, key: &str) {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(error) => tracing::warn!(%key, %error, "could not delete a stored picture"),
        }
    }

    /// A folder store writes each file as `<key>#<n>` and renames it into
    /// place; a process killed in between leaves that staging file, which
    /// object_store's listing never shows. Those of our keys older than
    /// `cutoff` are removed; returns how many.
    pub async fn remove_stale_staging_files(&self, cutoff: chrono::DateTime<chrono::Utc>) -> Result<usize, AppError> {
        let Some(folder) = self.folder.clone() else { return Ok(0) };
        let cutoff = std::time::SystemTime::from(cutoff);
        let removed = tokio::task::spawn_blocking(move || -> std::io::Result<usize> {
            let mut removed = 0;
            for entry in std::fs::read_dir(&folder)? {
                let entry = entry?;
                let name = entry.file_name();
                let Some((key, attempt)) = name.to_str().and_then(|name| name.rsplit_once('#')) else { continue };
                let staging = Self::key_extension(key).is_some() && !attempt.is_empty() && attempt.bytes().all(|b| b.is_ascii_digit());
                // Another instance's sweep may have removed it first.
                let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
                let stale = match entry.metadata().and_then(|m| m.modified()) {
                    Ok(modified) => modified < cutoff,
                    Err(e) if gone(&e) => false,
                    Err(e) => return Err(e),
                };
                if staging && stale {
                    match std::fs::remove_file(entry.path()) {
                        Ok(()) => removed += 1,
                        Err(e) if gone(&e) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Ok(removed)
        })
        .await
        .map_err(|e| AppError::internal("removing staging files", e))?
        .map_err(|e| AppError::internal("removing staging files", e))?;
        Ok(removed)
    }

    /// Keys of our shape stored before `cutoff`, for the orphan sweep
    /// (anything else sharing the bucket or folder is never touched).
    pub async fn keys_older_than(&self, cutoff: chrono::DateTime<chrono::Utc>) -> Result<Vec<String>, AppError> {
        use futures::TryStreamExt;
        let prefix = (!self.prefix.as_ref().is_empty()).then_some(&self.prefix);
        let listed: Vec<object_store::ObjectMeta> =
            self.store.list(prefix).try_collect().await.map_err(|e| AppError::internal("listing stored pictures", e))?;
        Ok(listed
            .into_iter()
            .filter(|meta| meta.last_modified < cutoff)
            .filter_map(|meta| meta.location.filename().map(str::to_owned))
            .filter(|key| Self::key_extension(key).is_some())
            .collect())
    }

    pub async fn exists(&self, key: &str) -> Result<bool, AppError> {
        match self.store.head(&self.path(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(AppError::internal("checking a picture", error)),
        }
    }
}
