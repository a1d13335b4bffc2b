//! Loads OSV export zips, builds the database and prints how long each step took, the counts,
//! and a few sample queries. Nothing is asserted; this is for measuring.
//!
//! ```sh
//! cargo run --release -p stella-osv --example load_feeds                 # the shared feeds
//! cargo run --release -p stella-osv --example load_feeds -- a.zip b.zip  # any export zips
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use stella_osv::{merge_aliases, read_zip_file, Database, Limits, Query, QueryResult};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut zips: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if zips.is_empty() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/osv");
        zips = vec![dir.join("PyPI-all.zip"), dir.join("Go-all.zip")];
    }
    let started = Instant::now();
    let mut records = Vec::new();
    for zip in &zips {
        let t = Instant::now();
        let feed = read_zip_file(zip, &Limits::default())?;
        println!(
            "{}: {} records, {} skipped, read in {:.0?}",
            zip.display(),
            feed.records.len(),
            feed.skipped.len(),
            t.elapsed()
        );
        for s in feed.skipped.iter().take(5) {
            println!("  skipped {}: {}", s.source, s.reason);
        }
        records.extend(feed.records);
    }
    let t = Instant::now();
    let db = Database::build(records);
    println!("database built in {:.0?}", t.elapsed());
    println!("load + build: {:.0?}", started.elapsed());
    let stats = db.stats();
    println!(
        "records {} (withdrawn {} left out, duplicates {}), git ranges {}, skipped ranges {}, unparsable listed versions {}",
        stats.records,
        stats.withdrawn,
        stats.duplicates,
        stats.git_ranges,
        stats.skipped_ranges,
        stats.unparsable_versions
    );
    for (ecosystem, s) in &stats.per_ecosystem {
        println!(
            "  {ecosystem}: {} records, {} entries, {} packages",
            s.records, s.entries, s.packages
        );
    }
    for r in db.skipped_ranges().iter().take(5) {
        println!(
            "  skipped range {} affected[{}].ranges[{}]: {}",
            r.id, r.affected_index, r.range_index, r.reason
        );
    }

    let queries = [
        ("PyPI", "Django", "2.2.1"),
        ("PyPI", "requests", "2.19.1"),
        ("PyPI", "urllib3", "1.23"),
        ("PyPI", "Jinja2", "2.10"),
        ("PyPI", "PyYAML", "5.1"),
        ("PyPI", "Pillow", "6.2.0"),
        ("Go", "github.com/gin-gonic/gin", "v1.5.0"),
    ];
    for (ecosystem, name, version) in queries {
        let t = Instant::now();
        let result = db.query(&Query {
            ecosystem,
            name,
            version,
        });
        let elapsed = t.elapsed();
        match result {
            QueryResult::Matched(matches) => {
                let n = matches.len();
                let findings = merge_aliases(matches);
                let ids: Vec<&str> = findings.iter().take(3).map(|f| f.id.as_str()).collect();
                println!(
                    "{ecosystem} {name} {version}: {n} matches, {} findings (e.g. {}) in {elapsed:.1?}",
                    findings.len(),
                    ids.join(", ")
                );
            }
            QueryResult::Unsupported { reason } => println!("{name}: unsupported: {reason}"),
        }
    }
    Ok(())
}
