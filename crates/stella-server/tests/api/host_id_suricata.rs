//! Host ID from the EVE JSON Debian's `suricata` writes: real loopback traffic (an HTTP
//! request with a user agent, a TLS 1.2 connection with an SNI to a server with its own
//! certificate, a DNS query to a small UDP responder) made from 127.0.0.2 to 127.0.0.1,
//! captured by `tcpdump` on `lo`, read by `suricata -r` (with one rule, so an alert comes
//! too), ingested through `POST /connect/api/v1/events` as a probe would, then looked up.
//! Skipped, with a notice, where `suricata` or `tcpdump` is missing or may not capture.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use stella_testkit::TestServer;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};

use crate::host_id::{host_id, ingest};

const USER_AGENT: &str = "StellaHostId/1.0 (suricata test)";
const SERVER: &str = "127.0.0.1";
const CLIENT: &str = "127.0.0.2";

fn which(tool: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .chain(["/usr/sbin".into(), "/sbin".into()])
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    })
}

/// A CA, and a certificate for `tls.hostid.test` it signed: (CA DER, leaf DER, key DER).
fn certificate() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut leaf = rcgen::CertificateParams::new(vec!["tls.hostid.test".to_owned()]).unwrap();
    leaf.distinguished_name = rcgen::DistinguishedName::new();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "tls.hostid.test");
    leaf.distinguished_name
        .push(rcgen::DnType::OrganizationName, "Stella Host ID Test");
    let leaf = leaf.signed_by(&key, &ca, &ca_key).unwrap();
    (ca.der().to_vec(), leaf.der().to_vec(), key.serialize_der())
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A connection from the client address to `port` on the server address.
async fn connect(port: u16) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{CLIENT}:0").parse().unwrap()).unwrap();
    socket
        .connect(format!("{SERVER}:{port}").parse().unwrap())
        .await
        .unwrap()
}

/// Answers one request per connection with a short page, over `serve` (plain or TLS).
async fn http_server<S, F, Fut>(listener: TcpListener, wrap: F)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Option<S>> + Send + 'static,
{
    let wrap = Arc::new(wrap);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let wrap = wrap.clone();
            tokio::spawn(async move {
                let Some(mut stream) = wrap(tcp).await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let body = "hello from host id\n";
                let _ = stream
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nServer: stella-test\r\nContent-Type: text/plain\r\n\
                             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .await;
                let _ = stream.shutdown().await;
            });
        }
    });
}

/// GET / with the test's user agent and `host`, over `stream`; the response.
async fn get<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    host: &str,
) -> String {
    let request = format!(
        "GET /hostid HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out).await;
    out
}

/// A DNS responder: every A question is answered with the server address.
async fn dns_server(socket: UdpSocket) {
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let q = &buf[..n];
            // Header, then the question's labels up to the root, type and class.
            let Some(end) = q[12..].iter().position(|b| *b == 0).map(|i| 12 + i + 5) else {
                continue;
            };
            if end > n {
                continue;
            }
            let mut a = Vec::with_capacity(end + 16);
            a.extend_from_slice(&q[..2]);
            a.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
            a.extend_from_slice(&q[12..end]);
            a.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4, 127, 0, 0, 1]);
            let _ = socket.send_to(&a, peer).await;
        }
    });
}

/// One A query for `name` from the client address; the answer's length.
async fn dns_query(port: u16, name: &str) -> usize {
    let socket = UdpSocket::bind(format!("{CLIENT}:0")).await.unwrap();
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    socket
        .send_to(&q, format!("{SERVER}:{port}"))
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut buf))
        .await
        .expect("the DNS responder answers")
        .unwrap()
}

