//! The field table of every probe object type.
//!
//! # Where the names come from
//!
//! Stamus Central Server's appliance serializers are not public (its `appliances` application
//! is proprietary; the open-source Scirius only carries the Suricata probe and the rules). So:
//! - from the spec (`/rest/` documentation): the paths, `stamusdevice_id`, `parent_tmpl`,
//!   `overriden_fields` (spelled so), `interfaces` and `protocols` with
//!   `{"name", "active"}` entries read back with their `pk`, and the union's `type` with the
//!   values `Stamus` and `Suricata`;
//! - from Scirius' public models and serializers (`suricata/models.py`, `rules/rest_api.py`):
//!   `pk` first, `name` (100 characters, no spaces), `descr` (400 characters) rather than
//!   `description`, `created_date` / `updated_date`, and the probe's `ruleset` foreign key;
//! - from Stamus' administration documentation (probe capture settings): the management
//!   interface, the capture interfaces, a Berkeley packet filter, NSM events and log retention;
//! - designed here: `ip_address`, `version`, `model`, `capture_method` (Suricata's run modes),
//!   `tenant`, and the network interface's and protocol's owner fields.
//!
//! # What a template passes on
//!
//! The inheritable fields are the probe's configuration: what it captures and how, what it
//! logs, which ruleset it runs ([`INHERITABLE`]). What identifies one object — `pk`, `name`,
//! `descr`, `ip_address`, `tenant`, its own `parent_tmpl` and `overriden_fields`, what the
//! probe reports about itself (`version`, `model`, `stamusdevice_id`) and the timestamps — is
//! never inherited: a template cannot give two probes one address, and a description says
//! what this object is for. A probe and a template list the inheritable fields with the same
//! names and kinds, so a probe's chain (templates only) always has every field it inherits.

use crate::field::{Choice, DefaultValue, FieldKind, FieldSpec, TextRule};

/// Suricata's capture run modes (`suricata --af-packet`, `--pcap`, …).
const CAPTURE_METHODS: &[Choice] = &[
    Choice {
        value: "af-packet",
        display_name: "AF_PACKET",
    },
    Choice {
        value: "pcap",
        display_name: "libpcap",
    },
    Choice {
        value: "netmap",
        display_name: "Netmap",
    },
    Choice {
        value: "pfring",
        display_name: "PF_RING",
    },
    Choice {
        value: "dpdk",
        display_name: "DPDK",
    },
];

/// The union's `type`, as the spec spells its two values.
const APPLIANCE_TYPES: &[Choice] = &[
    Choice {
        value: "Stamus",
        display_name: "Stamus",
    },
    Choice {
        value: "Suricata",
        display_name: "Suricata",
    },
];

/// Read-only, so its bounds are never checked; unbounded, so OPTIONS shows none (as DRF shows
/// none for an `AutoField`).
const PK: FieldSpec = FieldSpec::new(
    "pk",
    FieldKind::Integer {
        min: i64::MIN,
        max: i64::MAX,
    },
    "ID",
)
.read_only();

const PROBE_NAME: FieldSpec = FieldSpec::new(
    "name",
    FieldKind::String {
        max_length: 100,
        allow_blank: false,
        rule: TextRule::NoWhitespace,
    },
    "Name",
)
.required()
.help("Host name of the probe, as its events carry it.");

/// A template's name is only a label: spaces are fine ("Branch offices").
const TEMPLATE_NAME: FieldSpec = FieldSpec::new(
    "name",
    FieldKind::String {
        max_length: 100,
        allow_blank: false,
        rule: TextRule::Free,
    },
    "Name",
)
.required();

const DESCR: FieldSpec = FieldSpec::new(
    "descr",
    FieldKind::String {
        max_length: 400,
        allow_blank: true,
        rule: TextRule::Free,
    },
    "Description",
)
.default(DefaultValue::Text(""));

const IP_ADDRESS: FieldSpec = FieldSpec::new("ip_address", FieldKind::IpAddress, "IP address")
    .required()
    .help("Address the central server reaches the probe at.");

const VERSION: FieldSpec = FieldSpec::new(
    "version",
    FieldKind::String {
        max_length: 64,
        allow_blank: true,
        rule: TextRule::Free,
    },
    "Version",
)
.read_only()
.help("Software version the probe reports.");

const MODEL: FieldSpec = FieldSpec::new(
    "model",
    FieldKind::String {
        max_length: 64,
        allow_blank: true,
        rule: TextRule::Free,
    },
    "Model",
)
.read_only()
.help("Hardware or virtual model the probe reports.");

const STAMUSDEVICE_ID: FieldSpec = FieldSpec::new(
    "stamusdevice_id",
    FieldKind::ForeignKey {
        to: "appliances/stamus_device",
    },
    "Stamus device",
)
.read_only()
.nullable()
.help("Primary key of the probe's stamus_device object.");

