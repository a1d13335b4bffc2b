#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A registry that lies, served by axum on 127.0.0.1:0: wrong bytes for a digest, oversized
//! Content-Length, endless bodies, redirect loops, redirects to another origin, the Bearer
//! token flow, Basic auth, schema 1, a lying Docker-Content-Digest, missing blobs and
//! platforms.

mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use common::{client, digest, index_of, no_partials, Image};
use stella_registry::{
    manifest_only, pull, Credentials, Options, Platform, Reference, RegistryError,
};

#[derive(Clone, Copy, PartialEq, Eq, Default)]
enum Blob {
    #[default]
    Honest,
    WrongBytes,
    HugeLength,
    Endless,
    RedirectLoop,
    RedirectAway,
    Missing,
}

#[derive(Clone, Copy, PartialEq, Eq, Default)]
enum Manifest {
    #[default]
    Honest,
    Endless,
    Schema1,
    LyingHeader,
    ArmOnlyIndex,
}

#[derive(Clone, Copy, PartialEq, Eq, Default)]
enum Auth {
    #[default]
    None,
    Token,
    TokenWithCredentials,
    Basic,
}

#[derive(Default, Clone, Copy)]
struct Mode {
    blob: Blob,
    manifest: Manifest,
    auth: Auth,
}

struct Server {
    mode: Mode,
    image: Image,
    port: u16,
    storage_saw_auth: AtomicBool,
    storage_hit: AtomicBool,
}

const USER: &str = "robot";
const PASSWORD: &str = "s3cret-pa55word";

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

fn endless() -> Body {
    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
    Body::from_stream(futures::stream::repeat_with(move || {
        Ok::<_, Infallible>(chunk.clone())
    }))
}

fn status(code: StatusCode) -> Response {
    Response::builder()
        .status(code)
        .body(Body::empty())
        .unwrap()
}

