//! Every resource the generic engine serves, declared as data. Field names, enums and
//! operations follow the Open XDR contract (`stellar-cyber-openapi.yaml`): on the contract's
//! paths the engine serves exactly the contract's methods, so clients and contract testers see
//! no undeclared operation there. The extras from the capability list (tenant groups,
//! observables, lookup tables, event filters, playbook runs) are declared the same way on paths
//! of their own.

use crate::resource::{
    DefaultValue, FieldSpec, FieldType, Op, Order, ParentSpec, ResourceSpec, Tenancy,
};

const NAME: FieldSpec = FieldSpec::text("name", 200).required();
const DESCRIPTION: FieldSpec = FieldSpec::text("description", 10_000);

pub const CASE_STATUSES: &[&str] = &["open", "closed", "investigating"];
pub const PRIORITIES: &[&str] = &["critical", "high", "medium", "low"];
pub const SEVERITIES: &[&str] = &["critical", "high", "medium", "low", "informational"];

pub static TENANTS: ResourceSpec = ResourceSpec::owned(
    "tenants",
    "Tenant",
    "Tenants",
    &[NAME, FieldSpec::text("description", 2000)],
    ("tenants:read", "tenants:write"),
)
.tenancy(Tenancy::IsTenant)
.hooked();

pub static TENANT_GROUPS: ResourceSpec = ResourceSpec::owned(
    "tenant_groups",
    "TenantGroup",
    "Tenants",
    &[
        NAME,
        DESCRIPTION,
        FieldSpec::text_list("tenants", 10_000, 64),
    ],
    ("tenants:read", "tenants:write"),
)
.tenancy(Tenancy::Platform)
.hooked();

pub static CASES: ResourceSpec = ResourceSpec::owned(
    "cases",
    "Case",
    "Cases",
    &[
        NAME,
        DESCRIPTION,
        FieldSpec::enumeration("status", CASE_STATUSES).with_default(DefaultValue::Text("open")),
        FieldSpec::enumeration("priority", PRIORITIES).with_default(DefaultValue::Text("medium")),
        FieldSpec::text("assignee", 200).filterable(),
        FieldSpec::int("score", 0, 100).with_default(DefaultValue::Int(0)),
        FieldSpec::int("alert_count", 0, i64::MAX).read_only(),
    ],
    ("cases:read", "cases:write"),
)
.hooked();

static CASE_PARENT: ParentSpec = ParentSpec {
    spec: &CASES,
    column: "case_id",
};

pub const OBSERVABLE_TYPES: &[&str] = &[
    "ip", "domain", "url", "hash", "user", "email", "host", "file", "process", "other",
];

pub static CASE_OBSERVABLES: ResourceSpec = ResourceSpec::owned(
    "observables",
    "CaseObservable",
    "Cases",
    &[
        FieldSpec::text("case_id", 64).read_only(),
        FieldSpec::enumeration("type", OBSERVABLE_TYPES).required(),
        FieldSpec::text("value", 2000).required().filterable(),
        DESCRIPTION,
    ],
    ("cases:read", "cases:write"),
)
.table("case_observables")
.ops(&[Op::List, Op::Create, Op::Get, Op::Delete])
.parent(&CASE_PARENT);

pub static ALERTS: ResourceSpec = ResourceSpec::owned(
    "alerts",
    "Alert",
    "Alerts",
    &[
        FieldSpec::text("name", 500).read_only(),
        FieldSpec::enumeration("severity", SEVERITIES).read_only(),
        // The contract leaves alert status free-form; analysts' workflows name their own.
        FieldSpec::text("status", 200).filterable(),
        FieldSpec::text_list("tags", 100, 200),
        FieldSpec::text("source", 200).read_only().filterable(),
        FieldSpec::text("alert_type", 100).read_only().filterable(),
        FieldSpec::text("case_id", 64).read_only().filterable(),
        FieldSpec::of_type("event", FieldType::Object).read_only(),
        FieldSpec::of_type("comments", FieldType::ObjectList { max_items: 1000 }).read_only(),
        // Repeats of one cause within its window are counted on one alert, not raised again.
        FieldSpec::int("event_count", 0, i64::MAX).read_only(),
        FieldSpec::timestamp("last_event_at").read_only(),
    ],
    ("alerts:read", "alerts:write"),
)
.ops(&[Op::List, Op::Update])
.hooked();

