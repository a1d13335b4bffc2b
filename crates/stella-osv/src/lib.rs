//! OSV vulnerability records for Stella Ops' scanner (`POST /scan`) and the offline CI client
//! (`santech`): the same code answers both, with no network access.
//!
//! * [`model`]: the OSV schema as serde types; [`parse_record`] reads one record and names the
//!   field when it cannot.
//! * [`read`]: OSV export zips and directories of records, read within [`Limits`]; a bad record
//!   is reported and skipped, never fatal.
//! * [`severity`]: a level and score per record and per affected package, from CVSS v4.0 or
//!   v3.x vectors, an Ubuntu priority or `database_specific.severity`.
//! * [`Database`]: records indexed by ecosystem and package; [`Database::query`] says which
//!   records contain an installed version, by the OSV schema's evaluation rules, with
//!   versions ordered per ecosystem by `stella-vers`.
//! * [`merge_aliases`]: matches describing the same vulnerability (`PYSEC-…`, `GHSA-…`,
//!   `CVE-…`) folded into one [`Finding`].
//!
//! ```
//! use stella_osv::{merge_aliases, parse_record, Database, Query, QueryResult};
//!
//! let record = parse_record(br#"{
//!     "id": "GO-2020-0001", "aliases": ["CVE-2020-36567"],
//!     "affected": [{"package": {"ecosystem": "Go", "name": "github.com/gin-gonic/gin"},
//!                   "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.6.0"}]}]}]
//! }"#).unwrap();
//! let db = Database::build([record]);
//! let q = Query { ecosystem: "Go", name: "github.com/gin-gonic/gin", version: "v1.5.0" };
//! let QueryResult::Matched(matches) = db.query(&q) else { panic!("Go is supported") };
//! assert_eq!(matches[0].fixed, ["1.6.0"]);
//! let findings = merge_aliases(matches);
//! assert_eq!(findings[0].id, "GO-2020-0001");
//! ```

mod db;
mod matcher;
mod merge;
pub mod model;
pub mod read;
pub mod severity;

pub use db::{
    normalize_name, Database, EcosystemStats, Match, MatchRule, Query, QueryResult, SkippedRange,
    Stats,
};
pub use merge::{merge_aliases, Finding};
pub use model::{parse_record, Record, RecordError};
pub use read::{read_dir, read_zip, read_zip_file, Feed, Limits, ReadError, Skipped};
pub use severity::{Level, Severity};
