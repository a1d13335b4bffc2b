//! Properties: the canonical YAML and the export read back to the same policy, and the status
//! moves the right way when rules, thresholds or suppressions change.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, NaiveDate, Utc};
use proptest::prelude::*;
use stella_policy::*;

fn rank(s: PolicyStatus) -> u8 {
    match s {
        PolicyStatus::Pass => 0,
        PolicyStatus::Warn => 1,
        PolicyStatus::Fail => 2,
    }
}

fn subset(items: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(items, 0..=items.len())
        .prop_map(|v| v.into_iter().map(str::to_owned).collect())
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Ignore),
        Just(Action::Warn),
        Just(Action::Block)
    ]
}

fn severity() -> impl Strategy<Value = Severity> {
    proptest::sample::select(Severity::ALL.to_vec())
}

fn threshold() -> impl Strategy<Value = Threshold> {
    proptest::sample::select(vec![
        Threshold::Low,
        Threshold::Medium,
        Threshold::High,
        Threshold::Critical,
    ])
}

fn expiry() -> impl Strategy<Value = Option<Expiry>> {
    prop_oneof![
        Just(None),
        (0u32..3).prop_map(|d| Some(Expiry::Date(
            NaiveDate::from_ymd_opt(2026, 5, 30 + d.min(1)).unwrap()
        ))),
        Just(Some(Expiry::At(
            DateTime::parse_from_rfc3339("2026-06-01T00:00:00+02:00").unwrap()
        ))),
    ]
}

/// A rule without a name yet (names are made unique by position).
fn rule() -> impl Strategy<Value = Rule> {
    (
        "[a-zA-Z0-9'\"\\\\:#&*!|>@{}\\[\\]-]{1,12}",
        action(),
        proptest::sample::subsequence(Severity::ALL.to_vec(), 0..=5),
        subset(&["dev", "Prod"]),
        subset(&["a", "b*", "*x"]),
        subset(&["pkg:npm/a", "pkg:npm/bx@1.*"]),
        subset(&["V1", "v2"]),
        expiry(),
        proptest::option::of("[ -~]{0,10}[!-~]"),
    )
        .prop_map(
            |(
                name,
                action,
                severities,
                environments,
                packages,
                purls,
                vulnerabilities,
                expires,
                reason,
            )| {
                Rule {
                    name,
                    action,
                    severities,
                    environments,
                    packages,
                    purls,
                    vulnerabilities,
                    expires,
                    reason,
                }
            },
        )
}

fn rules() -> impl Strategy<Value = Vec<Rule>> {
    proptest::collection::vec(rule(), 0..6).prop_map(|mut rules| {
        for (i, r) in rules.iter_mut().enumerate() {
            r.name = format!("r{i}{}", r.name);
        }
        rules
    })
}

fn finding() -> impl Strategy<Value = Finding> {
    (
        proptest::sample::select(vec!["V1", "V2", "V3"]),
        proptest::sample::select(vec!["a", "bx", "c"]),
        severity(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(id, package, severity, suppressed, with_purl)| Finding {
            id: id.to_owned(),
            aliases: Vec::new(),
            package: package.to_owned(),
            purl: with_purl.then(|| format!("pkg:npm/{package}@1.2.3")),
            installed_version: "1.2.3".to_owned(),
            fixed_versions: Vec::new(),
            severity,
            cvss_score: None,
            layer: None,
            policy_rule: None,
            suppressed,
            justification: None,
        })
}

fn env() -> impl Strategy<Value = Option<&'static str>> {
    proptest::option::of(proptest::sample::select(vec!["dev", "prod", "qa"]))
}

fn now() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..4).prop_map(|h| {
        DateTime::parse_from_rfc3339("2026-05-31T21:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + chrono::Duration::hours(h)
    })
}

fn status(
    rules: &[Rule],
    findings: &[Finding],
    environment: Option<&str>,
    now: DateTime<Utc>,
    threshold: Threshold,
) -> PolicyStatus {
    Policy::from_rules(rules)
        .unwrap()
        .evaluate(&Input {
            findings,
            environment,
            now,
            threshold,
        })
        .unwrap()
        .status
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn canonical_yaml_and_export_read_back(rules in rules()) {
        let p = Policy::from_rules(&rules).unwrap();
        prop_assert_eq!(p.rules(), &rules[..]);
        prop_assert_eq!(&parse(&p.export()).unwrap(), &p);
        prop_assert_eq!(p.canonical_yaml().unwrap(), p.export());
    }

    #[test]
    fn a_block_rule_never_lowers_the_status(
        rules in rules(), extra in rule(), at in 0usize..7,
        findings in proptest::collection::vec(finding(), 0..6),
        env in env(), now in now(), t in threshold(),
    ) {
        let before = status(&rules, &findings, env, now, t);
        let mut more = rules.clone();
        let mut extra = extra;
        extra.name = "extra".to_owned();
        extra.action = Action::Block;
        more.insert(at.min(more.len()), extra);
        let after = status(&more, &findings, env, now, t);
        prop_assert!(rank(after) >= rank(before), "{:?} -> {:?}", before, after);
    }

    #[test]
    fn removing_an_ignore_rule_never_lowers_the_status(
        rules in rules(), at in 0usize..6,
        findings in proptest::collection::vec(finding(), 0..6),
        env in env(), now in now(), t in threshold(),
    ) {
        prop_assume!(at < rules.len() && rules[at].action == Action::Ignore);
        let before = status(&rules, &findings, env, now, t);
        let mut fewer = rules.clone();
        fewer.remove(at);
        prop_assert!(rank(status(&fewer, &findings, env, now, t)) >= rank(before));
    }

    #[test]
    fn a_lower_threshold_never_lowers_the_status(
        rules in rules(), findings in proptest::collection::vec(finding(), 0..6),
        env in env(), now in now(), a in threshold(), b in threshold(),
    ) {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(
            rank(status(&rules, &findings, env, now, low))
                >= rank(status(&rules, &findings, env, now, high))
        );
    }

    #[test]
    fn suppressing_a_finding_never_raises_the_status(
        rules in rules(), findings in proptest::collection::vec(finding(), 1..6), at in 0usize..6,
        env in env(), now in now(), t in threshold(),
    ) {
        let before = status(&rules, &findings, env, now, t);
        let mut fs = findings.clone();
        let i = at % fs.len();
        fs[i].suppressed = true;
        prop_assert!(rank(status(&rules, &fs, env, now, t)) <= rank(before));
    }

    #[test]
    fn arbitrary_text_never_panics(text in "(version|rules|name|action|severity|[-:\\[\\]{}&*!|>'\" \n]|[a-z]){0,200}") {
        let _ = parse(&text);
    }
}