pub static CONNECTORS: ResourceSpec = ResourceSpec::owned(
    "connectors",
    "Connector",
    "Connectors",
    &[
        NAME,
        FieldSpec::text("type", 100).required().filterable(),
        FieldSpec::enumeration("status", &["active", "inactive", "error"])
            .with_default(DefaultValue::Text("active")),
        FieldSpec::timestamp("checkpoint"),
        // Connector settings carry third-party credentials: accepted, never answered.
        FieldSpec::of_type("config", FieldType::Object).write_only(),
    ],
    ("connectors:read", "connectors:write"),
)
.hooked();

pub static QUERIES: ResourceSpec = ResourceSpec::owned(
    "queries",
    "Query",
    "Queries",
    &[
        NAME,
        DESCRIPTION,
        FieldSpec::text("query", 100_000).required(),
    ],
    ("queries:read", "queries:write"),
)
.ops(&[Op::List, Op::Create, Op::Update, Op::Delete]);

pub static WATCHLISTS: ResourceSpec = ResourceSpec::owned(
    "watchlists",
    "Watchlist",
    "Watchlists",
    &[
        NAME,
        DESCRIPTION,
        FieldSpec::text_list("entries", 10_000, 512),
        FieldSpec::enumeration("severity", SEVERITIES).with_default(DefaultValue::Text("high")),
    ],
    ("watchlists:read", "watchlists:write"),
)
.ops(&[Op::List, Op::Create, Op::Delete])
.hooked();

pub static SENSORS: ResourceSpec = ResourceSpec::owned(
    "sensors",
    "Sensor",
    "Sensors",
    &[
        NAME,
        FieldSpec::text("type", 100).filterable(),
        FieldSpec::enumeration("status", &["online", "offline", "error"])
            .with_default(DefaultValue::Text("offline")),
        FieldSpec::text("ip_address", 64).filterable(),
        FieldSpec::text("version", 64),
        FieldSpec::timestamp("last_seen"),
    ],
    ("sensors:read", "sensors:write"),
)
// Sensors register themselves at `POST /sensors/register`; the contract reads and deletes.
.ops(&[Op::List, Op::Get, Op::Delete]);

pub static REPORTS: ResourceSpec = ResourceSpec::owned(
    "reports",
    "Report",
    "Reports",
    &[
        NAME,
        FieldSpec::text("type", 100).required().filterable(),
        FieldSpec::enumeration("status", &["pending", "completed", "failed"]).read_only(),
        FieldSpec::of_type("parameters", FieldType::Object),
        FieldSpec::text("url", 500).read_only(),
        FieldSpec::text("error", 2000).read_only(),
    ],
    ("reports:read", "reports:write"),
)
.ops(&[Op::List, Op::Create, Op::Delete])
.hooked();

pub static PLAYBOOKS: ResourceSpec = ResourceSpec::owned(
    "playbooks",
    "Playbook",
    "Playbooks",
    &[
        NAME,
        DESCRIPTION,
        FieldSpec::text("trigger", 500).required(),
        FieldSpec::of_type("actions", FieldType::ObjectList { max_items: 50 }).required(),
        FieldSpec::boolean("enabled").with_default(DefaultValue::Bool(true)),
    ],
    ("playbooks:read", "playbooks:write"),
);

static PLAYBOOK_PARENT: ParentSpec = ParentSpec {
    spec: &PLAYBOOKS,
    column: "playbook_id",
};

