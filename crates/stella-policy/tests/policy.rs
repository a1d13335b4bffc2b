//! Reading (YAML schema errors, bounds), evaluation (matchers, environments, expiry with an
//! injected time, first match, status) and the Rego contract (the sample policy, errors).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use serde_json::json;
use stella_policy::*;

fn errors(text: &str) -> serde_json::Value {
    serde_json::to_value(parse(text).expect_err("should not parse")).unwrap()
}

fn finding(id: &str, package: &str, severity: Severity) -> Finding {
    Finding {
        id: id.to_owned(),
        aliases: Vec::new(),
        package: package.to_owned(),
        purl: None,
        installed_version: "1.0.0".to_owned(),
        fixed_versions: Vec::new(),
        severity,
        cvss_score: None,
        layer: None,
        policy_rule: None,
        suppressed: false,
        justification: None,
    }
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn eval(policy: &Policy, findings: &[Finding], env: Option<&str>, now: &str) -> Decision {
    policy
        .evaluate(&Input {
            findings,
            environment: env,
            now: at(now),
            threshold: Threshold::Critical,
        })
        .unwrap()
}

fn rules(applied: &Decision) -> Vec<Option<&str>> {
    applied
        .per_finding
        .iter()
        .map(|a| a.as_ref().map(|a| a.rule.as_str()))
        .collect()
}

const NOW: &str = "2026-06-01T00:00:00Z";

// ---- YAML: reading ----

#[test]
fn the_references_example_gives_exactly_its_error() {
    let text = "version: \"1.0\"\nrules:\n  - name: Ignore Low dev\n    severity: [Low, None]\n    environments: [dev, staging]\n    action: ignore\n";
    assert_eq!(
        errors(text),
        json!({"errors": [{"path": "$.rules[0].severity", "msg": "Invalid level 'None'"}]})
            ["errors"]
    );
    // Corrected, it reads; levels are case-insensitive.
    let p = parse(&text.replace("None", "unknown")).unwrap();
    assert_eq!(p.kind(), PolicyKind::Yaml);
    assert_eq!(p.rules()[0].severities, [Severity::Low, Severity::Unknown]);
    assert_eq!(p.rules()[0].environments, ["dev", "staging"]);
    assert_eq!(p.rules()[0].action, Action::Ignore);
}

#[test]
fn schema_errors_have_paths_and_say_what_is_allowed() {
    let e = errors(
        "version: \"1.0\"\nfoo: 1\nrules:\n  - name: a\n    action: ignore\n    sevrity: Low\n  - name: b\n    action: deny\n  - action: warn\n  - name: d\n    action: [warn]\n",
    );
    let e = e.as_array().unwrap();
    let pairs: Vec<(&str, &str)> = e
        .iter()
        .map(|e| (e["path"].as_str().unwrap(), e["msg"].as_str().unwrap()))
        .collect();
    assert_eq!(pairs[0].0, "$.foo");
    assert!(pairs[0]
        .1
        .starts_with("Unknown key 'foo'; expected one of version, rules"));
    assert_eq!(pairs[1].0, "$.rules[0].sevrity");
    assert!(pairs[1].1.contains("severity"));
    assert_eq!(
        pairs[2],
        (
            "$.rules[1].action",
            "Invalid action 'deny'; expected one of ignore, warn, block"
        )
    );
    assert_eq!(pairs[3], ("$.rules[2].name", "Missing required key 'name'"));
    assert_eq!(pairs[4].0, "$.rules[3].action");
    assert!(pairs[4].1.contains("ignore, warn, block") && pairs[4].1.contains("a list"));
    assert_eq!(pairs.len(), 5);
}

#[test]
fn more_schema_errors() {
    let one = |text: &str| {
        let e = errors(text);
        assert_eq!(e.as_array().unwrap().len(), 1, "{e}");
        (
            e[0]["path"].as_str().unwrap().to_owned(),
            e[0]["msg"].as_str().unwrap().to_owned(),
        )
    };
    let r = |body: &str| format!("version: \"1.0\"\nrules:\n  - name: a\n    action: warn\n{body}");
    let (p, m) = one(&r("    expires: 2026-13-01\n"));
    assert_eq!(p, "$.rules[0].expires");
    assert!(m.starts_with("Invalid date '2026-13-01'"), "{m}");
    assert!(parse(&r("    expires: 2026-12-31T10:00:00+02:00\n")).is_ok());
    let (p, _) = one(&r("    expires: [2026-01-01]\n"));
    assert_eq!(p, "$.rules[0].expires");
    let (p, m) = one(&r("    packages: []\n"));
    assert_eq!(p, "$.rules[0].packages");
    assert!(m.contains("empty list"));
    let (p, _) = one(&r("    packages: [a, {b: c}]\n"));
    assert_eq!(p, "$.rules[0].packages[1]");
    let (p, m) = one(&r("    purls: [lodash]\n"));
    assert_eq!(p, "$.rules[0].purls");
    assert!(m.contains("pkg:type"), "{m}");
    let (p, m) = one(&r("    name: b\n"));
    assert_eq!(p, "$");
    assert!(m.contains("Duplicate key 'name'"), "{m}");
    let (p, m) = one(
        "version: \"1.0\"\nrules:\n  - {name: a, action: warn}\n  - {name: A, action: block}\n",
    );
    assert_eq!(p, "$.rules[1].name");
    assert_eq!(m, "Duplicate rule name 'A' (also $.rules[0])");
    let (p, m) = one("version: \"2.0\"\nrules: []\n");
    assert_eq!(
        (p.as_str(), m.as_str()),
        ("$.version", "Unsupported version '2.0'; expected \"1.0\"")
    );
    let (p, _) = one("rules: []\n");
    assert_eq!(p, "$.version");
    let (p, _) = one("version: \"1.0\"\nrules: {}\n");
    assert_eq!(p, "$.rules");
    let (p, _) = one("- a\n- b\n");
    assert_eq!(p, "$");
    let (p, m) = one("");
    assert_eq!((p.as_str(), m.as_str()), ("$", "The policy is empty"));
    let (p, m) = one("version: \"1.0\"\nrules: [\n");
    assert_eq!(p, "$");
    assert!(m.contains("line") && m.contains("YAML syntax error"), "{m}");
    let (_, m) = one("version: \"1.0\"\nrules: []\n---\nversion: \"1.0\"\n");
    assert!(m.contains("one YAML document"), "{m}");
    let (p, m) = one(&r("    reason: \"a\\u0007b\"\n"));
    assert_eq!(p, "$.rules[0].reason");
    assert!(m.contains("Control"));
    let (p, m) = one(&r(&format!(
        "    reason: {}\n",
        "x".repeat(MAX_STRING_CHARS + 1)
    )));
    assert_eq!(p, "$.rules[0].reason");
    assert!(m.contains("Longer than"));
    // `version: 1.0` unquoted is the same text; `rules:` with nothing is an empty ruleset.
    assert!(parse("version: 1.0\nrules:\n").unwrap().rules().is_empty());
}

#[test]
fn yaml_bombs_and_oversized_input_are_refused() {
    let laughs = "version: \"1.0\"\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nrules: *c\n";
    let e = errors(laughs);
    assert!(
        e[0]["msg"]
            .as_str()
            .unwrap()
            .contains("anchors are not supported"),
        "{e}"
    );
    let alias_only = "version: \"1.0\"\nrules: *x\n";
    assert!(parse(alias_only).is_err());
    let tagged = "version: !!str 1.0\nrules: []\n";
    assert!(errors(tagged)[0]["msg"].as_str().unwrap().contains("tags"));
    let deep = format!(
        "version: \"1.0\"\nrules: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let m = errors(&deep)[0]["msg"].as_str().unwrap().to_owned();
    assert!(
        m.contains("Nested deeper") || m.contains("recursion"),
        "{m}"
    );
    let deep = format!(
        "version: \"1.0\"\nrules: {}{}\n",
        "[".repeat(20),
        "]".repeat(20)
    );
    assert!(errors(&deep)[0]["msg"]
        .as_str()
        .unwrap()
        .contains("Nested deeper"));
    let huge = format!(
        "version: \"1.0\"\nrules: []\n#{}\n",
        "x".repeat(MAX_POLICY_BYTES)
    );
    assert!(errors(&huge)[0]["msg"]
        .as_str()
        .unwrap()
        .contains("at most 262144"));
    let mut many = String::from("version: \"1.0\"\nrules:\n");
    for i in 0..=MAX_RULES {
        many.push_str(&format!("- {{name: r{i}, action: warn}}\n"));
    }
    assert!(errors(&many)[0]["msg"]
        .as_str()
        .unwrap()
        .contains("at most 1000"));
    let e = parse_bytes(b"version: \"1.0\"\nrules: [\xff]\n").unwrap_err();
    assert_eq!(e[0].path, "$");
    assert!(
        e[0].msg.contains("not UTF-8") && e[0].msg.contains("23"),
        "{}",
        e[0].msg
    );
    assert!(parse_bytes(b"\xef\xbb\xbfversion: \"1.0\"\r\nrules: []\r\n").is_ok());
}

#[test]
fn export_hash_and_canonical_form() {
    let text = "# comment kept\r\nversion: \"1.0\"\r\nrules:\r\n  - name: x\r\n    action: WARN\r\n\r\n\r\n";
    let p = parse(text).unwrap();
    assert_eq!(
        p.export(),
        "# comment kept\nversion: \"1.0\"\nrules:\n  - name: x\n    action: WARN\n"
    );
    assert_eq!(parse(&p.export()).unwrap(), p);
    assert_eq!(p.hash().len(), 64);
    assert_eq!(parse(&p.export()).unwrap().hash(), p.hash());
    let canon = p.canonical_yaml().unwrap();
    assert_eq!(
        canon,
        "version: \"1.0\"\nrules:\n  - name: \"x\"\n    action: warn\n"
    );
    assert_eq!(parse(&canon).unwrap().rules(), p.rules());
    assert_eq!(validate(text).unwrap().rules, 1);
    let d = default_policy();
    assert_eq!(parse(&d.export()).unwrap(), d);
    assert!(d.rules().is_empty());
    let sample = include_str!("../examples/ruleset.yaml");
    assert_eq!(validate(sample).unwrap().rules, 4);
}

// ---- YAML: evaluation ----

fn yaml(rules: &str) -> Policy {
    parse(&format!("version: \"1.0\"\nrules:\n{rules}")).unwrap()
}

#[test]
fn matchers() {
    let p = yaml(
        "  - {name: by-id, vulnerabilities: [cve-1], action: warn}\n  - {name: by-pkg, packages: [\"@babel/*\"], action: warn}\n  - {name: by-purl, purls: [pkg:npm/lodash], action: warn}\n  - {name: by-purl-version, purls: [\"pkg:pypi/django@4.2.*\"], action: warn}\n  - {name: by-severity, severity: Medium, action: warn}\n",
    );
    let mut alias = finding("GHSA-x", "a", Severity::Low);
    alias.aliases = vec!["CVE-1".to_owned()];
    let mut lodash = finding("X-2", "lodash", Severity::Low);
    lodash.purl = Some("pkg:npm/lodash@4.17.20".to_owned());
    let mut django_old = finding("X-3", "django", Severity::Low);
    django_old.purl = Some("pkg:pypi/django@4.1.0".to_owned());
    let mut django = finding("X-3", "django", Severity::Low);
    django.purl = Some("pkg:pypi/django@4.2.7".to_owned());
    let fs = [
        alias,
        finding("X-1", "@babel/core", Severity::Low),
        lodash,
        django_old,
        django,
        finding("X-4", "other", Severity::Medium),
        finding("X-5", "other", Severity::Low),
    ];
    let d = eval(&p, &fs, None, NOW);
    assert_eq!(
        rules(&d),
        [
            Some("by-id"),
            Some("by-pkg"),
            Some("by-purl"),
            None,
            Some("by-purl-version"),
            Some("by-severity"),
            None
        ]
    );
    assert_eq!(d.status, PolicyStatus::Warn);
    // All matchers of one rule must match.
    let p = yaml("  - {name: both, packages: [lodash], severity: High, action: block}\n");
    let d = eval(
        &p,
        &[
            finding("A", "lodash", Severity::Low),
            finding("B", "lodash", Severity::High),
        ],
        None,
        NOW,
    );
    assert_eq!(rules(&d), [None, Some("both")]);
    assert_eq!(d.status, PolicyStatus::Fail);
}

#[test]
fn environments() {
    let p = yaml("  - {name: dev-only, environments: [Dev], action: block}\n");
    let fs = [finding("A", "a", Severity::Low)];
    assert_eq!(eval(&p, &fs, Some("dev"), NOW).status, PolicyStatus::Fail);
    assert_eq!(eval(&p, &fs, Some("prod"), NOW).status, PolicyStatus::Pass);
    assert_eq!(eval(&p, &fs, None, NOW).status, PolicyStatus::Pass);
    assert_eq!(eval(&p, &fs, Some(""), NOW).status, PolicyStatus::Pass);
    let any = yaml("  - {name: anywhere, action: block}\n");
    assert_eq!(eval(&any, &fs, None, NOW).status, PolicyStatus::Fail);
    assert_eq!(
        eval(&any, &fs, Some("prod"), NOW).status,
        PolicyStatus::Fail
    );
}

#[test]
fn expiry_uses_the_injected_time() {
    let p = yaml("  - {name: temp, vulnerabilities: [A], expires: 2026-12-31, action: ignore}\n  - {name: exact, vulnerabilities: [B], expires: \"2026-12-31T12:00:00+02:00\", action: ignore}\n");
    let fs = [
        finding("A", "a", Severity::Critical),
        finding("B", "b", Severity::Critical),
    ];
    let before = eval(&p, &fs, None, "2026-12-31T09:59:59Z");
    assert_eq!(rules(&before), [Some("temp"), Some("exact")]);
    assert_eq!(before.status, PolicyStatus::Pass);
    let mid = eval(&p, &fs, None, "2026-12-31T10:00:00Z");
    assert_eq!(rules(&mid), [Some("temp"), None]);
    assert_eq!(mid.status, PolicyStatus::Fail);
    assert!(mid
        .messages
        .iter()
        .any(|m| m.contains("Rule 'exact' expired")));
    let after = eval(&p, &fs, None, "2027-01-01T00:00:00Z");
    assert_eq!(rules(&after), [None, None]);
    assert!(after
        .messages
        .iter()
        .any(|m| m.contains("Rule 'temp' expired at 2026-12-31")));
}

#[test]
fn first_match_wins_and_status_rules() {
    let p = yaml("  - {name: ign, packages: [a], action: ignore}\n  - {name: blk, packages: [a, b], action: block}\n  - {name: wrn, packages: [c], action: warn}\n");
    let d = eval(&p, &[finding("1", "a", Severity::Critical)], None, NOW);
    assert_eq!(rules(&d), [Some("ign")]);
    assert_eq!(
        d.status,
        PolicyStatus::Pass,
        "ignored findings leave the verdict"
    );
    let d = eval(&p, &[finding("1", "b", Severity::Low)], None, NOW);
    assert_eq!(
        d.status,
        PolicyStatus::Fail,
        "a block fails whatever the severity"
    );
    assert!(d.messages[0].contains("blocked by rule 'blk'"));
    let d = eval(&p, &[finding("1", "c", Severity::Low)], None, NOW);
    assert_eq!(d.status, PolicyStatus::Warn);
    let d = eval(&p, &[finding("1", "c", Severity::Critical)], None, NOW);
    assert_eq!(
        d.status,
        PolicyStatus::Fail,
        "a warned finding over the threshold fails"
    );
    let d = eval(&p, &[finding("1", "z", Severity::Critical)], None, NOW);
    assert_eq!(d.status, PolicyStatus::Fail);
    let mut vex = finding("1", "b", Severity::Critical);
    vex.suppressed = true;
    let d = eval(&p, &[vex], None, NOW);
    assert_eq!(
        d.status,
        PolicyStatus::Pass,
        "VEX-suppressed findings never count"
    );
    assert_eq!(rules(&d), [None]);
    // Threshold: Unknown never reaches it; lower thresholds catch more.
    let none = default_policy();
    let fs = [
        finding("1", "z", Severity::Medium),
        finding("2", "y", Severity::Unknown),
    ];
    let with = |t| {
        none.evaluate(&Input {
            findings: &fs,
            environment: None,
            now: at(NOW),
            threshold: t,
        })
        .unwrap()
        .status
    };
    assert_eq!(with(Threshold::High), PolicyStatus::Pass);
    assert_eq!(with(Threshold::Medium), PolicyStatus::Fail);
    // Annotate writes policyRule.
    let mut fs = vec![
        finding("1", "a", Severity::Low),
        finding("2", "q", Severity::Low),
    ];
    fs[1].policy_rule = Some("stale".to_owned());
    let d = eval(&p, &fs, None, NOW);
    d.annotate(&mut fs);
    assert_eq!(fs[0].policy_rule.as_deref(), Some("ign"));
    assert_eq!(fs[1].policy_rule, None);
}

#[test]
fn messages_are_bounded() {
    let p = yaml("  - {name: all, action: block}\n");
    let fs: Vec<Finding> = (0..500)
        .map(|i| finding(&format!("X-{i}"), "a", Severity::Low))
        .collect();
    let d = eval(&p, &fs, None, NOW);
    assert_eq!(d.messages.len(), MAX_MESSAGES + 1);
    assert_eq!(d.messages.last().unwrap(), "… and 400 more");
}

// ---- Rego ----

const SAMPLE: &str = include_str!("../examples/ignore-until.rego");

#[test]
fn the_sample_rego_policy_decides_by_the_given_date() {
    let p = parse(SAMPLE).unwrap();
    assert_eq!(p.kind(), PolicyKind::Rego);
    assert_eq!(p.package(), Some("stella.policy"));
    assert_eq!(parse(&p.export()).unwrap(), p);
    let fs = [finding("CVE-2024-0001", "openssl", Severity::Critical)];
    let before = eval(&p, &fs, Some("prod"), "2026-12-31T23:59:59Z");
    assert_eq!(before.status, PolicyStatus::Pass);
    let a = before.per_finding[0].as_ref().unwrap();
    assert_eq!(a.rule, "accept-cve-2024-0001-until-2027");
    assert_eq!(a.action, Action::Ignore);
    let after = eval(&p, &fs, Some("prod"), "2027-01-01T00:00:00Z");
    assert_eq!(after.status, PolicyStatus::Fail);
    assert_eq!(after.per_finding[0], None);

    // block wins over ignore; warn; deny.
    let mut fixable = finding("CVE-2024-0001", "openssl", Severity::Critical);
    fixable.fixed_versions = vec!["3.0.1".to_owned()];
    let d = eval(&p, &[fixable.clone()], Some("prod"), "2026-01-01T00:00:00Z");
    assert_eq!(
        d.per_finding[0].as_ref().unwrap().rule,
        "fixable-critical-in-prod"
    );
    assert_eq!(d.status, PolicyStatus::Fail);
    let d = eval(&p, &[fixable], Some("dev"), "2026-01-01T00:00:00Z");
    assert_eq!(d.status, PolicyStatus::Pass);
    let d = eval(&p, &[finding("H-1", "x", Severity::High)], None, NOW);
    assert_eq!(d.status, PolicyStatus::Warn);
    assert_eq!(
        d.per_finding[0].as_ref().unwrap().rule,
        "stella.policy.warn"
    );
    let many: Vec<Finding> = (0..501)
        .map(|i| finding(&format!("L-{i}"), "x", Severity::Low))
        .collect();
    let d = eval(&p, &many, None, NOW);
    assert_eq!(d.status, PolicyStatus::Fail);
    assert!(
        d.messages
            .iter()
            .any(|m| m == "Denied: 501 findings: more than 500"),
        "{:?}",
        d.messages
    );
}

#[test]
fn rego_time_now_ns_is_the_injected_time() {
    let p = parse("package t\nignore contains \"A\" if {\n  time.now_ns() < time.parse_rfc3339_ns(\"2030-01-01T00:00:00Z\")\n}\n").unwrap();
    let fs = [finding("A", "a", Severity::Critical)];
    assert_eq!(
        eval(&p, &fs, None, "2029-12-31T23:59:59Z").status,
        PolicyStatus::Pass
    );
    assert_eq!(
        eval(&p, &fs, None, "2030-01-01T00:00:00Z").status,
        PolicyStatus::Fail
    );
    // The input document is as documented.
    let p = parse("package t\nwarn contains f.id if {\n  some f in input.findings\n  input.environment == \"qa\"\n  input.threshold == \"critical\"\n  input.now == \"2026-06-01T00:00:00Z\"\n  f.installedVersion == \"1.0.0\"\n}\n").unwrap();
    assert_eq!(
        eval(&p, &[finding("A", "a", Severity::Low)], Some("qa"), NOW).status,
        PolicyStatus::Warn
    );
}

#[test]
fn rego_errors() {
    let e = validate("package x\nignore contains 1 if {\n  input.a ==\n}\n").unwrap_err();
    assert_eq!(e[0].path, "$.rego");
    assert_eq!(e[0].msg, "4:1: expecting expression");
    let e = validate("package x\nfoo := 1\n").unwrap_err();
    assert!(
        e[0].msg.contains("data.x.ignore") && e[0].msg.contains("data.x.deny"),
        "{}",
        e[0].msg
    );
    let e = validate("package x\nblock := 5\n").unwrap_err();
    assert!(e[0].msg.contains("must be a set"), "{}", e[0].msg);
    let e = validate("package x\nignore contains f if { f := nope(1) }\n").unwrap_err();
    assert!(e[0].msg.contains("nope"), "{}", e[0].msg);
    let e = validate("package x[\"a.b\"]\nignore contains 1 if { false }\n").unwrap_err();
    assert!(e[0].msg.contains("dotted name"), "{}", e[0].msg);
    // A policy that is fine on an empty scan but fails on a real one: an error, not a panic.
    let p = parse("package x\nblock contains f.id if {\n  some f in input.findings\n  1 / (count(input.findings) - 1) > 0\n}\n").unwrap();
    let e = p
        .evaluate(&Input {
            findings: &[finding("A", "a", Severity::Low)],
            environment: None,
            now: at(NOW),
            threshold: Threshold::Critical,
        })
        .unwrap_err();
    assert!(
        matches!(&e, EvalError::Rego(m) if m.contains("divide by zero")),
        "{e}"
    );
    let p = parse(
        "package x\nblock contains x if {\n  some f in input.findings\n  x := {\"id\": 5}\n}\n",
    )
    .unwrap();
    let e = p
        .evaluate(&Input {
            findings: &[finding("A", "a", Severity::Low)],
            environment: None,
            now: at(NOW),
            threshold: Threshold::Critical,
        })
        .unwrap_err();
    assert!(matches!(e, EvalError::Contract(_)), "{e}");
}

#[test]
fn rego_evaluation_is_bounded_in_time() {
    let p = parse("package x\nwarn contains n if {\n  some f in input.findings\n  n := count([1 | some i in numbers.range(1, 100000); some j in numbers.range(1, 100000)])\n}\n").unwrap();
    let started = std::time::Instant::now();
    let e = p.evaluate(&Input {
        findings: &[finding("A", "a", Severity::Low)],
        environment: None,
        now: at(NOW),
        threshold: Threshold::Critical,
    });
    assert!(e.is_err(), "{e:?}");
    assert!(started.elapsed() < REGO_TIME_LIMIT * 5);
}
