//! Parsed documents, kept by the SHA-256 of their text: a query sent again
//! skips parsing and the request-limit checks, and a client that knows a
//! query's hash may send the hash alone (Apollo's automatic persisted
//! queries: `extensions.persistedQuery.sha256Hash`).
//!
//! The cache is per instance and bounded. That is safe behind a load
//! balancer: a hash this instance has not seen answers
//! PERSISTED_QUERY_NOT_FOUND, and the client sends the query text once more.
use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::ServerError;
use sha2::{Digest, Sha256};

use crate::cache::BoundedCache;
use crate::error::ErrorCode;

pub type Hash = [u8; 32];

/// How many distinct documents an instance keeps: far more than the
/// operations an app sends, few enough to bound memory (~a few MiB).
pub const DOCUMENT_CACHE_CAPACITY: usize = 1024;

/// A document that parsed and passed `limits::check`.
pub struct Checked {
    pub document: ExecutableDocument,
    /// The text it was parsed from, for hash-only requests.
    pub text: Arc<str>,
}

/// What a request's query turned out to be.
pub enum Prepared {
    /// Parsed and within the limits; the request's query text is set.
    Ready(Arc<Checked>),
    /// It does not parse: left to async-graphql, which reports where.
    Unparsable,
}

/// Checked documents by hash (see `BoundedCache`).
pub struct Documents {
    cache: BoundedCache<Hash, Arc<Checked>>,
}

impl Documents {
    pub fn new(capacity: usize) -> Self {
        Documents { cache: BoundedCache::new(capacity) }
    }

    /// Finds or parses the request's document. Fills in the query text of a
    /// hash-only request; a refusal is a request error to answer as is.
    pub fn prepare(&self, request: &mut async_graphql::Request) -> Result<Prepared, ServerError> {
        let persisted = persisted_hash(request)?;
        let hash = match persisted {
            Some(hash) if request.query.is_empty() => {
                let found = self.get(&hash).ok_or_else(|| ErrorCode::PersistedQueryNotFound.server_error("PersistedQueryNotFound"))?;
                request.query = found.text.to_string();
                return Ok(Prepared::Ready(found));
            }
            Some(hash) => {
                if sha256(&request.query) != hash {
                    return Err(ErrorCode::BadRequest.server_error("The persisted query's sha256Hash is not the SHA-256 of its query."));
                }
                hash
            }
            None => sha256(&request.query),
        };
        if let Some(found) = self.get(&hash) {
            return Ok(Prepared::Ready(found));
        }
        let Ok(document) = async_graphql::parser::parse_query(&request.query) else { return Ok(Prepared::Unparsable) };
        super::limits::check(&document)?;
        let checked = Arc::new(Checked { document, text: Arc::from(request.query.as_str()) });
        self.insert(hash, checked.clone());
        Ok(Prepared::Ready(checked))
    }

    fn get(&self, hash: &Hash) -> Option<Arc<Checked>> {
        self.cache.get(hash)
    }

    fn insert(&self, hash: Hash, checked: Arc<Checked>) {
        self.cache.insert(hash, checked);
    }

    /// How many documents are kept now.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}

fn sha256(text: &str) -> Hash {
    Sha256::digest(text.as_bytes()).into()
}

/// `extensions.persistedQuery.sha256Hash`, when the request carries one.
fn persisted_hash(request: &async_graphql::Request) -> Result<Option<Hash>, ServerError> {
    use async_graphql::Value;
    let Some(persisted) = request.extensions.get("persistedQuery") else { return Ok(None) };
    let invalid = || ErrorCode::BadRequest.server_error("extensions.persistedQuery needs version 1 and a sha256Hash of 64 hex digits.");
    let Value::Object(fields) = persisted else { return Err(invalid()) };
    match fields.get("version") {
        Some(Value::Number(version)) if version.as_u64() == Some(1) => {}
        _ => return Err(ErrorCode::PersistedQueryNotSupported.server_error("PersistedQueryNotSupported")),
    }
    let Some(Value::String(hex_hash)) = fields.get("sha256Hash") else { return Err(invalid()) };
    let mut hash = [0u8; 32];
    hex::decode_to_slice(hex_hash.to_ascii_lowercase(), &mut hash).map_err(|_| invalid())?;
    Ok(Some(hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str) -> async_graphql::Request {
        async_graphql::Request::new(query)
    }

    #[test]
    fn a_document_is_parsed_once_and_found_by_its_hash() {
        let documents = Documents::new(8);
        let query = "{ me { id } }";
        assert!(matches!(documents.prepare(&mut request(query)), Ok(Prepared::Ready(_))));
        assert_eq!(documents.len(), 1);
        let mut by_hash = request("");
        let hash = hex::encode(sha256(query));
        by_hash.extensions.insert(
            "persistedQuery".into(),
            async_graphql::Value::from_json(serde_json::json!({"version": 1, "sha256Hash": hash})).unwrap(),
        );
        assert!(matches!(documents.prepare(&mut by_hash), Ok(Prepared::Ready(_))));
        assert_eq!(by_hash.query, query);
    }

    #[test]
    fn the_cache_stays_bounded_and_keeps_what_is_used() {
        let documents = Documents::new(4);
        documents.prepare(&mut request("{ a: me { id } }")).ok();
        for i in 0..10 {
            documents.prepare(&mut request(&format!("{{ a{i}: me {{ id }} }}"))).ok();
            documents.prepare(&mut request("{ a: me { id } }")).ok();
        }
        assert!(documents.len() <= 4);
        assert!(documents.get(&sha256("{ a: me { id } }")).is_some());
    }

    #[test]
    fn unknown_and_wrong_hashes_are_refused_and_bad_queries_left_to_the_parser() {
        let documents = Documents::new(8);
        let mut unknown = request("");
        unknown.extensions.insert(
            "persistedQuery".into(),
            async_graphql::Value::from_json(serde_json::json!({"version": 1, "sha256Hash": "ab".repeat(32)})).unwrap(),
        );
        let error = documents.prepare(&mut unknown).err().unwrap();
        assert_eq!(error.message, "PersistedQueryNotFound");
        let mut wrong = request("{ me { id } }");
        wrong.extensions = unknown.extensions.clone();
        assert!(documents.prepare(&mut wrong).is_err());
        assert!(matches!(documents.prepare(&mut request("{ me { ")), Ok(Prepared::Unparsable)));
        assert!(documents.is_empty());
    }
}