async fn handle(State(st): State<Arc<Server>>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if path == "/token" {
        if st.mode.auth == Auth::TokenWithCredentials
            && auth.as_deref() != Some(basic(USER, PASSWORD).as_str())
        {
            return status(StatusCode::UNAUTHORIZED);
        }
        assert!(req
            .uri()
            .query()
            .unwrap_or("")
            .contains("scope=repository%3Aapp%3Apull"));
        return Response::new(Body::from(r#"{"token":"good-token","expires_in":300}"#));
    }
    if let Some(hex) = path.strip_prefix("/storage/") {
        st.storage_hit.store(true, Ordering::SeqCst);
        st.storage_saw_auth.store(auth.is_some(), Ordering::SeqCst);
        let blob = st
            .image
            .blobs()
            .into_iter()
            .find(|b| digest(b)[7..] == *hex)
            .unwrap()
            .to_vec();
        return Response::new(Body::from(blob));
    }
    let challenge = match st.mode.auth {
        Auth::None => None,
        Auth::Token | Auth::TokenWithCredentials => (auth.as_deref() != Some("Bearer good-token")).then(|| {
            format!(r#"Bearer realm="http://127.0.0.1:{}/token",service="lying",scope="repository:app:pull""#, st.port)
        }),
        Auth::Basic => (auth.as_deref() != Some(basic(USER, PASSWORD).as_str())).then(|| r#"Basic realm="lying""#.to_owned()),
    };
    if let Some(c) = challenge {
        return Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header(header::WWW_AUTHENTICATE, c)
            .body(Body::empty())
            .unwrap();
    }
    if path == "/v2/" {
        return status(StatusCode::OK);
    }
    if let Some(r) = path.strip_prefix("/v2/app/manifests/") {
        let oci = "application/vnd.oci.image.manifest.v1+json";
        let manifest = st.image.manifest.clone();
        return match st.mode.manifest {
            Manifest::Honest if r == "1.0" || r == digest(&manifest) => Response::builder()
                .header(header::CONTENT_TYPE, oci)
                .header("docker-content-digest", digest(&manifest))
                .body(Body::from(manifest))
                .unwrap(),
            Manifest::Endless => Response::builder()
                .header(header::CONTENT_TYPE, oci)
                .body(endless())
                .unwrap(),
            Manifest::Schema1 => Response::new(Body::from(
                r#"{"schemaVersion":1,"name":"app","tag":"1.0","fsLayers":[],"history":[]}"#,
            )),
            Manifest::LyingHeader => Response::builder()
                .header(header::CONTENT_TYPE, oci)
                .header(
                    "docker-content-digest",
                    format!("sha256:{}", "1".repeat(64)),
                )
                .body(Body::from(manifest))
                .unwrap(),
            Manifest::ArmOnlyIndex => Response::builder()
                .header(
                    header::CONTENT_TYPE,
                    "application/vnd.oci.image.index.v1+json",
                )
                .body(Body::from(index_of(&[&st.image])))
                .unwrap(),
            Manifest::Honest => status(StatusCode::NOT_FOUND),
        };
    }
    if let Some(d) = path.strip_prefix("/v2/app/blobs/") {
        let Some(blob) = st
            .image
            .blobs()
            .into_iter()
            .find(|b| digest(b) == d)
            .map(<[u8]>::to_vec)
        else {
            return status(StatusCode::NOT_FOUND);
        };
        let is_layer = blob == st.image.layers[0];
        return match st.mode.blob {
            Blob::Missing if is_layer => status(StatusCode::NOT_FOUND),
            Blob::WrongBytes if is_layer => {
                let mut b = blob;
                b[0] ^= 0xff;
                Response::new(Body::from(b))
            }
            Blob::HugeLength if is_layer => Response::builder()
                .header(
                    header::CONTENT_LENGTH,
                    HeaderValue::from_static("1000000000000"),
                )
                // A few bytes, then nothing: the connection stays open with the length unfulfilled.
                .body(Body::from_stream(futures::StreamExt::chain(
                    futures::stream::once(async {
                        Ok::<_, Infallible>(Bytes::from_static(b"short"))
                    }),
                    futures::stream::pending(),
                )))
                .unwrap(),
            Blob::Endless if is_layer => Response::new(endless()),
            Blob::RedirectLoop => Response::builder()
                .status(StatusCode::FOUND)
                .header(header::LOCATION, path.clone())
                .body(Body::empty())
                .unwrap(),
            Blob::RedirectAway => Response::builder()
                .status(StatusCode::TEMPORARY_REDIRECT)
                .header(
                    header::LOCATION,
                    format!("http://localhost:{}/storage/{}", st.port, &d[7..]),
                )
                .body(Body::empty())
                .unwrap(),
            _ => Response::new(Body::from(blob)),
        };
    }
    status(StatusCode::NOT_FOUND)
}

async fn serve(mode: Mode, image: Image) -> Arc<Server> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let st = Arc::new(Server {
        mode,
        image,
        port,
        storage_saw_auth: AtomicBool::new(false),
        storage_hit: AtomicBool::new(false),
    });
    let app = axum::Router::new().fallback(handle).with_state(st.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    st
}

fn opts(st: &Server) -> Options {
    Options {
        insecure_http: vec![
            format!("127.0.0.1:{}", st.port),
            format!("localhost:{}", st.port),
        ],
        timeout: Duration::from_secs(10),
        ..Options::default()
    }
}

fn image() -> Image {
    Image::new("linux", "amd64", &[("data/file.bin", &[7u8; 3000])])
}

async fn try_pull(
    mode: Mode,
    tweak: impl FnOnce(&mut Options),
) -> (
    Result<stella_registry::Pulled, RegistryError>,
    tempfile::TempDir,
    Arc<Server>,
) {
    let st = serve(mode, image()).await;
    let mut o = opts(&st);
    tweak(&mut o);
    let dir = tempfile::tempdir().unwrap();
    let r = Reference::parse(&format!("127.0.0.1:{}/app:1.0", st.port)).unwrap();
    let res = pull(&client(), &r, dir.path(), &o).await;
    (res, dir, st)
}

fn expect(
    res: Result<stella_registry::Pulled, RegistryError>,
    code: &str,
    needle: &str,
    port: u16,
) -> RegistryError {
    let e = res.unwrap_err();
    assert_eq!(e.code(), code, "{e}");
    assert!(e.to_string().contains(needle), "{needle:?} not in: {e}");
    assert!(
        e.to_string().contains(&format!("127.0.0.1:{port}")),
        "registry not named: {e}"
    );
    assert!(!e.to_string().contains(PASSWORD), "password leaked: {e}");
    e
}

#[tokio::test]
async fn an_honest_pull_works() {
    let (res, dir, _) = try_pull(Mode::default(), |_| {}).await;
    let pulled = res.unwrap();
    common::check_layout(dir.path(), &pulled.manifest_digest);
    assert_eq!(pulled.layers.len(), 2);
}

#[tokio::test]
async fn wrong_bytes_delete_the_file() {
    let (res, dir, st) = try_pull(
        Mode {
            blob: Blob::WrongBytes,
            ..Mode::default()
        },
        |_| {},
    )
    .await;
    let layer = digest(&st.image.layers[0]);
    expect(res, "registry-digest-mismatch", &layer, st.port);
    assert!(!dir.path().join("blobs/sha256").join(&layer[7..]).exists());
    assert!(no_partials(dir.path()));
    assert!(!dir.path().join("index.json").exists());
}

#[tokio::test]
async fn oversized_content_length_is_refused_before_reading() {
    let (res, dir, st) = try_pull(
        Mode {
            blob: Blob::HugeLength,
            ..Mode::default()
        },
        |o| o.max_blob_bytes = 1 << 20,
    )
    .await;
    expect(res, "registry-too-large", "max_blob_bytes", st.port);
    assert!(no_partials(dir.path()));
    // Within the limit but not the descriptor's size.
    let (res, _, st) = try_pull(
        Mode {
            blob: Blob::HugeLength,
            ..Mode::default()
        },
        |o| o.max_blob_bytes = u64::MAX,
    )
    .await;
    expect(res, "registry-too-large", "max_total_bytes", st.port);
    let (res, _, st) = try_pull(
        Mode {
            blob: Blob::HugeLength,
            ..Mode::default()
        },
        |o| (o.max_blob_bytes, o.max_total_bytes) = (u64::MAX, u64::MAX),
    )
    .await;
    expect(
        res,
        "registry-digest-mismatch",
        "Content-Length 1000000000000",
        st.port,
    );
}

#[tokio::test]
async fn endless_bodies_stop_at_their_bound() {
    let (res, dir, st) = try_pull(
        Mode {
            blob: Blob::Endless,
            ..Mode::default()
        },
        |_| {},
    )
    .await;
    expect(res, "registry-digest-mismatch", "more than the", st.port);
    assert!(no_partials(dir.path()));
    let (res, _, st) = try_pull(
        Mode {
            manifest: Manifest::Endless,
            ..Mode::default()
        },
        |_| {},
    )
    .await;
    expect(res, "registry-too-large", "max_manifest_bytes", st.port);
}

#[tokio::test]
async fn redirect_loops_end() {
    let (res, _, st) = try_pull(
        Mode {
            blob: Blob::RedirectLoop,
            ..Mode::default()
        },
        |o| o.max_redirects = 3,
    )
    .await;
    expect(
        res,
        "registry-unreachable",
        "more than 3 redirects",
        st.port,
    );
    // A client with its own redirect policy: that policy ends the loop.
    let st = serve(
        Mode {
            blob: Blob::RedirectLoop,
            ..Mode::default()
        },
        image(),
    )
    .await;
    let r = Reference::parse(&format!("127.0.0.1:{}/app:1.0", st.port)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let res = pull(&reqwest::Client::new(), &r, dir.path(), &opts(&st)).await;
    expect(res, "registry-unreachable", "redirect", st.port);
}

#[tokio::test]
async fn redirects_to_another_origin_drop_the_token() {
    let (res, dir, st) = try_pull(
        Mode {
            blob: Blob::RedirectAway,
            auth: Auth::Token,
            ..Mode::default()
        },
        |_| {},
    )
    .await;
    let pulled = res.unwrap();
    common::check_layout(dir.path(), &pulled.manifest_digest);
    assert!(st.storage_hit.load(Ordering::SeqCst));
    assert!(
        !st.storage_saw_auth.load(Ordering::SeqCst),
        "the bearer token went to another origin"
    );
    // A redirect to plain http on a host not listed as insecure is refused.
    let (res, _, st) = try_pull(
        Mode {
            blob: Blob::RedirectAway,
            ..Mode::default()
        },
        |o| o.insecure_http.retain(|h| h.starts_with("127.")),
    )
    .await;
    expect(
        res,
        "registry-unreachable",
        "not listed for plain http",
        st.port,
    );
}

#[tokio::test]
async fn token_flow() {
    // Anonymous token.
    let (res, _, _) = try_pull(
        Mode {
            auth: Auth::Token,
            ..Mode::default()
        },
        |_| {},
    )
    .await;
    res.unwrap();
    // The token service wants credentials.
    let with = |password: &str| {
        let password = password.to_owned();
        move |o: &mut Options| {
            o.credentials = Some(Credentials {
                username: USER.into(),
                password,
            })
        }
    };
    let mode = Mode {
        auth: Auth::TokenWithCredentials,
        ..Mode::default()
    };
    let (res, _, _) = try_pull(mode, with(PASSWORD)).await;
    res.unwrap();
    let (res, _, st) = try_pull(mode, |_| {}).await;
    expect(
        res,
        "registry-unauthorized",
        "requires credentials",
        st.port,
    );
    let (res, _, st) = try_pull(mode, with("wrong")).await;
    expect(res, "registry-unauthorized", "did not accept", st.port);
    // Basic auth.
    let mode = Mode {
        auth: Auth::Basic,
        ..Mode::default()
    };
    let (res, _, _) = try_pull(mode, with(PASSWORD)).await;
    res.unwrap();
    let (res, _, st) = try_pull(mode, |_| {}).await;
    expect(
        res,
        "registry-unauthorized",
        "requires credentials",
        st.port,
    );
    let (res, _, st) = try_pull(mode, with("nope")).await;
    expect(res, "registry-unauthorized", "not accepted", st.port);
    let c = Credentials {
        username: USER.into(),
        password: PASSWORD.into(),
    };
    assert!(!format!("{c:?}").contains(PASSWORD));
}

#[tokio::test]
async fn bad_manifests() {
    let (res, _, st) = try_pull(
        Mode {
            manifest: Manifest::Schema1,
            ..Mode::default()
        },
        |_| {},
    )
    .await;
    expect(res, "registry-bad-manifest", "schema 1", st.port);
    let (res, _, st) = try_pull(
        Mode {
            manifest: Manifest::LyingHeader,
            ..Mode::default()
        },
        |_| {},
    )
    .await;
    expect(
        res,
        "registry-digest-mismatch",
        "Docker-Content-Digest",
        st.port,
    );
    let (res, _, st) = try_pull(
        Mode {
            blob: Blob::Missing,
            ..Mode::default()
        },
        |_| {},
    )
    .await;
    expect(res, "registry-not-found", "blob sha256:", st.port);
    let st = serve(
        Mode {
            manifest: Manifest::ArmOnlyIndex,
            ..Mode::default()
        },
        Image::new("linux", "arm64", &[]),
    )
    .await;
    let r = Reference::parse(&format!("127.0.0.1:{}/app:1.0", st.port)).unwrap();
    let e = manifest_only(
        &client(),
        &r,
        &Options {
            platform: Platform::new("linux", "amd64"),
            ..opts(&st)
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "registry-no-platform");
    assert!(
        e.to_string()
            .contains("no manifest for linux/amd64; it has: linux/arm64"),
        "{e}"
    );
}
