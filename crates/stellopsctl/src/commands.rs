//! One function per subcommand: build the request, send it, print the answer.

use crate::client::Client;
use crate::output::{field, print_fields, print_json, print_table, required, rows};
use crate::{
    ApikeyCmd, Cli, ClientCmd, Command, FeedCmd, KeysCmd, NodesCmd, Paging, PolicyCmd, TenantCmd,
    UserAdd, UserCmd,
};
use serde_json::{json, Value};
use std::io::Read;
use stella_client::ClientError;

pub async fn run(cli: Cli) -> Result<(), ClientError> {
    let client = Client::connect(&cli.server, cli.token.as_deref()).await?;
    let json = cli.json;
    match cli.command {
        Command::User(UserCmd::Add(a)) => user_add(&client, a, json).await,
        Command::User(UserCmd::List(p)) => user_list(&client, &p, json).await,
        Command::Apikey(ApikeyCmd::Create {
            name,
            permissions,
            expires_in_days,
        }) => apikey_create(&client, name, permissions, expires_in_days, json).await,
        Command::Apikey(ApikeyCmd::List { user }) => apikey_list(&client, user, json).await,
        Command::Apikey(ApikeyCmd::Revoke { key_id }) => {
            apikey_revoke(&client, &key_id, json).await
        }
        Command::Tenant(TenantCmd::Add { name, description }) => {
            tenant_add(&client, name, description, json).await
        }
        Command::Tenant(TenantCmd::List(p)) => tenant_list(&client, &p, json).await,
        Command::Client(ClientCmd::Add {
            name,
            scopes,
            role,
            tenants,
        }) => client_add(&client, name, scopes, role, tenants, json).await,
        Command::Keys(KeysCmd::List) => keys_list(&client, json).await,
        Command::Keys(KeysCmd::Rotate) => keys_rotate(&client, json).await,
        Command::Nodes(NodesCmd::List) => nodes_list(&client, json).await,
        Command::Nodes(NodesCmd::Drain { id }) => node_drain(&client, &id, "drain", json).await,
        Command::Nodes(NodesCmd::Undrain { id }) => node_drain(&client, &id, "undrain", json).await,
        Command::Feed(FeedCmd::Refresh {
            from,
            mode,
            no_wait,
            wait_secs,
        }) => crate::feed::refresh(&client, &from, &mode, no_wait, wait_secs, json).await,
        Command::Feed(FeedCmd::Status) => crate::feed::status(&client, json).await,
        Command::Policy(PolicyCmd::Export { tenant }) => {
            crate::policy::export(&client, tenant.as_deref()).await
        }
        Command::Policy(PolicyCmd::Import {
            file,
            tenant,
            comment,
        }) => {
            crate::policy::import(&client, &file, tenant.as_deref(), comment.as_deref(), json).await
        }
        Command::Policy(PolicyCmd::Validate { file }) => {
            crate::policy::validate(&client, &file, json).await
        }
        Command::Policy(PolicyCmd::History { tenant, paging }) => {
            crate::policy::history(
                &client,
                tenant.as_deref(),
                paging.limit,
                paging.offset,
                json,
            )
            .await
        }
        Command::Policy(PolicyCmd::Show { id }) => crate::policy::show(&client, &id, json).await,
    }
}

async fn keys_list(client: &Client, json: bool) -> Result<(), ClientError> {
    let list = client.get_cluster(&["signing_keys"]).await?;
    if json {
        return print_json(&list);
    }
    let keys = list
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| ClientError::Failed("the server's answer has no key list".into()))?;
    print_table(
        &["KID", "ACTIVATES AT (ms)", "SIGNING"],
        &["kid", "activates_at", "signing"],
        keys,
    );
    let shared = list.get("shared").and_then(Value::as_bool) == Some(true);
    println!(
        "(keys {})",
        if shared {
            "shared by every server of the deployment"
        } else {
            "kept by this server only"
        }
    );
    Ok(())
}

