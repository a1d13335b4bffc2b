//! Outbound HTTP (playbook webhooks), guarded against server-side request forgery.
//!
//! A tenant names the URL, so the server must not become a way into its own network:
//! - destinations on loopback, private (RFC 1918, unique-local), carrier-grade NAT,
//!   link-local (which holds the cloud metadata service at 169.254.169.254), multicast and
//!   unspecified addresses are refused, unless the operator allows them (`webhook_allow`);
//! - the check applies to the addresses a host name resolves to, inside the client's own
//!   resolver, so it runs for every new connection (a name that re-resolves to a private
//!   address later — DNS rebinding — is refused then too), and to IP literals before sending;
//! - redirects are not followed (a public URL cannot bounce the call inward), no proxy from
//!   the environment is used;
//! - failures are reported without network detail: a refused destination says why it was
//!   refused, a failed delivery says only that it failed, so run records cannot be used to
//!   tell an open port from a closed one;
//! - calls in flight are bounded, and each has a timeout.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::Value;

/// Why a call was not made or did not succeed, in words safe to show the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundError {
    /// The URL is not an acceptable http(s) URL.
    BadUrl(String),
    /// The destination is not allowed.
    Refused(String),
    /// The call was made and did not get an answer (no detail on purpose).
    Failed,
    /// Too many calls already in flight for too long.
    Busy,
}

impl std::fmt::Display for OutboundError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutboundError::BadUrl(m) | OutboundError::Refused(m) => f.write_str(m),
            OutboundError::Failed => f.write_str("the webhook could not be delivered"),
            OutboundError::Busy => {
                f.write_str("the webhook was not sent: too many outbound calls were in flight")
            }
        }
    }
}

/// Destinations the operator allows even though they are internal.
#[derive(Debug, Default, Clone)]
pub struct AllowList {
    hosts: Vec<(String, Option<u16>)>,
    nets: Vec<IpNet>,
}

impl AllowList {
    /// Entries are `host`, `host:port`, an IP address or a CIDR block.
    pub fn parse(entries: &[String]) -> Result<AllowList, String> {
        let mut allow = AllowList::default();
        for e in entries {
            let e = e.trim();
            if let Ok(net) = e.parse::<IpNet>() {
                allow.nets.push(net);
            } else if let Ok(ip) = e.parse::<IpAddr>() {
                allow.nets.push(IpNet::from(ip));
            } else if let Some((host, port)) = e.rsplit_once(':') {
                let port: u16 = port
                    .parse()
                    .map_err(|_| format!("webhook_allow entry {e:?}: the port is not a number"))?;
                allow.hosts.push((host.to_ascii_lowercase(), Some(port)));
            } else if !e.is_empty() {
                allow.hosts.push((e.to_ascii_lowercase(), None));
            }
        }
        Ok(allow)
    }

    fn host_allowed(&self, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        self.hosts
            .iter()
            .any(|(h, p)| *h == host && p.is_none_or(|p| p == port))
    }

    fn ip_allowed(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&ip))
    }
}

/// Why `ip` is not a public destination, if it is not.
pub fn internal_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                Some("a loopback address")
            } else if v4.is_unspecified() || o[0] == 0 {
                Some("an unspecified address")
            } else if v4.is_private() {
                Some("a private address")
            } else if v4.is_link_local() {
                Some("a link-local address (where cloud metadata services live)")
            } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
                Some("a carrier-grade NAT address")
            } else if v4.is_multicast() || v4.is_broadcast() || o[0] >= 240 {
                Some("a multicast, broadcast or reserved address")
            } else if (o[0] == 198 && (o[1] & 0xfe) == 18)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
            {
                Some("a special-purpose address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal_reason(IpAddr::V4(v4));
            }
            let s = v6.segments();
            if v6.is_loopback() {
                Some("a loopback address")
            } else if v6.is_unspecified() {
                Some("an unspecified address")
            } else if (s[0] & 0xfe00) == 0xfc00 {
                Some("a private (unique-local) address")
            } else if (s[0] & 0xffc0) == 0xfe80 {
                Some("a link-local address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
                // RFC 8215 local-use NAT64: where the IPv4 address sits depends on the network.
                Some("a local-use NAT64 address")
            } else if s[0] == 0x64 && s[1] == 0xff9b {
                // NAT64 (RFC 6052 /96): the IPv4 address it embeds decides.
                internal_reason(IpAddr::V4(v4_of(s[6], s[7])))
            } else if s[0] == 0x2002 {
                // 6to4: the IPv4 address of the relay decides.
                internal_reason(IpAddr::V4(v4_of(s[1], s[2])))
            } else if s[..6] == [0, 0, 0, 0, 0, 0] || s[..6] == [0, 0, 0, 0, 0xffff, 0] {
                // IPv4-compatible (deprecated) and SIIT-translated forms.
                internal_reason(IpAddr::V4(v4_of(s[6], s[7])))
            } else {
                None
            }
        }
    }
}

fn v4_of(hi: u16, lo: u16) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)
}

