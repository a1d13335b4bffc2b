//! Suricata rule sources for Stella Ops' probe management (`/rest/rules/…`): what a source
//! holds, and the `.rules` file a probe is given. Pure: no HTTP, no database, no file system.
//!
//! * [`read_source`]: an uploaded source — one `.rules` file, or a `.tar.gz` / `.tgz` / `.tar`
//!   of them — read in memory within [`Limits`] (decompression bombs, entry counts and sizes).
//! * [`parse_rules`]: one rules file. Every rule gives a [`Rule`] (sid, gid, rev, msg,
//!   classtype, metadata, references, header, category from the file name, whether it is
//!   enabled, and the signature as written); every line that looks like a rule but cannot be
//!   read gives a [`Problem`] with its line number and a [`Reason`] with a stable code. Rules
//!   written commented out (`# alert …`) are disabled rules; other comments are skipped.
//! * [`export_ruleset`]: a ruleset as a `.rules` file that `suricata -T` accepts: enabled
//!   rules as written, disabled ones commented out.
//!
//! The parser splits rules exactly where Suricata does (see [`Reason`] for what is checked),
//! so a rule it reads is one a probe reads, and one it refuses is one a probe would refuse.
//!
//! ```
//! use stella_suricata::{parse_rules, Action};
//!
//! let text = "# ET-style prose comment\n\
//!             alert dns $HOME_NET any -> any any (msg:\"ET DNS Query for .test\"; \\\n\
//!             \x20   dns.query; content:\".test\"; endswith; classtype:bad-unknown; sid:1000001; rev:2;)\n\
//!             #alert tcp any any -> any 23 (msg:\"telnet\"; sid:1000002; rev:1;)\n\
//!             alert tcp any any -> any any (msg:\"no sid\";)\n";
//! let parsed = parse_rules(text, "rules/local-dns.rules");
//! assert_eq!(parsed.rules.len(), 2);
//! let dns = &parsed.rules[0];
//! assert_eq!((dns.sid, dns.rev, dns.gid, dns.line), (1000001, 2, 1, 2));
//! assert_eq!(dns.msg.as_deref(), Some("ET DNS Query for .test"));
//! assert_eq!(dns.category, "local-dns");
//! assert_eq!(dns.action, Action::Alert);
//! assert!(!parsed.rules[1].enabled);
//! assert_eq!(parsed.problems[0].line, 5);
//! assert_eq!(parsed.problems[0].code(), "rule-missing-sid");
//! ```

mod export;
mod limits;
mod options;
mod parse;
mod problem;
mod rule;
mod source;

pub use export::{export_ruleset, Export, ExportError};
pub use limits::{Limit, Limits};
pub use parse::{category_of, parse_rules, parse_rules_with, Parsed};
pub use problem::{Problem, Reason};
pub use rule::{parse_rule, Action, Direction, Metadata, Reference, Rule};
pub use source::{read_source, read_source_with, SkipReason, Skipped, Source, SourceError};
