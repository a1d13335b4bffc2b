//! CRAN: R's `package_version` order.
//!
//! A version is at least two non-negative integers separated by `.` or `-`, which mean the same
//! (`0.1-0` = `0.1.0`); leading zeros are read by value (`0.01` = `0.1`). Versions compare
//! number by number, and a version that extends another is newer (`0.1.0 < 0.1.0.0`). Anything
//! else (one number alone, letters, empty parts) is an error, as it is for R.

use std::cmp::Ordering;

use crate::num::Num;
use crate::{check_plain, VersionError, VersionScheme};

const NAME: &str = "CRAN";

/// The CRAN scheme.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cran;

/// An R package version.
#[derive(Clone, Debug)]
pub struct CranVersion {
    original: String,
    numbers: Vec<Num>,
}

fn compare(a: &CranVersion, b: &CranVersion) -> Ordering {
    // Lexicographic, a proper prefix first: exactly `Vec`'s order.
    a.numbers.cmp(&b.numbers)
}

ordered_by!(CranVersion, compare);

impl VersionScheme for Cran {
    type Version = CranVersion;

    fn name(&self) -> &'static str {
        NAME
    }

    fn parse(&self, version: &str) -> Result<CranVersion, VersionError> {
        check_plain(NAME, version)?;
        let err = |reason| VersionError::new(NAME, version, reason);
        let mut numbers = Vec::new();
        for part in version.split(['.', '-']) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("expected numbers separated by `.` or `-`"));
            }
            numbers.push(Num::from_digits(part));
        }
        if numbers.len() < 2 {
            return Err(err("R versions have at least two numbers"));
        }
        Ok(CranVersion {
            original: version.to_owned(),
            numbers,
        })
    }
}
