//! Bounds on what a rule source may make this process do.
//!
//! Sources are uploaded by users, so everything is bounded: the archive (entries, bytes,
//! expansion), the text (line and rule length) and what parsing produces (rules, options,
//! problems). Going over a bound is never a panic or an allocation proportional to the input
//! beyond the bound: it is a [`crate::Problem`] naming the bound (for one rule or line), or a
//! [`crate::SourceError`] naming it (for the source as a whole).

/// Every bound, with defaults sized for the largest public rule sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes in one physical line (comments included).
    pub max_line_bytes: usize,
    /// Bytes in one rule after its continuation lines are joined. The default is Suricata's
    /// own (`DETECT_MAX_RULE_SIZE` is 8192 bytes with the terminating NUL): a longer rule
    /// would not load on a probe anyway.
    pub max_rule_bytes: usize,
    /// Options (`name:value;`) in one rule.
    pub max_options: usize,
    /// Rules in a source (enabled and disabled, before duplicates are removed).
    pub max_rules: usize,
    /// Problems reported for a source; parsing stops at the first one past it.
    pub max_problems: usize,
    /// Entries in an archive, directories and skipped entries included.
    pub max_entries: usize,
    /// Bytes one archive entry may hold, uncompressed.
    pub max_entry_bytes: u64,
    /// Bytes the whole archive may expand to (tar headers and padding included).
    pub max_total_bytes: u64,
    /// How many times its compressed size a gzip stream may expand to…
    pub max_ratio: u64,
    /// …once it is larger than this (small inputs have noisy ratios and cannot hurt).
    pub ratio_free_bytes: u64,
    /// Bytes of a GNU long name or a PAX extended header (both carry an entry's name).
    pub max_extension_bytes: u64,
}

impl Default for Limits {
    /// ET Open is about 60,000 rules in about 70 files, some 40 MiB uncompressed with rules of
    /// at most a few KiB; commercial sets are two or three times that. Rule text compresses
    /// 5–10× (tar padding more), so 100× is far past anything real.
    fn default() -> Self {
        Limits {
            max_line_bytes: 64 << 10,
            max_rule_bytes: 8191,
            max_options: 512,
            max_rules: 500_000,
            max_problems: 10_000,
            max_entries: 10_000,
            max_entry_bytes: 64 << 20,
            max_total_bytes: 512 << 20,
            max_ratio: 100,
            ratio_free_bytes: 1 << 20,
            max_extension_bytes: 64 << 10,
        }
    }
}

/// Which of the [`Limits`] was exceeded; messages and problems name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    LineBytes,
    RuleBytes,
    Options,
    Rules,
    Problems,
    Entries,
    EntryBytes,
    TotalBytes,
    Ratio,
    ExtensionBytes,
}

impl Limit {
    /// The name of the [`Limits`] field.
    pub fn field(self) -> &'static str {
        match self {
            Limit::LineBytes => "max_line_bytes",
            Limit::RuleBytes => "max_rule_bytes",
            Limit::Options => "max_options",
            Limit::Rules => "max_rules",
            Limit::Problems => "max_problems",
            Limit::Entries => "max_entries",
            Limit::EntryBytes => "max_entry_bytes",
            Limit::TotalBytes => "max_total_bytes",
            Limit::Ratio => "max_ratio",
            Limit::ExtensionBytes => "max_extension_bytes",
        }
    }

    /// The value of this bound in `limits`.
    pub fn value(self, limits: &Limits) -> u64 {
        let n = match self {
            Limit::LineBytes => limits.max_line_bytes,
            Limit::RuleBytes => limits.max_rule_bytes,
            Limit::Options => limits.max_options,
            Limit::Rules => limits.max_rules,
            Limit::Problems => limits.max_problems,
            Limit::Entries => limits.max_entries,
            Limit::EntryBytes => return limits.max_entry_bytes,
            Limit::TotalBytes => return limits.max_total_bytes,
            Limit::Ratio => return limits.max_ratio,
            Limit::ExtensionBytes => return limits.max_extension_bytes,
        };
        n as u64
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.field())
    }
}