/// Set from the caller's tenancy on create; an object never changes tenant.
const TENANT: FieldSpec = FieldSpec::new(
    "tenant",
    FieldKind::String {
        max_length: 64,
        allow_blank: false,
        rule: TextRule::NoWhitespace,
    },
    "Tenant",
)
.read_only();

const PARENT_TMPL: FieldSpec = FieldSpec::new(
    "parent_tmpl",
    FieldKind::ForeignKey {
        to: "appliances/stamus_appliance_template",
    },
    "Parent template",
)
.nullable()
.default(DefaultValue::Null)
.help("Primary key of the template this object inherits its configuration from.");

const OVERRIDEN_FIELDS: FieldSpec = FieldSpec::new(
    "overriden_fields",
    FieldKind::FieldNames,
    "Overridden fields",
)
.default(DefaultValue::EmptyList)
.help("Fields that keep this object's own value instead of the template's.");

const CREATED_DATE: FieldSpec =
    FieldSpec::new("created_date", FieldKind::DateTime, "Date created").read_only();

const UPDATED_DATE: FieldSpec =
    FieldSpec::new("updated_date", FieldKind::DateTime, "Date updated").read_only();

const MANAGEMENT_INTERFACE: FieldSpec = FieldSpec::new(
    "management_interface",
    FieldKind::String {
        max_length: 64,
        allow_blank: true,
        rule: TextRule::InterfaceName,
    },
    "Management interface",
)
.inheritable()
.default(DefaultValue::Text(""))
.help("Interface the probe is managed through; it never captures.");

const CAPTURE_METHOD: FieldSpec = FieldSpec::new(
    "capture_method",
    FieldKind::Choice(CAPTURE_METHODS),
    "Capture method",
)
.inheritable()
.default(DefaultValue::Text("af-packet"))
.help("How Suricata reads packets from the capture interfaces.");

const BPF_FILTER: FieldSpec = FieldSpec::new(
    "bpf_filter",
    FieldKind::String {
        max_length: 1024,
        allow_blank: true,
        rule: TextRule::Free,
    },
    "Berkeley packet filter",
)
.inheritable()
.default(DefaultValue::Text(""))
.help("Filter expression applied to captured traffic; empty captures everything.");

const RULESET: FieldSpec = FieldSpec::new(
    "ruleset",
    FieldKind::ForeignKey {
        to: "rules/ruleset",
    },
    "Ruleset",
)
.nullable()
.inheritable()
.default(DefaultValue::Null)
.help("Primary key of the ruleset the probe runs.");

const NSM_ENABLED: FieldSpec = FieldSpec::new("nsm_enabled", FieldKind::Boolean, "NSM events")
    .inheritable()
    .default(DefaultValue::Bool(true))
    .help("Log protocol (NSM) events as well as alerts.");

const LOG_RETENTION_DAYS: FieldSpec = FieldSpec::new(
    "log_retention_days",
    FieldKind::Integer { min: 1, max: 3650 },
    "Log retention (days)",
)
.inheritable()
.default(DefaultValue::Int(30))
.help("Days the probe keeps its events.");

const INTERFACES: FieldSpec = FieldSpec::new("interfaces", FieldKind::Interfaces, "Interfaces")
    .inheritable()
    .default(DefaultValue::EmptyList)
    .help("Capture interfaces, each {\"name\": \"eth0\", \"active\": true}.");

const PROTOCOLS: FieldSpec = FieldSpec::new("protocols", FieldKind::Protocols, "Protocols")
    .inheritable()
    .default(DefaultValue::EmptyList)
    .help("Application-layer protocols, each {\"name\": \"http\", \"active\": true}.");

/// The fields a template passes on, in table order. Both [`STAMUS_APPLIANCE`] and
/// [`STAMUS_APPLIANCE_TEMPLATE`] hold exactly these as their inheritable fields.
pub const INHERITABLE: &[FieldSpec] = &[
    MANAGEMENT_INTERFACE,
    CAPTURE_METHOD,
    BPF_FILTER,
    RULESET,
    NSM_ENABLED,
    LOG_RETENTION_DAYS,
    INTERFACES,
    PROTOCOLS,
];

/// `/rest/appliances/stamus_appliance/`.
pub const STAMUS_APPLIANCE: &[FieldSpec] = &[
    PK,
    PROBE_NAME,
    DESCR,
    IP_ADDRESS,
    VERSION,
    MODEL,
    STAMUSDEVICE_ID,
    TENANT,
    PARENT_TMPL,
    OVERRIDEN_FIELDS,
    MANAGEMENT_INTERFACE,
    CAPTURE_METHOD,
    BPF_FILTER,
    RULESET,
    NSM_ENABLED,
    LOG_RETENTION_DAYS,
    INTERFACES,
    PROTOCOLS,
    CREATED_DATE,
    UPDATED_DATE,
];

