//! Numeric version components of any length.
//!
//! Version numbers are compared by value, never as text, and they are not bounded: the OSV
//! reference vectors compare 30-digit components, and date-stamped versions overflow `u32`.
//! Values that fit a `u64` (almost all of them) are kept inline; larger ones keep their digits.

use std::cmp::Ordering;

/// A non-negative integer parsed from ASCII digits; leading zeros carry no meaning.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Num {
    Small(u64),
    /// Digits without leading zeros, only for values above `u64::MAX`.
    Big(Box<str>),
}

impl Num {
    pub(crate) const ZERO: Num = Num::Small(0);

    /// Parses a run of ASCII digits (the caller has checked them). An empty run is zero, which
    /// is what every scheme that allows one means by it.
    pub(crate) fn from_digits(digits: &str) -> Num {
        let trimmed = digits.trim_start_matches('0');
        match trimmed.parse::<u64>() {
            Ok(v) => Num::Small(v),
            Err(_) if trimmed.is_empty() => Num::ZERO,
            Err(_) => Num::Big(trimmed.into()),
        }
    }

    pub(crate) fn is_zero(&self) -> bool {
        matches!(self, Num::Small(0))
    }
}

impl Ord for Num {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Num::Small(a), Num::Small(b)) => a.cmp(b),
            (Num::Small(_), Num::Big(_)) => Ordering::Less,
            (Num::Big(_), Num::Small(_)) => Ordering::Greater,
            // Without leading zeros, the longer number is the larger one.
            (Num::Big(a), Num::Big(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
        }
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Splits `s` at the end of its leading run of bytes matching `pred`.
pub(crate) fn split_run(s: &str, pred: impl Fn(u8) -> bool) -> (&str, &str) {
    let end = s.bytes().position(|b| !pred(b)).unwrap_or(s.len());
    s.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_value_across_sizes() {
        let nums = [
            "0",
            "7",
            "0010",
            "18446744073709551615",
            "18446744073709551616",
            "0099999999999999999999",
            "100000000000000000000",
        ];
        let parsed: Vec<Num> = nums.iter().map(|d| Num::from_digits(d)).collect();
        for w in parsed.windows(2) {
            assert!(w[0] < w[1], "{:?} < {:?}", w[0], w[1]);
        }
        assert_eq!(Num::from_digits(""), Num::ZERO);
        assert_eq!(Num::from_digits("000"), Num::ZERO);
        assert_eq!(Num::from_digits("010"), Num::from_digits("10"));
    }
}
