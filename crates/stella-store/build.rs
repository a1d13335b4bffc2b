//! `sqlx::migrate!` embeds the migration files when this crate compiles, but cargo does not
//! know it reads them: without this, a new migration is left out of an incremental build
//! (the binary would then open a database one migration short of what the source says).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