pub static PLAYBOOK_RUNS: ResourceSpec = ResourceSpec::owned(
    "runs",
    "PlaybookRun",
    "Playbooks",
    &[
        FieldSpec::text("playbook_id", 64).read_only(),
        FieldSpec::text("alert_id", 64).read_only().filterable(),
        FieldSpec::enumeration("status", &["running", "succeeded", "failed", "throttled"])
            .read_only()
            .filterable(),
        FieldSpec::of_type("results", FieldType::ObjectList { max_items: 50 }).read_only(),
        FieldSpec::text("error", 4000).read_only(),
    ],
    ("playbooks:read", "playbooks:write"),
)
.table("playbook_runs")
.ops(&[Op::List, Op::Get])
.parent(&PLAYBOOK_PARENT);

pub static LOOKUP_TABLES: ResourceSpec = ResourceSpec::owned(
    "lookup_tables",
    "LookupTable",
    "Lookup Tables",
    &[
        NAME,
        DESCRIPTION,
        FieldSpec::text_list("columns", 100, 200),
        FieldSpec::of_type("rows", FieldType::ObjectList { max_items: 100_000 }),
    ],
    ("lookup_tables:read", "lookup_tables:write"),
)
.tenancy(Tenancy::OwnedOrGlobal);

pub static EVENT_FILTERS: ResourceSpec = ResourceSpec::owned(
    "security_event_filters",
    "SecurityEventFilter",
    "Events",
    &[
        NAME,
        DESCRIPTION,
        // Field → value pairs an event must all match for the filter to drop it at ingest.
        FieldSpec::of_type("conditions", FieldType::Object).required(),
        FieldSpec::boolean("enabled").with_default(DefaultValue::Bool(true)),
        FieldSpec::int("hits", 0, i64::MAX).read_only(),
    ],
    ("events:read", "events:write"),
)
.table("event_filters");

/// Every resource the engine serves, in the order the OpenAPI document lists them.
pub static ALL: &[&ResourceSpec] = &[
    &TENANTS,
    &TENANT_GROUPS,
    &CASES,
    &CASE_OBSERVABLES,
    &ALERTS,
    &CONNECTORS,
    &QUERIES,
    &WATCHLISTS,
    &SENSORS,
    &REPORTS,
    &PLAYBOOKS,
    &PLAYBOOK_RUNS,
    &LOOKUP_TABLES,
    &EVENT_FILTERS,
];

/// Stamus devices: the central server itself (pk 1, shared by every tenant, present in every
/// deployment) and, as Stamus probes are added, their devices. Read-only here.
pub static STAMUS_DEVICES: ResourceSpec = ResourceSpec::owned(
    "appliances/stamus_device",
    "StamusDevice",
    "Probes",
    &[
        FieldSpec::text("name", 100)
            .read_only()
            .searchable()
            .filterable(),
        FieldSpec::text("description", 1000)
            .read_only()
            .searchable(),
        FieldSpec::ip_address("ipaddress").read_only(),
    ],
    ("probes:read", "probes:write"),
)
.describe(
    "The central server (always pk 1) and the Stamus probes' devices; stamus_appliance's \
     stamusdevice_id names one. Read-only.",
)
.table("stamus_devices")
.tenancy(Tenancy::OwnedOrGlobal)
.ops(&[Op::List, Op::Get])
.serial("stamus_devices")
.default_sort("id", Order::Asc);

/// Suricata probes, one tenant's each. Their keys come from the counter Stamus probes will
/// share, so a pk names one probe of either kind (`appliances`, the union, to come).
pub static SURICATA_APPLIANCES: ResourceSpec = ResourceSpec::owned(
    "appliances/suricata_appliance",
    "SuricataAppliance",
    "Probes",
    &[
        FieldSpec::text("name", 100)
            .required()
            .searchable()
            .filterable(),
        FieldSpec::text("description", 1000).searchable(),
        FieldSpec::ip_address("ipaddress").required().searchable(),
    ],
    ("probes:read", "probes:write"),
)
.describe("Suricata probes, with their parameters writable.")
.table("suricata_appliances")
.search_index("suricata_appliances_search")
.serial("appliances")
.default_sort("id", Order::Asc);