#[tokio::test]
async fn host_id_reads_the_eve_json_suricata_writes_from_loopback_traffic() {
    let (Some(suricata), Some(tcpdump)) = (which("suricata"), which("tcpdump")) else {
        eprintln!(
            "skipping host_id_reads_the_eve_json_suricata_writes_from_loopback_traffic: needs \
             suricata and tcpdump (apt-get install suricata tcpdump)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();

    // The servers, on the server address.
    let http = TcpListener::bind(format!("{SERVER}:0")).await.unwrap();
    let http_port = http.local_addr().unwrap().port();
    http_server(http, |tcp| async move { Some(tcp) }).await;
    let (ca, leaf, key) = certificate();
    let server_config = rustls::ServerConfig::builder_with_provider(provider())
        // TLS 1.3 encrypts the certificate; 1.2 shows Suricata its subject.
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.into()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let tls = TcpListener::bind(format!("{SERVER}:0")).await.unwrap();
    let tls_port = tls.local_addr().unwrap().port();
    http_server(tls, move |tcp| {
        let acceptor = acceptor.clone();
        async move { acceptor.accept(tcp).await.ok() }
    })
    .await;
    let dns = UdpSocket::bind(format!("{SERVER}:0")).await.unwrap();
    let dns_port = dns.local_addr().unwrap().port();
    dns_server(dns).await;

    // Capture, into a directory tcpdump can still write to once it drops root for its
    // `tcpdump` user.
    let capture_dir = dir.path().join("capture");
    std::fs::create_dir(&capture_dir).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&capture_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let pcap = capture_dir.join("lo.pcap");
    let filter = format!(
        "host {SERVER} and (tcp port {http_port} or tcp port {tls_port} or udp port {dns_port})"
    );
    let mut capture = tokio::process::Command::new(&tcpdump)
        .args(["-i", "lo", "-n", "-U", "-s", "0", "-w"])
        .arg(&pcap)
        .arg(&filter)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(capture.stderr.take().unwrap()).lines();
    let listening = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(line)) = stderr.next_line().await {
            if line.contains("listening on") {
                return Ok(());
            }
            if line.contains("ermission") || line.contains("rror") {
                return Err(line);
            }
        }
        Err("tcpdump exited".to_owned())
    })
    .await;
    match listening {
        Ok(Ok(())) => {}
        other => {
            eprintln!(
                "skipping host_id_reads_the_eve_json_suricata_writes_from_loopback_traffic: \
                 tcpdump cannot capture on lo here ({other:?})"
            );
            return;
        }
    }
    // Drain tcpdump's stderr so it never blocks on it.
    tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });

    // The traffic, from the client address.
    let page = get(connect(http_port).await, "web.hostid.test").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.into()).unwrap();
    let client_config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
    let name = rustls::pki_types::ServerName::try_from("tls.hostid.test").unwrap();
    let stream = connector
        .connect(name, connect(tls_port).await)
        .await
        .unwrap();
    let page = get(stream, "tls.hostid.test").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(dns_query(dns_port, "db.hostid.test").await > 12);
    // tcpdump writes each packet as it gets it (-U), in order, but gets them from the kernel
    // in blocks handed over up to a second late, and the interrupt ending it drops what it
    // has yet to get: wait until the DNS answer, the last packet made, is in the file (query
    // and answer both carry the name). (`--immediate-mode` would hand packets over one by
    // one, but here it stalled after a few of them, for good.)
    let question = b"\x02db\x06hostid\x04test\x00";
    let written = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let bytes = std::fs::read(&pcap).unwrap_or_default();
            if bytes
                .windows(question.len())
                .filter(|w| w == question)
                .count()
                >= 2
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        written.is_ok(),
        "tcpdump did not write the DNS answer within 30 s"
    );
    let pid = capture.id().unwrap().to_string();
    let _ = tokio::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .await;
    let _ = tokio::time::timeout(Duration::from_secs(10), capture.wait()).await;
    assert!(pcap.is_file(), "tcpdump wrote no {}", pcap.display());

    // Suricata, on the capture: Debian's configuration, the loopback as home network, DNS
    // looked for on the responder's port, JA3 on, and one rule for an alert.
    let rules = dir.path().join("hostid.rules");
    std::fs::write(
        &rules,
        "alert http any any -> any any (msg:\"Stella host ID test agent\"; flow:established,to_server; \
         http.user_agent; content:\"StellaHostId\"; classtype:bad-unknown; sid:9000001; rev:1;)\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let run = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new(&suricata)
            .arg("-r")
            .arg(&pcap)
            .arg("-l")
            .arg(&out)
            .args(["-k", "none", "--runmode", "single", "-S"])
            .arg(&rules)
            .args([
                "--set",
                "vars.address-groups.HOME_NET=[127.0.0.0/8]",
                "--set",
                "app-layer.protocols.tls.ja3-fingerprints=yes",
                "--set",
            ])
            .arg(format!(
                "app-layer.protocols.dns.udp.detection-ports.dp={dns_port}"
            ))
            .output(),
    )
    .await
    .expect("suricata finishes within 3 minutes")
    .unwrap();
    let log = std::fs::read_to_string(out.join("suricata.log")).unwrap_or_default();
    assert!(
        run.status.success(),
        "suricata failed: {}\n{}\n{log}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let eve = std::fs::read_to_string(out.join("eve.json")).unwrap();
    let events: Vec<Value> = eve
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| e["event_type"].as_str())
        .collect();
    for kind in ["http", "tls", "dns", "flow", "alert"] {
        assert!(kinds.contains(&kind), "no {kind} record in {eve}");
    }

    // Ingested as a probe sends them, then looked up.
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (tenant, _, jwt) =
        crate::tenant_user(&s, &root, "lab", "analyst@lab.test", "analyst").await;
    ingest(&s, &root, &tenant, &events).await;
    let bearer = format!("Bearer {jwt}");

    let (st, server) = host_id(&s, SERVER, &bearer).await;
    assert_eq!(st, 200, "{server}");
    let h = &server["host_id"];
    assert!(
        h["first_seen"].is_string() && h["last_seen"].is_string(),
        "{server}"
    );
    assert!(h["first_seen"].as_str() <= h["last_seen"].as_str());
    let services: Vec<(String, u64, String)> = h["services"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["values"].as_array().unwrap().iter().map(|v| {
                (
                    s["proto"].as_str().unwrap().to_owned(),
                    s["port"].as_u64().unwrap(),
                    v["app_proto"].as_str().unwrap().to_owned(),
                )
            })
        })
        .collect();
    for want in [
        ("tcp".to_owned(), u64::from(http_port), "http".to_owned()),
        ("tcp".to_owned(), u64::from(tls_port), "tls".to_owned()),
        ("udp".to_owned(), u64::from(dns_port), "dns".to_owned()),
    ] {
        assert!(services.contains(&want), "no {want:?} in {server}");
    }
    let names: Vec<(&str, &Value)> = h["hostname"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["host"].as_str().unwrap(), &n["sources"]))
        .collect();
    for (name, source) in [
        ("web.hostid.test", "http.hostname"),
        ("tls.hostid.test", "tls.sni"),
        ("db.hostid.test", "dns"),
    ] {
        assert!(
            names
                .iter()
                .any(|(n, s)| *n == name && s.as_array().unwrap().contains(&json!(source))),
            "no {name} from {source} in {server}"
        );
    }
    let subjects = h["tls.subject"].as_array().unwrap();
    assert!(
        subjects.iter().any(|s| s["subject"]
            .as_str()
            .is_some_and(|s| s.contains("CN=tls.hostid.test"))),
        "{server}"
    );
    assert_eq!(
        h["http.user_agent"],
        json!([]),
        "the server sent no request"
    );
    assert!(
        h["alerts"]["by_severity"]["medium"].as_u64() >= Some(1),
        "{server}"
    );

    let (st, client) = host_id(&s, CLIENT, &bearer).await;
    assert_eq!(st, 200, "{client}");
    let c = &client["host_id"];
    assert_eq!(c["services"], json!([]), "{client}");
    let agents: Vec<&str> = c["http.user_agent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["agent"].as_str().unwrap())
        .collect();
    assert_eq!(agents, [USER_AGENT], "{client}");
    let snis: Vec<&str> = c["tls.sni"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["sni"].as_str().unwrap())
        .collect();
    assert_eq!(snis, ["tls.hostid.test"], "{client}");
    assert_eq!(c["tls.ja3_count"], json!(1), "{client}");
    let mut apps: Vec<&str> = c["client_service"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    apps.sort_unstable();
    assert_eq!(apps, ["dns", "http", "tls"], "{client}");
    assert!(c["alerts"]["count"].as_u64() >= Some(1), "{client}");
    s.stop().await;
}
