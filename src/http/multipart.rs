//! The map of a GraphQL multipart request, held to the spec. async-graphql
//! skips a map path that names no variable and lets a second file mapped to
//! one variable win; both are refused here, as a 400 BAD_REQUEST. (A file
//! mapped to a variable that is not an Upload is refused by
//! `graphql::inputs`, which knows the schema's types.)
use std::collections::{HashMap, HashSet};

use async_graphql::Value;

/// The map of `body`, checked against the request async-graphql read from it.
pub async fn check_map(content_type: &str, body: bytes::Bytes, request: &async_graphql::Request) -> Result<(), String> {
    let map = read_map(content_type, body).await.ok_or("The multipart request has no readable map.")?;
    let mut seen = HashSet::new();
    for (file, paths) in &map {
        if paths.is_empty() {
            return Err(format!("The multipart map gives the file `{file}` no variable."));
        }
        for path in paths {
            if !seen.insert(path.as_str()) {
                return Err(format!("The multipart map puts two files at `{path}`: map one file to each Upload."));
            }
            let placed = path.strip_prefix("variables.").and_then(|rest| value_at(&request.variables, rest));
            if !matches!(placed, Some(Value::String(text)) if text.starts_with("#__graphql_file__:")) {
                return Err(format!("The multipart map path `{path}` names no variable of the operation."));
            }
        }
    }
    Ok(())
}

async fn read_map(content_type: &str, body: bytes::Bytes) -> Option<HashMap<String, Vec<String>>> {
    let boundary = multer::parse_boundary(content_type).ok()?;
    let stream = futures::stream::once(std::future::ready(Ok::<_, std::io::Error>(body)));
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Some(field) = multipart.next_field().await.ok()? {
        if field.name() == Some("map") {
            return serde_json::from_slice(&field.bytes().await.ok()?).ok();
        }
    }
    None
}

/// The value at a dotted path (`input.pictures.0`) in the variables.
fn value_at<'a>(variables: &'a async_graphql::Variables, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let first = variables.get(parts.next()?)?;
    parts.try_fold(first, |value, part| match value {
        Value::List(items) => items.get(part.parse::<usize>().ok()?),
        Value::Object(fields) => fields.get(part),
        _ => None,
    })
}