/// The action history: one entry per write made through `/rest/`, written by the engine
/// (never through this resource, which is read-only), newest first. Readable with
/// `probes:read`; filters by user, action type, comment and date range
/// (`date__gte`, `date__lte`).
pub static USER_ACTIONS: ResourceSpec = ResourceSpec::owned(
    "rules/history",
    "UserAction",
    "Probes",
    &[
        FieldSpec::text("username", 320)
            .read_only()
            .filterable()
            .searchable(),
        FieldSpec::timestamp("date").read_only().filterable(),
        FieldSpec::text("action_type", 100)
            .read_only()
            .filterable()
            .searchable(),
        FieldSpec::text("comment", 10_000)
            .read_only()
            .filterable()
            .searchable(),
        FieldSpec::ip_address("client_ip").read_only(),
        FieldSpec::text("description_raw", 2000).read_only(),
        FieldSpec::text("description", 2000)
            .read_only()
            .searchable(),
        FieldSpec::of_type("ua_objects", FieldType::Object).read_only(),
    ],
    ("probes:read", "probes:write"),
)
.describe("What users did through /rest/, newest first. Read-only.")
.table("user_actions")
.tenancy(Tenancy::OwnedOrGlobal)
.ops(&[Op::List, Op::Get])
.serial("user_actions")
.default_sort("date", Order::Desc);

// ---- Stamus probes and their templates (issue 14, "Objects relations") ----
//
// Two field tables describe these objects: the engine's (here), which the storage and the
// HTTP dialect use for columns, parsing, sorting, search and OPTIONS, and `stella-probe`'s,
// which owns what the engine cannot say: template inheritance (`effective`), chain checks
// (`resolve_chain`) and `overriden_fields`. The engine's fields here carry exactly
// `stella-probe`'s names (a test in `stella-service` holds every one to a name of its table),
// so the hooks hand stored rows to `stella-probe` as they are. Inheritable fields have no
// engine default: a child that leaves one out takes its template's.

/// Capture methods, as `stella-probe`'s table lists them.
pub const CAPTURE_METHODS: &[&str] = &["af-packet", "pcap", "netmap", "pfring", "dpdk"];

/// The fields a template passes on to its children (`stella_probe::tables::INHERITABLE`).
/// `interfaces` and `protocols` are whole lists, kept as rows of their own (the hooks).
///
/// None of them sorts or filters: a list would compare the stored own values, which a child
/// with a template does not show.
const PROBE_INHERITABLE: [FieldSpec; 8] = [
    FieldSpec::of_type("management_interface", FieldType::Text { max_len: 64 }),
    FieldSpec::of_type("capture_method", FieldType::Enum(CAPTURE_METHODS)),
    FieldSpec::of_type("bpf_filter", FieldType::Text { max_len: 4096 }),
    // A Suricata ruleset's pk (the rules surface owns rulesets).
    FieldSpec::of_type(
        "ruleset",
        FieldType::Int {
            min: 1,
            max: i64::MAX,
        },
    ),
    FieldSpec::of_type("nsm_enabled", FieldType::Bool),
    FieldSpec::of_type("log_retention_days", FieldType::Int { min: 1, max: 3650 }),
    FieldSpec::of_type("interfaces", FieldType::ObjectList { max_items: 256 }),
    FieldSpec::of_type("protocols", FieldType::ObjectList { max_items: 64 }),
];

/// `parent_tmpl`: the template a probe or template inherits from (a template pk, checked by
/// the hooks: same tenant, no cycle).
const PARENT_TMPL: FieldSpec = FieldSpec::int("parent_tmpl", 1, i64::MAX);
/// The inheritable fields that keep the object's own value (spelled as the spec spells it).
const OVERRIDEN_FIELDS: FieldSpec = FieldSpec::text_list("overriden_fields", 16, 64);

static TEMPLATE_FIELDS: [FieldSpec; 12] = [
    FieldSpec::text("name", 100)
        .required()
        .searchable()
        .filterable(),
    FieldSpec::text("descr", 1000).searchable(),
    PARENT_TMPL.filterable(),
    OVERRIDEN_FIELDS,
    PROBE_INHERITABLE[0],
    PROBE_INHERITABLE[1],
    PROBE_INHERITABLE[2],
    PROBE_INHERITABLE[3],
    PROBE_INHERITABLE[4],
    PROBE_INHERITABLE[5],
    PROBE_INHERITABLE[6],
    PROBE_INHERITABLE[7],
];

