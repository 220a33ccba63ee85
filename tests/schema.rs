//! The committed schema.graphql is exactly what the server exports.
//! Run with UPDATE_SCHEMA=1 to rewrite it after a deliberate change.

#[test]
fn schema_graphql_is_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let exported = tessera::graphql::schema::sdl();
    if std::env::var("UPDATE_SCHEMA").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &exported).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == exported,
        "schema.graphql is stale: run `UPDATE_SCHEMA=1 cargo test --test schema` and commit the result"
    );
}
