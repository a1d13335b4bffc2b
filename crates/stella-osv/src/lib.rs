//! OSV vulnerability records for Stella Ops' scanner (`POST /scan`) and the offline CI client
//! (`santech`): the same code answers both, with no network access.
//!
//! * [`model`]: the OSV schema as serde types; [`parse_record`] reads one record and names the
//!   field when it cannot.

pub mod model;

pub use model::{parse_record, Record, RecordError};