static STAMUS_APPLIANCE_FIELDS: [FieldSpec; 16] = [
    FieldSpec::text("name", 100)
        .required()
        .searchable()
        .filterable(),
    FieldSpec::text("descr", 1000).searchable(),
    FieldSpec::ip_address("ip_address").required().searchable(),
    FieldSpec::text("version", 64).read_only(),
    FieldSpec::text("model", 64).read_only(),
    FieldSpec::int("stamusdevice_id", 1, i64::MAX).read_only(),
    PARENT_TMPL.filterable(),
    OVERRIDEN_FIELDS,
    PROBE_INHERITABLE[0],
    PROBE_INHERITABLE[1],
    PROBE_INHERITABLE[2],
    PROBE_INHERITABLE[3],
    PROBE_INHERITABLE[4],
    PROBE_INHERITABLE[5],
    PROBE_INHERITABLE[6],
    PROBE_INHERITABLE[7],
];

/// Stamus probe templates: a probe's configuration without a probe, one tenant's each. A
/// template may itself have a `parent_tmpl`; reads show effective values (hooks).
pub static STAMUS_APPLIANCE_TEMPLATES: ResourceSpec = ResourceSpec::owned(
    "appliances/stamus_appliance_template",
    "StamusApplianceTemplate",
    "Probes",
    &TEMPLATE_FIELDS,
    ("probes:read", "probes:write"),
)
.describe(
    "Stamus probe templates: probes and templates naming one in parent_tmpl show its values \
     for every inheritable field not in their overriden_fields.",
)
.table("stamus_appliance_templates")
.serial("stamus_appliance_templates")
.default_sort("id", Order::Asc)
.hooked();

/// Stamus probes, one tenant's each. Keys come from the `appliances` counter Suricata probes
/// use too, so a pk names one probe of either kind; creating one also creates its
/// `stamus_device` row (the spec's stamus_device "contains all Stamus probes and SCS"), named
/// by the read-only `stamusdevice_id`.
pub static STAMUS_APPLIANCES: ResourceSpec = ResourceSpec::owned(
    "appliances/stamus_appliance",
    "StamusAppliance",
    "Probes",
    &STAMUS_APPLIANCE_FIELDS,
    ("probes:read", "probes:write"),
)
.describe(
    "Stamus probes: parameters writable, inherited from parent_tmpl except the \
     overriden_fields; each has its stamus_device.",
)
.table("stamus_appliances")
.search_index("stamus_appliances_search")
.serial("appliances")
.default_sort("id", Order::Asc)
.hooked();

/// The union's `type` values, as the spec spells them.
pub const APPLIANCE_TYPES: &[&str] = &["Stamus", "Suricata"];

/// Every probe of either kind, read-only: the fields Stamus and Suricata probes share plus
/// `type`, with the probe's own pk (both kinds draw from the `appliances` counter). Served from
/// the table `appliances`, kept by triggers on both probe tables (migration 0015), so the
/// engine's paging, ordering, search and filters work on the union as on any table.
pub static APPLIANCES: ResourceSpec = ResourceSpec::owned(
    "appliances/appliances",
    "Appliance",
    "Probes",
    &[
        FieldSpec::text("name", 100)
            .read_only()
            .searchable()
            .filterable(),
        FieldSpec::text("descr", 1000).read_only().searchable(),
        FieldSpec::ip_address("ip_address").read_only().searchable(),
        FieldSpec::text("version", 64).read_only(),
        FieldSpec::enumeration("type", APPLIANCE_TYPES).read_only(),
    ],
    ("probes:read", "probes:write"),
)
.describe(
    "Every Stamus and Suricata probe, with its type; the pk is the probe's own at \
     stamus_appliance or suricata_appliance. Read-only.",
)
.table("appliances")
.search_index("appliances_search")
.ops(&[Op::List, Op::Get])
.serial("appliances")
.default_sort("id", Order::Asc);