async fn nodes_list(client: &Client, json: bool) -> Result<(), ClientError> {
    let list = client.get_cluster(&["nodes"]).await?;
    if json {
        return print_json(&list);
    }
    let nodes = list
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| ClientError::Failed("the server's answer has no node list".into()))?;
    print_table(
        &[
            "ID",
            "ADDRESS",
            "VERSION",
            "HEALTH",
            "STARTED",
            "INDEX LAG",
            "JOBS RUNNING",
        ],
        &[
            "id",
            "address",
            "version",
            "health",
            "started_at",
            "event_index_lag",
            "jobs_running",
        ],
        nodes,
    );
    Ok(())
}

async fn node_drain(
    client: &Client,
    id: &str,
    action: &str,
    json: bool,
) -> Result<(), ClientError> {
    let node = client.post_cluster(&["nodes", id, action]).await?;
    if json {
        return print_json(&node);
    }
    println!("{} is {}", required(&node, "id")?, field(&node, "health"));
    Ok(())
}

async fn keys_rotate(client: &Client, json: bool) -> Result<(), ClientError> {
    let key = client.post_cluster(&["signing_keys", "rotate"]).await?;
    if json {
        return print_json(&key);
    }
    println!(
        "new signing key {}, signing from {} (ms since the epoch)",
        required(&key, "kid")?,
        field(&key, "activates_at")
    );
    Ok(())
}

/// 12 bytes from the kernel's CSPRNG, hex-encoded: 24 characters (96 bits) without pulling a
/// crypto crate into an admin tool.
fn generate_password() -> Result<String, ClientError> {
    let mut bytes = [0u8; 12];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| {
            ClientError::Failed(format!(
                "cannot read /dev/urandom to generate a password ({e}); pass --password"
            ))
        })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn paging_query(p: &Paging) -> Vec<(&'static str, String)> {
    // Only what was given, so the server's own defaults apply otherwise.
    let mut q = Vec::new();
    if let Some(l) = p.limit {
        q.push(("limit", l.to_string()));
    }
    if let Some(o) = p.offset {
        q.push(("offset", o.to_string()));
    }
    q
}

fn print_page_footer(page: &Value, shown: usize) {
    println!("({shown} shown of {} in total)", field(page, "total"));
}

async fn user_add(client: &Client, a: UserAdd, json: bool) -> Result<(), ClientError> {
    let mut body = json!({ "email": a.email, "privilege_profile": a.role });
    if let Some(t) = a.tenant {
        body["tenant_id"] = json!(t);
    }
    if let Some(n) = a.name {
        body["name"] = json!(n);
    }
    let generated = match (a.sso, a.password) {
        (true, _) => {
            body["sso"] = json!(true);
            None
        }
        (false, Some(p)) => {
            body["password"] = json!(p);
            None
        }
        (false, None) => {
            let p = generate_password()?;
            body["password"] = json!(p);
            Some(p)
        }
    };
    let user = client.post(&["users"], Some(&body)).await?;
    if json {
        print_json(&user)?;
        // stdout stays the server's JSON; the generated password still must reach the admin.
        if let Some(p) = generated {
            eprintln!("generated password (shown only once): {p}");
        }
        return Ok(());
    }
    println!("created user {}", required(&user, "id")?);
    print_fields(&[
        ("email", field(&user, "email")),
        ("role", field(&user, "privilege_profile")),
        ("scope", field(&user, "scope")),
        ("tenant", field(&user, "tenant_ids")),
    ]);
    if let Some(p) = generated {
        println!("password: {p}");
        println!("This generated password is shown only once: hand it to the user now.");
    }
    Ok(())
}

async fn user_list(client: &Client, p: &Paging, json: bool) -> Result<(), ClientError> {
    let page = client.get(&["users"], &paging_query(p)).await?;
    if json {
        return print_json(&page);
    }
    let users = rows(&page)?;
    print_table(
        &["ID", "EMAIL", "ROLE", "SCOPE", "TENANTS", "DISABLED"],
        &[
            "id",
            "email",
            "privilege_profile",
            "scope",
            "tenant_ids",
            "disabled",
        ],
        users,
    );
    print_page_footer(&page, users.len());
    Ok(())
}

