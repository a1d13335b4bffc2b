//! The client's address behind reverse proxies. A server behind a load balancer sees every
//! request come from the balancer; the client is in `X-Forwarded-For`. That header is the
//! client's to write, so it is believed only from peers the operator lists in
//! `trusted_proxies`, and only as far as the proxies themselves appended to it: the address is
//! read from the right, past every trusted hop, and the first address not trusted is the
//! client. Anything a client wrote further left is never reached. By default no proxy is
//! trusted and the client is the TCP peer.
//!
//! The gateway decides once per request and stores a [`ClientAddr`]; the activity log, the
//! abuse limits (rate, failed sign-ins), sign-in and the `/rest/` action history all read it.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

use crate::problem::ApiError;

/// `X-Forwarded-For` entries read from the right: more hops than this are not followed.
pub const MAX_HOPS: usize = 32;

/// The peers whose `X-Forwarded-For` is believed (`trusted_proxies`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Each entry an address (`10.0.0.5`, `::1`) or a CIDR block (`10.0.0.0/8`).
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut nets = Vec::with_capacity(entries.len());
        for e in entries {
            let e = e.trim();
            let net = match e.parse::<IpNet>() {
                Ok(n) => n,
                Err(_) => e.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
                    format!("trusted_proxies entry {e:?}: not an IP address or CIDR block")
                })?,
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request from `peer` carrying `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        // Several headers are one list, in order (RFC 9110 §5.3): read from the last header's
        // last entry leftwards, lazily, so a long header costs no more than MAX_HOPS entries.
        // Entries are decoded one at a time: bytes a client wrote that are not text make its
        // own entry garbage, never the proxy's entry to its right.
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .rev()
            .flat_map(|v| v.as_bytes().rsplit(|b| *b == b','));
        let mut client = peer;
        for hop in hops.take(MAX_HOPS) {
            let Some(ip) = std::str::from_utf8(hop)
                .ok()
                .and_then(|h| parse_hop(h.trim()))
            else {
                // Not an address (`unknown`, a name, garbage): the last good hop is as far as
                // the chain can be followed.
                return client;
            };
            client = ip;
            if !self.trusts(ip) {
                return ip;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, or one with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:5678`), as some proxies write them.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<SocketAddr>()
        .ok()
        .map(|s| s.ip().to_canonical())
}

/// The request's client address as [`TrustedProxies::client`] decided it (a request extension
/// the gateway sets). Without the gateway (a bare router), the TCP peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(c) = parts.extensions.get::<ClientAddr>() {
            return Ok(*c);
        }
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| ClientAddr(c.0.ip().to_canonical()))
            .ok_or_else(|| {
                ApiError::Service(stella_service::ServiceError::Internal(
                    "the client's address is unknown".into(),
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn proxies(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn entries_are_addresses_or_blocks() {
        assert!(TrustedProxies::parse(&["10.0.0.0/8".into(), " ::1 ".into()]).is_ok());
        let e = TrustedProxies::parse(&["proxy.local".into()]).unwrap_err();
        assert!(e.contains("proxy.local"), "{e}");
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
    }

    #[test]
    fn by_default_and_from_other_peers_the_header_is_not_believed() {
        let h = xff(&["203.0.113.7"]);
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.5"), &h),
            ip("10.0.0.5")
        );
        let t = proxies(&["10.0.0.5"]);
        assert_eq!(t.client(ip("10.0.0.6"), &h), ip("10.0.0.6"));
    }

    #[test]
    fn the_first_untrusted_address_from_the_right_is_the_client() {
        let t = proxies(&["10.0.0.0/8"]);
        // A client's own entries to the left are never reached.
        let h = xff(&["1.1.1.1, 198.51.100.9", "203.0.113.7, 10.0.0.9"]);
        assert_eq!(t.client(ip("10.0.0.5"), &h), ip("203.0.113.7"));
        // Ports, IPv6, IPv4-mapped peers.
        let h = xff(&["[2001:db8::7]:4711, 10.1.2.3:80"]);
        assert_eq!(t.client(ip("::ffff:10.0.0.5"), &h), ip("2001:db8::7"));
        // No header: the proxy itself.
        assert_eq!(t.client(ip("10.0.0.5"), &HeaderMap::new()), ip("10.0.0.5"));
        // Every hop trusted: the leftmost.
        assert_eq!(
            t.client(ip("10.0.0.5"), &xff(&["10.9.9.9, 10.0.0.1"])),
            ip("10.9.9.9")
        );
        // Garbage stops the walk at the last good hop.
        let h = xff(&["203.0.113.7, unknown, 10.0.0.9"]);
        assert_eq!(t.client(ip("10.0.0.5"), &h), ip("10.0.0.9"));
        // Bytes that are not text in a client's entry spoil that entry only: the proxy's
        // entry to its right still names the client (not the proxy, whose address the client
        // would otherwise take).
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"1.2.3.4\xff, 198.51.100.66").unwrap(),
        );
        assert_eq!(t.client(ip("10.0.0.5"), &h), ip("198.51.100.66"));
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        );
        h.append("x-forwarded-for", HeaderValue::from_static("198.51.100.67"));
        assert_eq!(t.client(ip("10.0.0.5"), &h), ip("198.51.100.67"));
    }

    #[test]
    fn long_chains_are_followed_only_so_far() {
        let t = proxies(&["10.0.0.0/8"]);
        let mut chain = vec!["203.0.113.7".to_string()];
        chain.extend((0..MAX_HOPS).map(|i| format!("10.0.{}.1", i % 250)));
        let h = xff(&[&chain.join(", ")]);
        // The client is past the bound: the walk ends at the last trusted hop it read.
        assert_eq!(t.client(ip("10.0.0.5"), &h), ip("10.0.0.1"));
    }

    proptest! {
        /// Whatever a client writes, the answer is the peer or an address in the header, and
        /// from an untrusted peer always the peer.
        #[test]
        fn the_answer_is_the_peer_or_a_listed_hop(
            header in "[0-9a-f:., \\[\\]x]{0,80}",
            last in 0u8..=255,
        ) {
            let t = proxies(&["127.0.0.0/8"]);
            let Ok(v) = HeaderValue::from_str(&header) else { return Ok(()) };
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-for", v);
            let peer = IpAddr::from([127, 0, 0, last]);
            let got = t.client(peer, &h);
            let listed = header.split(',').filter_map(|s| parse_hop(s.trim())).any(|i| i == got);
            prop_assert!(got == peer || listed, "{got} from {header:?}");
            prop_assert_eq!(t.client(IpAddr::from([192, 0, 2, last]), &h), IpAddr::from([192, 0, 2, last]));
        }
    }
}