/// The fields of one interface or protocol row: its entry in the owner's list plus the owner
/// (exactly one of `appliance`, a Stamus probe's pk, and `template`, a template's pk: the two
/// are separate key spaces).
static PROBE_ENTRY_FIELDS: [FieldSpec; 4] = [
    FieldSpec::text("name", 64)
        .required()
        .searchable()
        .filterable(),
    FieldSpec::boolean("active").required(),
    FieldSpec::int("appliance", 1, i64::MAX).read_only(),
    FieldSpec::int("template", 1, i64::MAX).read_only(),
];

/// Capture interfaces of Stamus probes and templates, one row each: written through their
/// owner's `interfaces` field, read, changed or deleted here too.
pub static NETWORK_INTERFACES: ResourceSpec = ResourceSpec::owned(
    "appliances/network_interface",
    "NetworkInterface",
    "Probes",
    &PROBE_ENTRY_FIELDS,
    ("probes:read", "probes:write"),
)
.describe(
    "Interfaces of Stamus probes (appliance) and templates (template); set through their \
     interfaces field, deletable here.",
)
.table("network_interfaces")
.ops(&[Op::List, Op::Get, Op::Update, Op::Delete])
.serial("network_interfaces")
.default_sort("id", Order::Asc);

/// Protocols of Stamus probes and templates, like interfaces. The spec names no address for
/// them; `appliances/protocol` follows `appliances/network_interface`.
pub static PROBE_PROTOCOLS: ResourceSpec = ResourceSpec::owned(
    "appliances/protocol",
    "Protocol",
    "Probes",
    &PROBE_ENTRY_FIELDS,
    ("probes:read", "probes:write"),
)
.describe(
    "Protocols of Stamus probes (appliance) and templates (template); set through their \
     protocols field, deletable here.",
)
.table("probe_protocols")
.ops(&[Op::List, Op::Get, Op::Update, Op::Delete])
.serial("probe_protocols")
.default_sort("id", Order::Asc);

// ---- end of the Stamus probes block ----

// ---- Suricata rule sources, rules, categories and rulesets (`/rest/rules/…`, issue 14) ----

/// Suricata rule sources: a name here, then the rules file or `.tar.gz` of them uploaded to
/// `POST /rest/rules/source/<pk>/upload/` (which fills `/rest/rules/rule/` and
/// `/rest/rules/category/` and answers every line it could not read).
pub static RULE_SOURCES: ResourceSpec = ResourceSpec::owned(
    "rules/source",
    "Source",
    "Rules",
    &[
        FieldSpec::text("name", 100)
            .required()
            .searchable()
            .filterable(),
        FieldSpec::text("description", 1000).searchable(),
        FieldSpec::text("uploaded_file", 255).read_only(),
        FieldSpec::int("rules_count", 0, i64::MAX).read_only(),
        FieldSpec::int("problems_count", 0, i64::MAX).read_only(),
        FieldSpec::timestamp("uploaded_at").read_only(),
    ],
    ("probes:read", "probes:write"),
)
.describe(
    "Suricata rule sources. Create one with its name, then upload its .rules file or a \
     .tar.gz of them as the body of POST /rest/rules/source/<pk>/upload/?filename=<name>.",
)
.table("rule_sources")
.serial("rule_sources")
.default_sort("id", Order::Asc);

/// The categories of the sources' rules: one per rules file. Read-only; written by uploads.
pub static RULE_CATEGORIES: ResourceSpec = ResourceSpec::owned(
    "rules/category",
    "Category",
    "Rules",
    &[
        FieldSpec::text("name", 255)
            .read_only()
            .searchable()
            .filterable(),
        FieldSpec::int("source", 1, i64::MAX).read_only(),
    ],
    ("probes:read", "probes:write"),
)
.describe("Rule categories, one per rules file of a source (emerging-dns.rules: emerging-dns).")
.table("rule_categories")
.ops(&[Op::List, Op::Get])
.serial("rule_categories")
.default_sort("id", Order::Asc);