async fn apikey_create(
    client: &Client,
    name: Option<String>,
    permissions: Vec<String>,
    expires_in_days: Option<u32>,
    json: bool,
) -> Result<(), ClientError> {
    let mut body = json!({});
    if let Some(n) = name {
        body["name"] = json!(n);
    }
    if !permissions.is_empty() {
        body["permissions"] = json!(permissions);
    }
    if let Some(d) = expires_in_days {
        body["expires_in_days"] = json!(d);
    }
    let key = client.post(&["api_keys"], Some(&body)).await?;
    if json {
        return print_json(&key);
    }
    let secret = required(&key, "api_key")?;
    println!("created API key {}", required(&key, "id")?);
    print_fields(&[
        ("name", field(&key, "name")),
        ("permissions", field(&key, "permissions")),
        ("expires", field(&key, "expires_at")),
    ]);
    println!("api_key: {secret}");
    println!("Store this key now: it will not be shown again.");
    Ok(())
}

async fn apikey_list(client: &Client, user: Option<String>, json: bool) -> Result<(), ClientError> {
    let query: Vec<(&str, String)> = user.into_iter().map(|u| ("user_id", u)).collect();
    let page = client.get(&["api_keys"], &query).await?;
    if json {
        return print_json(&page);
    }
    let keys = rows(&page)?;
    print_table(
        &[
            "ID",
            "USER",
            "NAME",
            "STATUS",
            "PERMISSIONS",
            "EXPIRES",
            "CREATED",
        ],
        &[
            "id",
            "user_id",
            "name",
            "status",
            "permissions",
            "expires_at",
            "created_at",
        ],
        keys,
    );
    print_page_footer(&page, keys.len());
    Ok(())
}

async fn apikey_revoke(client: &Client, key_id: &str, json: bool) -> Result<(), ClientError> {
    let key = client.delete(&["api_keys", key_id]).await?;
    if json {
        return print_json(&key);
    }
    println!(
        "revoked API key {} ({}): status {}",
        required(&key, "id")?,
        field(&key, "name"),
        field(&key, "status")
    );
    Ok(())
}

async fn tenant_add(
    client: &Client,
    name: String,
    description: Option<String>,
    json: bool,
) -> Result<(), ClientError> {
    let mut body = json!({ "name": name });
    if let Some(d) = description {
        body["description"] = json!(d);
    }
    let tenant = client.post(&["tenants"], Some(&body)).await?;
    if json {
        return print_json(&tenant);
    }
    println!(
        "created tenant {} ({})",
        required(&tenant, "id")?,
        field(&tenant, "name")
    );
    Ok(())
}

async fn tenant_list(client: &Client, p: &Paging, json: bool) -> Result<(), ClientError> {
    let page = client.get(&["tenants"], &paging_query(p)).await?;
    if json {
        return print_json(&page);
    }
    let tenants = rows(&page)?;
    print_table(
        &["ID", "NAME", "DESCRIPTION", "CREATED"],
        &["id", "name", "description", "created_at"],
        tenants,
    );
    print_page_footer(&page, tenants.len());
    Ok(())
}

async fn client_add(
    client: &Client,
    name: String,
    scopes: Vec<String>,
    role: Option<String>,
    tenants: Vec<String>,
    json: bool,
) -> Result<(), ClientError> {
    let mut body = json!({ "name": name });
    if !scopes.is_empty() {
        body["scopes"] = json!(scopes);
    }
    if let Some(r) = role {
        body["privilege_profile"] = json!(r);
    }
    if !tenants.is_empty() {
        body["tenant_ids"] = json!(tenants);
    }
    let created = client.post(&["oauth_clients"], Some(&body)).await?;
    if json {
        return print_json(&created);
    }
    let id = required(&created, "client_id")?;
    let secret = required(&created, "client_secret")?;
    println!("created OAuth client {}", field(&created, "name"));
    print_fields(&[
        ("client_id", id.to_owned()),
        ("client_secret", secret.to_owned()),
        ("role", field(&created, "privilege_profile")),
        ("scopes", field(&created, "scopes")),
        ("tenants", field(&created, "tenant_ids")),
    ]);
    println!("Store the client secret now: it will not be shown again.");
    println!("Get a token with the client-credentials grant:");
    println!(
        "  curl -X POST {}/connect/token -d grant_type=client_credentials -d client_id={id} -d client_secret=\"$CLIENT_SECRET\"",
        client.server()
    );
    Ok(())
}