/// `/rest/appliances/stamus_appliance_template/`: a probe's configuration without a probe
/// (no address, nothing reported). A template may have its own `parent_tmpl`.
pub const STAMUS_APPLIANCE_TEMPLATE: &[FieldSpec] = &[
    PK,
    TEMPLATE_NAME,
    DESCR,
    TENANT,
    PARENT_TMPL,
    OVERRIDEN_FIELDS,
    MANAGEMENT_INTERFACE,
    CAPTURE_METHOD,
    BPF_FILTER,
    RULESET,
    NSM_ENABLED,
    LOG_RETENTION_DAYS,
    INTERFACES,
    PROTOCOLS,
    CREATED_DATE,
    UPDATED_DATE,
];

/// `/rest/appliances/suricata_appliance/`: a plain Suricata sensor, as Scirius' `Suricata`
/// model has it (name, description, ruleset, dates) plus the address and version. Templates
/// are for Stamus probes only (the spec says so), so nothing here is inheritable.
pub const SURICATA_APPLIANCE: &[FieldSpec] = &[
    PK,
    PROBE_NAME,
    DESCR,
    IP_ADDRESS,
    VERSION,
    FieldSpec::new(
        "ruleset",
        FieldKind::ForeignKey {
            to: "rules/ruleset",
        },
        "Ruleset",
    )
    .nullable()
    .default(DefaultValue::Null)
    .help("Primary key of the ruleset the probe runs."),
    TENANT,
    CREATED_DATE,
    UPDATED_DATE,
];

/// `/rest/appliances/appliances/`: read-only, the fields Stamus and Suricata probes share plus
/// `type`. Its `pk` is the probe's own (the spec: primary keys are shared).
pub const APPLIANCES: &[FieldSpec] = &[
    PK,
    FieldSpec::new(
        "name",
        FieldKind::String {
            max_length: 100,
            allow_blank: false,
            rule: TextRule::NoWhitespace,
        },
        "Name",
    )
    .read_only(),
    FieldSpec::new(
        "descr",
        FieldKind::String {
            max_length: 400,
            allow_blank: true,
            rule: TextRule::Free,
        },
        "Description",
    )
    .read_only(),
    FieldSpec::new("ip_address", FieldKind::IpAddress, "IP address").read_only(),
    VERSION,
    FieldSpec::new("type", FieldKind::Choice(APPLIANCE_TYPES), "Type")
        .read_only()
        .help("Stamus or Suricata: which of the two addresses holds the full object."),
    FieldSpec::new(
        "ruleset",
        FieldKind::ForeignKey {
            to: "rules/ruleset",
        },
        "Ruleset",
    )
    .read_only()
    .nullable(),
    TENANT,
    CREATED_DATE,
    UPDATED_DATE,
];

/// `/rest/appliances/stamus_device/`: read-only; every Stamus probe and the central server
/// itself (pk 1). No tenant: the central server belongs to none, and a probe's device is
/// reached through the probe.
pub const STAMUS_DEVICE: &[FieldSpec] = &[
    PK,
    FieldSpec::new(
        "name",
        FieldKind::String {
            max_length: 100,
            allow_blank: false,
            rule: TextRule::NoWhitespace,
        },
        "Name",
    )
    .read_only(),
    FieldSpec::new("ip_address", FieldKind::IpAddress, "IP address").read_only(),
    VERSION,
    MODEL,
];

/// The owner fields of an interface or a protocol: exactly one of the two is set. Two fields
/// rather than one because probe and template primary keys are separate sequences.
const OWNER_APPLIANCE: FieldSpec = FieldSpec::new(
    "appliance",
    FieldKind::ForeignKey {
        to: "appliances/stamus_appliance",
    },
    "Probe",
)
.read_only()
.nullable();

const OWNER_TEMPLATE: FieldSpec = FieldSpec::new(
    "template",
    FieldKind::ForeignKey {
        to: "appliances/stamus_appliance_template",
    },
    "Template",
)
.read_only()
.nullable();

const ACTIVE: FieldSpec = FieldSpec::new("active", FieldKind::Boolean, "Active").required();

/// `/rest/appliances/network_interface/`; also the shape of one `interfaces` entry.
pub const NETWORK_INTERFACE: &[FieldSpec] = &[
    PK,
    FieldSpec::new(
        "name",
        FieldKind::String {
            max_length: 64,
            allow_blank: false,
            rule: TextRule::InterfaceName,
        },
        "Name",
    )
    .required(),
    ACTIVE,
    OWNER_APPLIANCE,
    OWNER_TEMPLATE,
];

/// `/rest/appliances/protocol/` (the spec names no address for protocols; this one follows
/// `network_interface`); also the shape of one `protocols` entry.
pub const PROTOCOL: &[FieldSpec] = &[
    PK,
    FieldSpec::new(
        "name",
        FieldKind::String {
            max_length: 32,
            allow_blank: false,
            rule: TextRule::ProtocolName,
        },
        "Name",
    )
    .required(),
    ACTIVE,
    OWNER_APPLIANCE,
    OWNER_TEMPLATE,
];
