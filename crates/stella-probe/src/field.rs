//! The vocabulary of the field tables: what one field of a probe object is, declared as data
//! so that validation ([`crate::validate_write`]), inheritance ([`crate::effective`]) and the
//! OPTIONS answer ([`crate::options_metadata`]) read the same declaration and cannot drift.

use serde_json::Value;

/// One value of a choice field, as Django REST framework's metadata lists it
/// (`{"value", "display_name"}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub value: &'static str,
    pub display_name: &'static str,
}

/// What a string field may contain besides its length. NUL characters are refused by every
/// rule (Django refuses them in every `CharField` too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextRule {
    /// Any text.
    Free,
    /// No whitespace: a probe's name is also the host name its events carry (Scirius refuses
    /// spaces in a Suricata probe's name for the same reason, `validate_hostname`).
    NoWhitespace,
    /// A network interface name: ASCII letters, digits, `.`, `_`, `-` and `:`, starting with a
    /// letter or a digit. Wider than Linux's own names (which never hold `/` or whitespace) so
    /// that DPDK PCI addresses (`0000:3b:00.0`) and VLAN devices (`eth0.100`) fit.
    InterfaceName,
    /// A Suricata application-layer protocol name (`http`, `ftp-data`, `http2`): lower-case
    /// ASCII letters, digits, `-` and `_`, starting with a letter. Not a fixed list, so that a
    /// newer Suricata's protocols are accepted without a release of this crate.
    ProtocolName,
}

impl TextRule {
    /// Whether `s` (already trimmed, not empty) follows the rule.
    pub fn allows(self, s: &str) -> bool {
        if s.contains('\0') {
            return false;
        }
        match self {
            TextRule::Free => true,
            TextRule::NoWhitespace => !s.chars().any(char::is_whitespace),
            TextRule::InterfaceName => {
                s.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
            }
            TextRule::ProtocolName => {
                s.starts_with(|c: char| c.is_ascii_lowercase())
                    && s.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_')
                    })
            }
        }
    }

    /// The message for a value that breaks the rule.
    pub(crate) fn message(self) -> &'static str {
        match self {
            TextRule::Free => "Null characters are not allowed.",
            TextRule::NoWhitespace => "Must not contain whitespace or null characters.",
            TextRule::InterfaceName => {
                "Enter a valid interface name: ASCII letters, digits, '.', '_', '-' and ':', \
                 starting with a letter or a digit."
            }
            TextRule::ProtocolName => {
                "Enter a valid protocol name: lower-case ASCII letters, digits, '-' and '_', \
                 starting with a letter."
            }
        }
    }
}

/// The JSON type of a field and what its values may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A JSON string, trimmed of surrounding whitespace as Django REST framework's `CharField`
    /// does, at most `max_length` characters.
    String {
        max_length: usize,
        allow_blank: bool,
        rule: TextRule,
    },
    /// A JSON integer within `min..=max` (no strings, no fractions).
    Integer { min: i64, max: i64 },
    /// A JSON `true` or `false` (no `"true"`, no `1`).
    Boolean,
    /// A JSON string, one of the listed values.
    Choice(&'static [Choice]),
    /// An IPv4 or IPv6 address as a JSON string, stored in its canonical text form.
    IpAddress,
    /// An RFC 3339 instant, set by the server (only ever read-only here).
    DateTime,
    /// A list of `{"name", "active", "pk"?}` network interfaces (see [`crate::MAX_INTERFACES`]).
    Interfaces,
    /// A list of `{"name", "active", "pk"?}` protocols (see [`crate::MAX_PROTOCOLS`]).
    Protocols,
    /// The integer primary key of an object at `/rest/<to>/`. Only its shape is checked here;
    /// whether it exists (in the caller's tenancy) is the server's question.
    ForeignKey { to: &'static str },
    /// `overriden_fields`: a list of the object type's inheritable field names, each once.
    FieldNames,
}

/// A value written on create when the client leaves the field out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    Null,
    Text(&'static str),
    Int(i64),
    Bool(bool),
    EmptyList,
}

impl DefaultValue {
    pub fn to_value(self) -> Value {
        match self {
            DefaultValue::Null => Value::Null,
            DefaultValue::Text(s) => Value::String(s.to_owned()),
            DefaultValue::Int(i) => Value::from(i),
            DefaultValue::Bool(b) => Value::Bool(b),
            DefaultValue::EmptyList => Value::Array(Vec::new()),
        }
    }
}

/// One row of an object type's field table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub kind: FieldKind,
    /// Must be in a POST or PUT body (never for a read-only field).
    pub required: bool,
    /// Set by the server; ignored in write bodies, as Django REST framework ignores it.
    pub read_only: bool,
    /// `null` is a value the field may hold (no template, no ruleset).
    pub nullable: bool,
    /// Taken from the template chain unless named in `overriden_fields`.
    pub inheritable: bool,
    /// Shown in OPTIONS and the browsable interface.
    pub label: &'static str,
    /// Shown in OPTIONS when not empty.
    pub help_text: &'static str,
    /// Written on create when the body leaves the field out.
    pub default: Option<DefaultValue>,
}

impl FieldSpec {
    /// A writable, optional, non-inheritable field; adjust with the builders below.
    pub const fn new(name: &'static str, kind: FieldKind, label: &'static str) -> Self {
        FieldSpec {
            name,
            kind,
            required: false,
            read_only: false,
            nullable: false,
            inheritable: false,
            label,
            help_text: "",
            default: None,
        }
    }
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub const fn read_only(mut self) -> Self {
        self.read_only = true;
        self.required = false;
        self
    }
    pub const fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }
    pub const fn inheritable(mut self) -> Self {
        self.inheritable = true;
        self
    }
    pub const fn help(mut self, help_text: &'static str) -> Self {
        self.help_text = help_text;
        self
    }
    pub const fn default(mut self, default: DefaultValue) -> Self {
        self.default = Some(default);
        self
    }

    /// Whether a client may set the field.
    pub fn writable(&self) -> bool {
        !self.read_only
    }
}
