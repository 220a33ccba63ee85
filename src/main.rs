//! The `tessera` command: serve (default), migrate, create-admin.
use std::io::BufRead;

use clap::{Parser, Subcommand};
use tessera::config::{Config, LogFormat, Settings};
use tessera::error::ServiceError;
use tessera::startup::{build_state, Application};
use tessera::telemetry::logging;

#[derive(Parser)]
#[command(name = "tessera", version, about = "An identity-and-profile server with one GraphQL endpoint")]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an admin account, or promote the account with this email. Reads the password from one line of stdin.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        username: Option<String>,
    },
}

/// mimalloc instead of glibc's malloc: a request allocates a few hundred
/// small blocks, and glibc spent a fifth of `me`'s CPU in malloc/free (its
/// arena locks and consolidation, perf in the README). mimalloc's per-thread
/// heaps do it for a fraction, and it returns argon2's freed 19 MiB blocks
/// to the system, so RSS stays flat under signin load. With libmimalloc-sys's
/// `override` feature C code allocates through it too: SQLite copies every
/// value it hands to sqlx with malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Startup frees large blocks (the dummy password hash works in 19 MiB)
/// and then the process may sit idle; mimalloc hands freed memory back to
/// the system only as later allocations come by, so it is pushed back now.
fn release_startup_memory() {
    // SAFETY: mi_collect takes no pointers; it only walks this thread's
    // own heap (startup ran on this thread) and purges what is free.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

fn main() -> std::process::ExitCode {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("the async runtime starts").block_on(async_main())
}

async fn async_main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(error) => {
            use clap::error::ErrorKind;
            let asked_for_text = matches!(error.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion);
            if asked_for_text || !logging::json_requested(&args) {
                error.exit();
            }
            // A bad setting under LOG_FORMAT=json is a JSON line like any other.
            logging::init(LogFormat::Json);
            let message = error.to_string();
            tracing::error!(target: "tessera", "{}", message.trim_end());
            return std::process::ExitCode::from(2);
        }
    };
    let format = cli.settings.telemetry.log_format;
    logging::init(format);
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            match format {
                LogFormat::Json => tracing::error!(target: "tessera", "{error:#}"),
                LogFormat::Text => eprintln!("error: {error:#}"),
            }
            std::process::ExitCode::FAILURE
        }
    }
}

/// What a command prints for its operator: a plain line, or under
/// LOG_FORMAT=json an INFO line like every other.
fn say(format: LogFormat, text: &str) {
    match format {
        LogFormat::Json => tracing::info!(target: "tessera", "{text}"),
        LogFormat::Text => println!("{text}"),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let format = cli.settings.telemetry.log_format;
    let config = Config::resolve(cli.settings)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(config).await?;
            release_startup_memory();
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            build_state(config).await?;
            say(format, "migrations applied");
        }
        Command::CreateAdmin { email, username } => {
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let state = build_state(config).await?;
            match tessera::accounts::signup::create_admin(&state, &email, username.as_deref(), password).await {
                Ok(admin) => say(format, &format!("admin {} ({}) is ready", admin.email, admin.id)),
                Err(ServiceError::User(errors)) => {
                    for error in errors {
                        // As the API reports it: `input.password: TOO_WEAK: ...`.
                        let field = error.field.map(|f| format!("{}: ", f.join("."))).unwrap_or_default();
                        match format {
                            LogFormat::Json => {
                                tracing::error!(target: "tessera", field = %field.trim_end_matches(": "), code = %error.code, "{}", error.message)
                            }
                            LogFormat::Text => eprintln!("{field}{}: {}", error.code, error.message),
                        }
                    }
                    anyhow::bail!("the admin was not created");
                }
                Err(ServiceError::App(error)) => return Err(anyhow::anyhow!(error)),
            }
        }
    }
    Ok(())
}
