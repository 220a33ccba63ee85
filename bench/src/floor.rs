//! The floors Tessera is measured against: servers built from the same
//! crates (axum, async-graphql, sqlx through sea-orm's re-export, Tessera's
//! own token verification) that do the least work the same answer needs.
//! Each runs as its own process (`bench floor <kind>`), so that its CPU time
//! can be read from /proc like Tessera's.
//!
//! - `json`: axum answering the `me` JSON from memory;
//! - `graphql`: async-graphql executing the `me` query against an in-memory
//!   user, after verifying the request's access token;
//! - `one-select`: as `graphql`, the viewer (user and profile) read with one
//!   indexed SELECT per request from Tessera's own database;
//! - `hundred-rows`: as `one-select`, `profiles(userIds)` answered from one
//!   SELECT returning 100 rows.
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use async_graphql::{Context, EmptyMutation, EmptySubscription, Object, Schema, SimpleObject, ID};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sea_orm::sqlx::{self, postgres::PgPoolOptions, sqlite::SqlitePoolOptions, PgPool, SqlitePool};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Kind {
    Json,
    Graphql,
    OneSelect,
    HundredRows,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Json => "floor a: axum, me JSON from memory",
            Kind::Graphql => "floor b: + JWT + async-graphql, user in memory",
            Kind::OneSelect => "floor c: + one indexed SELECT",
            Kind::HundredRows => "floor d: + one SELECT of 100 rows",
        }
    }
}

/// The viewer's fields that the `me` scenario selects.
#[derive(Clone, Serialize, SimpleObject)]
#[serde(rename_all = "camelCase")]
struct Me {
    id: ID,
    email: String,
    full_name: Option<String>,
    profile: MeProfile,
}

#[derive(Clone, Serialize, SimpleObject)]
#[serde(rename_all = "camelCase")]
struct MeProfile {
    bio: Option<String>,
    interests: Vec<String>,
    display_pic_url: Option<String>,
}

/// The `profiles(userIds)` shape: `{ userId fullName bio user { id accountType } }`.
#[derive(SimpleObject)]
struct ProfileRow {
    user_id: ID,
    full_name: Option<String>,
    bio: Option<String>,
    user: UserRef,
}

#[derive(SimpleObject)]
struct UserRef {
    id: ID,
    account_type: String,
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Who the token names, for the resolvers.
struct Subject(String);

struct Query;

type Row = (String, String, Option<String>, Option<String>, Option<String>, Option<String>);

const ONE_VIEWER_SQLITE: &str = "SELECT u.id, u.email, u.full_name, p.bio, p.interests, p.display_pic_key \
    FROM users u LEFT JOIN profiles p ON p.user_id = u.id WHERE u.id = ?";
const ONE_VIEWER_PG: &str = "SELECT u.id, u.email, u.full_name, p.bio, p.interests, p.display_pic_key \
    FROM users u LEFT JOIN profiles p ON p.user_id = u.id WHERE u.id = $1";

#[Object]
impl Query {
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Me> {
        if let Some(me) = ctx.data_opt::<Me>() {
            return Ok(me.clone());
        }
        let subject = &ctx.data_unchecked::<Subject>().0;
        let row: Option<Row> = match ctx.data_unchecked::<Pool>() {
            Pool::Sqlite(pool) => sqlx::query_as(ONE_VIEWER_SQLITE).bind(subject).fetch_optional(pool).await?,
            Pool::Postgres(pool) => sqlx::query_as(ONE_VIEWER_PG).bind(subject).fetch_optional(pool).await?,
        };
        let (id, email, full_name, bio, interests, key) = row.ok_or("no such user")?;
        Ok(Me {
            id: ID(id),
            email,
            full_name,
            profile: MeProfile {
                bio,
                interests: interests.and_then(|i| serde_json::from_str(&i).ok()).unwrap_or_default(),
                display_pic_url: key.map(|k| format!("http://127.0.0.1/media/{k}")),
            },
        })
    }