/// The sources' rules. Read-only; written by uploads, replaced as a whole by each.
pub static RULES: ResourceSpec = ResourceSpec::owned(
    "rules/rule",
    "Rule",
    "Rules",
    &[
        FieldSpec::int("sid", 1, i64::MAX).read_only(),
        FieldSpec::int("gid", 0, i64::MAX).read_only(),
        FieldSpec::int("rev", 0, i64::MAX).read_only(),
        FieldSpec::text("msg", 10_000).read_only().searchable(),
        FieldSpec::text("classtype", 255).read_only().filterable(),
        FieldSpec::int("category", 1, i64::MAX).read_only(),
        FieldSpec::text("category_name", 255)
            .read_only()
            .filterable(),
        FieldSpec::int("source", 1, i64::MAX).read_only(),
        FieldSpec::boolean("enabled").read_only(),
        FieldSpec::text("content", 100_000).read_only(),
    ],
    ("probes:read", "probes:write"),
)
.describe(
    "Suricata rules of the uploaded sources: sid, gid, rev, msg, classtype, category, the \
     signature as written (content) and whether the source enables it.",
)
.table("rules")
.search_index("rules_search")
.ops(&[Op::List, Op::Get])
.serial("rules")
.default_sort("id", Order::Asc);

/// Rulesets: the sources a probe's rules come from.
pub static RULESETS: ResourceSpec = ResourceSpec::owned(
    "rules/ruleset",
    "Ruleset",
    "Rules",
    &[
        FieldSpec::text("name", 100)
            .required()
            .searchable()
            .filterable(),
        FieldSpec::text("descr", 1000).searchable(),
        FieldSpec::json("sources"),
    ],
    ("probes:read", "probes:write"),
)
.describe("Rulesets: the sources (a list of source pks) a probe's rules come from.")
.table("rulesets")
.serial("rulesets")
.default_sort("id", Order::Asc)
.hooked();

/// Every resource of the probe-management API at `/rest/` (Django REST framework's dialect),
/// by path below `/rest/`.
pub static REST: &[&ResourceSpec] = &[
    &STAMUS_DEVICES,
    &SURICATA_APPLIANCES,
    // Stamus probes (issue 14, relations).
    &STAMUS_APPLIANCE_TEMPLATES,
    &STAMUS_APPLIANCES,
    &APPLIANCES,
    &NETWORK_INTERFACES,
    &PROBE_PROTOCOLS,
    &USER_ACTIONS,
    // Suricata rules.
    &RULE_SOURCES,
    &RULE_CATEGORIES,
    &RULES,
    &RULESETS,
];

/// Alert types the platform raises, with the fields that identify one alert of the type.
pub static ALERT_TYPES: &[(&str, &str, &[&str])] = &[(
    "watchlist_match",
    "An ingested event carries a value listed on a watchlist",
    &["watchlist_id", "entry", "event_id"],
)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_sort_and_filter_names_a_field() {
        for spec in ALL.iter().chain(REST) {
            assert!(
                spec.sort_column(spec.default_sort).is_some(),
                "{}",
                spec.name
            );
            if let Some(p) = spec.parent {
                assert!(spec.field(p.column).is_some(), "{}", spec.name);
                assert!(p.spec.tenancy.has_tenant_column(), "{}", spec.name);
            }
            for f in spec.fields {
                assert!(
                    !f.required || f.writable,
                    "{}.{} is required but read-only",
                    spec.name,
                    f.name
                );
                assert!(
                    !f.searchable
                        || matches!(
                            f.ty,
                            FieldType::Text { .. } | FieldType::Enum(_) | FieldType::IpAddress
                        ),
                    "{}.{} is searchable but not text",
                    spec.name,
                    f.name
                );
            }
        }
    }

    #[test]
    fn connector_config_is_never_answered() {
        assert!(CONNECTORS.visible_fields().all(|f| f.name != "config"));
    }
}
