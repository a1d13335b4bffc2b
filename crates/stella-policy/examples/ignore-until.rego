# Sample Stella Ops Rego policy (the contract is in stella-policy's crate documentation).
#
# input: {"findings": [...], "environment": "prod" | null, "now": "<RFC 3339>",
#         "threshold": "critical"}
# The scan reads data.<package>.ignore / .warn / .block (sets of finding ids, or objects
# {"id", "package", "rule", "reason"}) and data.<package>.deny (a set of messages).
# Where a finding is in several sets, block wins over warn over ignore.
package stella.policy

# A time-boxed exception: CVE-2024-0001 is accepted until 2027-01-01 (UTC). `input.now` is the
# scan's evaluation time; `time.now_ns()` returns the same instant, so either may be used.
ignore contains {
	"id": "CVE-2024-0001",
	"rule": "accept-cve-2024-0001-until-2027",
	"reason": "fix scheduled for Q4",
} if {
	time.parse_rfc3339_ns(input.now) < time.parse_rfc3339_ns("2027-01-01T00:00:00Z")
}

# In production, a critical finding with a fix available blocks the build.
block contains {"id": f.id, "package": f.package, "rule": "fixable-critical-in-prod"} if {
	input.environment == "prod"
	some f in input.findings
	f.severity == "Critical"
	count(object.get(f, "fixedVersions", [])) > 0
}

# High findings are reported.
warn contains f.id if {
	some f in input.findings
	f.severity == "High"
}

# A scan with more than 500 findings fails outright.
deny contains msg if {
	n := count(input.findings)
	n > 500
	msg := sprintf("%d findings: more than 500", [n])
}
