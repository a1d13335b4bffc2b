#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Pulls from a real registry: Debian's `docker-registry` (distribution) on a loopback port,
//! filled with `skopeo copy` from OCI layouts built here. Skipped, with a notice, when either
//! binary is missing (CI installs `docker-registry` and `skopeo`).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{check_layout, client, digest, write_layout, Image};
use stella_registry::{manifest_only, pull, Options, Platform, Reference};

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

struct Registry {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tools_present() -> bool {
    let skopeo = Command::new("skopeo")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !Path::new(REGISTRY_BIN).exists() || !skopeo {
        eprintln!("NOTICE: skipping the real-registry test: install docker-registry and skopeo (apt-get install -y docker-registry skopeo)");
        return false;
    }
    true
}

async fn start_registry() -> Registry {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let config = dir.path().join("config.yml");
    std::fs::create_dir_all(dir.path().join("storage")).unwrap();
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n",
            dir.path().join("storage").display()
        ),
    )
    .unwrap();
    let child = Command::new(REGISTRY_BIN)
        .arg("serve")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let registry = Registry {
        child,
        addr,
        _dir: dir,
    };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = http
            .get(format!("http://{}/v2/", registry.addr))
            .send()
            .await
        {
            if r.status().is_success() {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "docker-registry did not start on {}",
            registry.addr
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    registry
}

fn push(layout: &Path, tag: &str, dest: &str, all: bool) {
    let mut cmd = Command::new("skopeo");
    cmd.args([
        "--insecure-policy",
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
    ]);
    if all {
        cmd.arg("--all");
    }
    let out = cmd
        .arg(format!("oci:{}:{tag}", layout.display()))
        .arg(format!("docker://{dest}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn opts(reg: &Registry) -> Options {
    Options {
        insecure_http: vec![reg.addr.clone()],
        timeout: Duration::from_secs(20),
        ..Options::default()
    }
}

#[tokio::test]
async fn pulls_from_a_real_registry() {
    if !tools_present() {
        return;
    }
    let reg = start_registry().await;
    let work = tempfile::tempdir().unwrap();
    let http = client();

    // A single-platform image.
    let app = Image::new("linux", "amd64", &[("app/hello.txt", b"hello from stella")]);
    let layout = work.path().join("single");
    write_layout(&layout, &[&app], "1.0");
    push(&layout, "1.0", &format!("{}/team/app:1.0", reg.addr), false);

    // By tag.
    let r = Reference::parse(&format!("{}/team/app:1.0", reg.addr)).unwrap();
    let dest = work.path().join("pulled-tag");
    let pulled = pull(&http, &r, &dest, &opts(&reg)).await.unwrap();
    check_layout(&dest, &pulled.manifest_digest);
    assert_eq!(pulled.config_digest, digest(&app.config));
    // skopeo compresses the uncompressed layers on the way in, so their digests change.
    assert_eq!(pulled.layers.len(), 2);
    for l in &pulled.layers {
        assert!(dest.join("blobs/sha256").join(&l[7..]).is_file());
    }
    let info = manifest_only(&http, &r, &opts(&reg)).await.unwrap();
    assert_eq!(info.manifest_digest, pulled.manifest_digest);
    assert_eq!(info.layers.len(), 2);

    // By digest.
    let by_digest =
        Reference::parse(&format!("{}/team/app@{}", reg.addr, pulled.manifest_digest)).unwrap();
    let dest2 = work.path().join("pulled-digest");
    let again = pull(&http, &by_digest, &dest2, &opts(&reg)).await.unwrap();
    assert_eq!(again.manifest_digest, pulled.manifest_digest);
    check_layout(&dest2, &again.manifest_digest);

    // A digest that is not there, a missing tag, a missing repository.
    for missing in [
        format!("{}/team/app@sha256:{}", reg.addr, "0".repeat(64)),
        format!("{}/team/app:2.0", reg.addr),
        format!("{}/team/nothing:1.0", reg.addr),
    ] {
        let e = pull(
            &http,
            &Reference::parse(&missing).unwrap(),
            &work.path().join("x"),
            &opts(&reg),
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), "registry-not-found", "{missing}: {e}");
        assert!(e.to_string().contains("team/"), "{e}");
    }

    // Bounds against the real registry.
    let small = |f: &dyn Fn(&mut Options)| {
        let mut o = opts(&reg);
        f(&mut o);
        o
    };
    for (o, limit) in [
        (small(&|o| o.max_layers = 1), "max_layers"),
        (small(&|o| o.max_blob_bytes = 100), "max_blob_bytes"),
        (small(&|o| o.max_total_bytes = 1000), "max_total_bytes"),
        (small(&|o| o.max_manifest_bytes = 100), "max_manifest_bytes"),
    ] {
        let e = pull(&http, &r, &work.path().join("bounded"), &o)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "registry-too-large", "{limit}: {e}");
        assert!(e.to_string().contains(limit), "{e}");
    }

    // https to a plain-http registry: unreachable, naming the registry.
    let e = manifest_only(
        &http,
        &r,
        &Options {
            timeout: Duration::from_secs(5),
            ..Options::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "registry-unreachable", "{e}");
    assert!(e.to_string().contains(&reg.addr), "{e}");

    // A multi-platform index.
    let amd = Image::new("linux", "amd64", &[("bin/tool", b"amd64 build")]);
    let arm = Image::new("linux", "arm64", &[("bin/tool", b"arm64 build")]);
    let multi = work.path().join("multi");
    write_layout(&multi, &[&amd, &arm], "2.0");
    push(&multi, "2.0", &format!("{}/team/multi:2.0", reg.addr), true);
    let mr = Reference::parse(&format!("{}/team/multi:2.0", reg.addr)).unwrap();
    let arm_opts = Options {
        platform: Platform::new("linux", "aarch64"),
        ..opts(&reg)
    };
    let dest3 = work.path().join("pulled-arm");
    let p = pull(&http, &mr, &dest3, &arm_opts).await.unwrap();
    assert_eq!(p.config_digest, digest(&arm.config));
    assert!(p.info.index_digest.is_some());
    assert_eq!(
        p.info.platform.as_ref().map(ToString::to_string).as_deref(),
        Some("linux/arm64")
    );
    check_layout(&dest3, &p.manifest_digest);
    let p = manifest_only(&http, &mr, &opts(&reg)).await.unwrap();
    assert_eq!(p.config.digest, digest(&amd.config));
    let e = manifest_only(
        &http,
        &mr,
        &Options {
            platform: Platform::new("linux", "s390x"),
            ..opts(&reg)
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "registry-no-platform");
    assert!(e.to_string().contains("linux/amd64, linux/arm64"), "{e}");
}