/// The client's resolver: system resolution, then only the allowed addresses.
struct GuardedResolver {
    allow: Arc<AllowList>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = Arc::clone(&self.allow);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), 0)).await {
                Ok(addrs) => addrs.collect(),
                Err(_) => {
                    let e: Box<dyn std::error::Error + Send + Sync> =
                        Box::new(Refusal("the host name did not resolve".into()));
                    return Err(e);
                }
            };
            let by_name = allow
                .hosts
                .iter()
                .any(|(h, _)| *h == host.to_ascii_lowercase());
            let kept: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| {
                    by_name || allow.ip_allowed(a.ip()) || internal_reason(a.ip()).is_none()
                })
                .collect();
            if kept.is_empty() {
                let e: Box<dyn std::error::Error + Send + Sync> = Box::new(Refusal(format!(
                    "{host} resolves only to internal addresses, which webhooks may not call"
                )));
                return Err(e);
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

#[derive(Debug)]
struct Refusal(String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// The guarded client, shared by every outbound call.
pub struct Outbound {
    client: reqwest::Client,
    allow: Arc<AllowList>,
    slots: tokio::sync::Semaphore,
    timeout: Duration,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("allow", &self.allow)
            .finish()
    }
}

impl Outbound {
    pub fn new(allow: AllowList, max_in_flight: usize, timeout: Duration) -> Outbound {
        let allow = Arc::new(allow);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                allow: Arc::clone(&allow),
            }))
            .build()
            .unwrap_or_default();
        Outbound {
            client,
            allow,
            slots: tokio::sync::Semaphore::new(max_in_flight.max(1)),
            timeout,
        }
    }

    /// Checks a URL before any connection: scheme, and an IP-literal host (names are checked
    /// by the resolver when connecting).
    pub fn check_url(&self, url: &str) -> Result<reqwest::Url, OutboundError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|_| OutboundError::BadUrl("the webhook url is not a valid URL".into()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(OutboundError::BadUrl(
                "a webhook needs an http:// or https:// url".into(),
            ));
        }
        let port = parsed.port_or_known_default().unwrap_or(0);
        let ip = match parsed.host() {
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(url::Host::Domain(d)) => {
                if let Some(host_port) = self.allow.hosts.iter().find(|(h, _)| h == d) {
                    if host_port.1.is_some_and(|p| p != port) {
                        return Err(OutboundError::Refused(format!(
                            "{d} is allowed for webhooks on port {} only",
                            host_port.1.unwrap_or(0)
                        )));
                    }
                }
                return Ok(parsed);
            }
            None => {
                return Err(OutboundError::BadUrl(
                    "the webhook url names no host".into(),
                ))
            }
        };
        if let Some(reason) = internal_reason(ip) {
            if !self.allow.ip_allowed(ip) && !self.allow.host_allowed(&ip.to_string(), port) {
                return Err(OutboundError::Refused(format!(
                    "{ip} is {reason}, which webhooks may not call (an operator can allow it with webhook_allow)"
                )));
            }
        }
        Ok(parsed)
    }

    /// POSTs `body` as JSON; answers the HTTP status the destination gave.
    pub async fn post_json(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &Value,
    ) -> Result<u16, OutboundError> {
        let url = self.check_url(url)?;
        let _slot = tokio::time::timeout(self.timeout, self.slots.acquire())
            .await
            .map_err(|_| OutboundError::Busy)?
            .map_err(|_| OutboundError::Busy)?;
        let mut req = self.client.post(url).json(body);
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        match req.send().await {
            Ok(resp) => Ok(resp.status().as_u16()),
            Err(e) => {
                // Only a refusal of ours is worth saying; everything else is "failed".
                let mut source: Option<&dyn std::error::Error> = Some(&e);
                while let Some(s) = source {
                    if let Some(r) = s.downcast_ref::<Refusal>() {
                        return Err(OutboundError::Refused(r.0.clone()));
                    }
                    source = s.source();
                }
                tracing::info!(error = %e, "a webhook call failed");
                Err(OutboundError::Failed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::8.8.8.8",
            "2002:a9fe:a9fe::1",
            "2002:7f00:1::",
            "::10.0.0.1",
            "::ffff:0:127.0.0.1",
            "198.18.0.1",
            "192.0.0.8",
        ] {
            let ip: IpAddr = internal.parse().unwrap_or(IpAddr::from([1, 1, 1, 1]));
            assert!(internal_reason(ip).is_some(), "{internal}");
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "2606:4700::1111",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            let ip: IpAddr = public.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]));
            assert!(internal_reason(ip).is_none(), "{public}");
        }
    }

    #[tokio::test]
    async fn literal_internal_urls_are_refused_unless_allowed() {
        let closed = Outbound::new(AllowList::default(), 1, Duration::from_secs(1));
        for url in [
            "http://127.0.0.1:9/x",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/",
        ] {
            assert!(
                matches!(closed.check_url(url), Err(OutboundError::Refused(_))),
                "{url}"
            );
        }
        assert!(matches!(
            closed.check_url("ftp://example.com/"),
            Err(OutboundError::BadUrl(_))
        ));
        let allow = AllowList::parse(&["127.0.0.0/8".into(), "hooks.internal:8443".into()])
            .unwrap_or_default();
        let open = Outbound::new(allow, 1, Duration::from_secs(1));
        assert!(open.check_url("http://127.0.0.1:9/x").is_ok());
        assert!(open.check_url("http://hooks.internal:8443/").is_ok());
        assert!(matches!(
            open.check_url("http://hooks.internal:9/"),
            Err(OutboundError::Refused(_))
        ));
        // A name resolving to loopback is refused when connecting.
        let r = closed
            .post_json("http://localhost:9/", &[], &serde_json::json!({}))
            .await;
        assert!(matches!(r, Err(OutboundError::Refused(m)) if m.contains("internal")));
    }
}
