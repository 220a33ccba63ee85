//! The committed schema.graphql is exactly what the server exports.
//! Run with UPDATE_SCHEMA=1 to rewrite it after a deliberate change.

#[test]
fn schema_graphql_is_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let exported = tessera::schema::sdl();
    if std::env::var("UPDATE_SCHEMA").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &exported).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == exported, "schema.graphql is stale: run `UPDATE_SCHEMA=1 cargo test --test schema` and commit the result");
}

/// The one list of credential fields names real mutations: a renamed field
/// would otherwise silently lose its per-request and per-IP limits.
#[test]
fn every_credential_field_is_a_mutation() {
    let sdl = tessera::schema::sdl();
    let mutation = sdl.split("type Mutation {").nth(1).and_then(|rest| rest.split("\n}").next()).expect("a Mutation type");
    for field in tessera::graphql::limits::CREDENTIAL_FIELDS {
        let declared = mutation.lines().any(|line| line.trim_start().starts_with(&format!("{field}(")));
        assert!(declared, "{field} is in CREDENTIAL_FIELDS but is not a mutation");
    }
}