    async fn profiles(&self, ctx: &Context<'_>, user_ids: Vec<ID>) -> async_graphql::Result<Vec<Option<ProfileRow>>> {
        let pool = ctx.data_unchecked::<Pool>();
        let ids: Vec<String> = user_ids.iter().map(|id| id.0.clone()).collect();
        const SELECT: &str =
            "SELECT u.id, u.full_name, p.bio, u.account_type FROM users u LEFT JOIN profiles p ON p.user_id = u.id WHERE u.id";
        let rows: Vec<(String, Option<String>, Option<String>, String)> = match pool {
            Pool::Sqlite(pool) => {
                // Placeholders only: the ids are bound.
                let sql = format!("{SELECT} IN ({})", vec!["?"; ids.len()].join(","));
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                for id in &ids {
                    query = query.bind(id);
                }
                query.fetch_all(pool).await?
            }
            Pool::Postgres(pool) => {
                const ANY: &str = "SELECT u.id, u.full_name, p.bio, u.account_type FROM users u LEFT JOIN profiles p ON p.user_id = u.id WHERE u.id = ANY($1)";
                sqlx::query_as(ANY).bind(&ids).fetch_all(pool).await?
            }
        };
        let mut by_id: std::collections::HashMap<String, ProfileRow> = rows
            .into_iter()
            .map(|(id, full_name, bio, account_type)| {
                let row = ProfileRow { user_id: ID(id.clone()), full_name, bio, user: UserRef { id: ID(id.clone()), account_type } };
                (id, row)
            })
            .collect();
        Ok(ids.iter().map(|id| by_id.remove(id)).collect())
    }
}

struct Floor {
    kind: Kind,
    schema: Schema<Query, EmptyMutation, EmptySubscription>,
    keys: tessera::security::jwt::TokenKeys,
    pool: Option<Pool>,
    me: Me,
    me_json: Bytes,
}

/// Serves `kind` on `listen` until killed. The keys come from the same
/// settings (environment) as the Tessera server it is compared with.
pub async fn serve(kind: Kind, listen: SocketAddr) -> anyhow::Result<()> {
    let config = tessera::config::Config::resolve(tessera::config::Settings::defaults())?;
    let keys = tessera::security::jwt::TokenKeys::load(&config)?;
    let pool = match kind {
        Kind::OneSelect | Kind::HundredRows => Some(open_pool(config.database.url.expose()).await?),
        _ => None,
    };
    let me = Me {
        id: ID("0192d4f0-0000-7000-8000-000000000001".into()),
        email: "user1@bench.test".into(),
        full_name: Some("Bench User 1".into()),
        profile: MeProfile { bio: Some("Bio of user 1".into()), interests: vec!["COFFEE".into(), "RUNNING".into()], display_pic_url: None },
    };
    let me_json = Bytes::from(serde_json::to_vec(&serde_json::json!({ "data": { "me": me } }))?);
    let floor = Arc::new(Floor { kind, schema: Schema::build(Query, EmptyMutation, EmptySubscription).finish(), keys, pool, me, me_json });
    let app = axum::Router::new().route("/graphql", axum::routing::post(handle)).with_state(floor);
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    axum::serve(listener, app).await?;
    Ok(())
}

async fn open_pool(url: &str) -> anyhow::Result<Pool> {
    if url.starts_with("sqlite:") {
        use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
        let options = url
            .parse::<SqliteConnectOptions>()?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(10))
            // As Tessera's pool (db.rs): 100 rows come back without the worker waiting.
            .row_buffer_size(128);
        Ok(Pool::Sqlite(SqlitePoolOptions::new().max_connections(16).connect_with(options).await?))
    } else {
        Ok(Pool::Postgres(PgPoolOptions::new().max_connections(16).connect(url).await?))
    }
}

async fn handle(State(floor): State<Arc<Floor>>, headers: HeaderMap, body: Bytes) -> Response {
    if floor.kind == Kind::Json {
        return ([(header::CONTENT_TYPE, "application/json")], floor.me_json.clone()).into_response();
    }
    let token =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(tessera::security::jwt::from_authorization_header);
    let Some(claims) = token.and_then(|t| floor.keys.verify_access_uncached(t)) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    let request = match (&floor.pool, floor.kind) {
        (Some(pool), _) => request.data(pool.clone()).data(Subject(claims.sub)),
        (None, _) => request.data(floor.me.clone()),
    };
    let response = floor.schema.execute(request).await;
    match serde_json::to_vec(&response) {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
