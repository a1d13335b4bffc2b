//! OSV vulnerability records for Stella Ops' scanner (`POST /scan`) and the offline CI client
//! (`santech`): the same code answers both, with no network access.
//!
//! * [`model`]: the OSV schema as serde types; [`parse_record`] reads one record and names the
//!   field when it cannot.
//! * [`read`]: OSV export zips and directories of records, read within [`Limits`]; a bad record
//!   is reported and skipped, never fatal.
//! * [`severity`]: a level and score per record and per affected package, from CVSS v4.0 or
//!   v3.x vectors, an Ubuntu priority or `database_specific.severity`.

pub mod model;
pub mod read;
pub mod severity;

pub use model::{parse_record, Record, RecordError};
pub use read::{read_dir, read_zip, read_zip_file, Feed, Limits, ReadError, Skipped};
pub use severity::{Level, Severity};
