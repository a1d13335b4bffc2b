//! Hackage: Cabal's `Version` order.
//!
//! A version is one or more non-negative integers separated by `.`, compared number by number,
//! a version that extends another being newer (`1.0 < 1.0.0`, so trailing zeros matter). As in
//! Cabal, leading zeros (`1.01`), tags, letters and empty parts are errors.

use std::cmp::Ordering;

use crate::num::Num;
use crate::{check_plain, VersionError, VersionScheme};

const NAME: &str = "Hackage";

/// The Hackage scheme.
#[derive(Clone, Copy, Debug, Default)]
pub struct Hackage;

/// A Haskell package version.
#[derive(Clone, Debug)]
pub struct HackageVersion {
    original: String,
    numbers: Vec<Num>,
}

fn compare(a: &HackageVersion, b: &HackageVersion) -> Ordering {
    a.numbers.cmp(&b.numbers)
}

ordered_by!(HackageVersion, compare);

impl VersionScheme for Hackage {
    type Version = HackageVersion;

    fn name(&self) -> &'static str {
        NAME
    }

    fn parse(&self, version: &str) -> Result<HackageVersion, VersionError> {
        check_plain(NAME, version)?;
        let err = |reason| VersionError::new(NAME, version, reason);
        let mut numbers = Vec::new();
        for part in version.split('.') {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("expected numbers separated by `.`"));
            }
            if part.len() > 1 && part.starts_with('0') {
                return Err(err("leading zero"));
            }
            numbers.push(Num::from_digits(part));
        }
        Ok(HackageVersion {
            original: version.to_owned(),
            numbers,
        })
    }
}
