//! Every endpoint through the router: submissions, refusals, redaction by
//! role, receipts, and that a refused request leaves no trace.

#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{AGREEMENT, Call, Keys, config, get, open, populate, post, report, signer};
use serde_json::{Value, json};
use truce_log::entry::{Disclosed, Entry, ReportLocation};
use truce_note::Policy;
use truce_store::Store;

/// The Black Sea example's title.
const TITLE: &str = "Safe navigation in the Black Sea";

async fn world() -> (tempfile::TempDir, truce_server::Service, axum::Router, Keys) {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (service, router) = open(config(dir.path(), &keys.admin)).await;
    populate(&router, &keys).await;
    (dir, service, router, keys)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_is_the_first_entry_and_sources_are_shown_by_role() {
    let (_dir, service, router, keys) = world().await;
    let entries = get(&router, "/v1/log/entries?start=0&end=1", None)
        .await
        .expect(200)
        .json();
    let bytes = STANDARD
        .decode(entries["entries"][0]["entry"].as_str().unwrap())
        .unwrap();
    let Entry::SourceRegistration(admin) = Entry::decode(&bytes).unwrap() else {
        panic!("entry 0 is not a registration");
    };
    assert_eq!(admin.source_id, "mission.example/admin");

    let as_admin = get(&router, "/v1/sources", Some(&keys.admin))
        .await
        .expect(200)
        .json();
    let roles: Vec<(&str, &str)> = as_admin["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|source| {
            (
                source["name"].as_str().unwrap(),
                source["role"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("mission.example/admin", "admin"),
            ("mission.example/monitor-1", "monitor"),
            ("ua.example/liaison", "party"),
            ("ru.example/liaison", "party"),
            ("press.example/analyst", "analyst"),
        ]
    );
    let as_public = get(&router, "/v1/sources", None).await.expect(200).json();
    assert_eq!(as_public["sources"], json!([]));
    let as_ua = get(&router, "/v1/sources", Some(&keys.ua))
        .await
        .expect(200)
        .json();
    let names: Vec<&str> = as_ua["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ua.example/liaison"]);
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_checked() {
    let (_dir, service, router, keys) = world().await;
    let fresh = signer("osint.example/desk", 9);
    let vkey = fresh.verifier().to_vkey();
    // Only the admin registers.
    let answer = post(
        &router,
        "/v1/sources",
        &json!({"vkey": vkey, "kind": "osint"}),
        &keys.monitor,
    )
    .await
    .expect(403);
    assert_eq!(answer.problem(), "forbidden");
    // Every problem of the body at once, each with its pointer.
    let answer = post(
        &router,
        "/v1/sources",
        &json!({"vkey": "nonsense", "kind": "journalist"}),
        &keys.admin,
    )
    .await
    .expect(422);
    assert_eq!(answer.problem_places(), ["/vkey", "/kind"]);
    let answer = post(
        &router,
        "/v1/sources",
        &json!({"vkey": vkey, "kind": "party"}),
        &keys.admin,
    )
    .await
    .expect(422);
    assert_eq!(answer.problem_places(), ["/party"]);
    let answer = post(
        &router,
        "/v1/sources",
        &json!({"vkey": vkey, "kind": "osint", "role": "admin"}),
        &keys.admin,
    )
    .await
    .expect(422);
    assert_eq!(answer.problem_places(), ["/role"]);
    let answer = post(
        &router,
        "/v1/sources",
        &json!({"vkey": vkey, "kind": "osint", "colour": "red"}),
        &keys.admin,
    )
    .await
    .expect(422);
    assert!(answer.text().contains("colour"), "{}", answer.text());
    // A name already registered.
    let again = post(
        &router,
        "/v1/sources",
        &json!({"vkey": keys.ua.verifier().to_vkey(), "kind": "party", "party": "UA"}),
        &keys.admin,
    )
    .await
    .expect(409);
    assert_eq!(again.problem_places(), ["/vkey"]);
    post(
        &router,
        "/v1/sources",
        &json!({"vkey": vkey, "kind": "osint", "role": "analyst"}),
        &keys.admin,
    )
    .await
    .expect(201);
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_refusals() {
    let (_dir, service, router, keys) = world().await;
    let body = report("r1", 30.74, 46.49);

    // No signature on a write.
    let answer = Call::new("POST", "/v1/reports")
        .json(&body)
        .send(&router)
        .await
        .expect(401);
    assert_eq!(answer.problem(), "missing-authorization");
    // A signature over another body.
    let mut call = Call::new("POST", "/v1/reports").json(&body).by(&keys.ua);
    let mut request = call.request();
    *request.body_mut() = axum::body::Body::from(b"{\"id\":\"tampered\"}".to_vec());
    let answer = common::send(&router, request).await.expect(401);
    assert_eq!(answer.problem(), "bad-signature");
    assert_eq!(answer.problem_places(), ["authorization.sig"]);
    // An unknown key.
    let stranger = signer("stranger.example/x", 42);
    let answer = post(&router, "/v1/reports", &body, &stranger)
        .await
        .expect(401);
    assert_eq!(answer.problem(), "unknown-key");
    // Clock skew.
    call.timestamp_ms -= 10 * 60 * 1000;
    call.nonce = common::fresh_nonce();
    let answer = call.send(&router).await.expect(401);
    assert_eq!(answer.problem(), "clock-skew");
    assert_eq!(answer.problem_places(), ["authorization.ts"]);
    // A replayed read.
    let read = Call::new("GET", "/v1/reports").by(&keys.analyst);
    read.send(&router).await.expect(200);
    let answer = read.send(&router).await.expect(401);
    assert_eq!(answer.problem(), "replayed-nonce");
    // A replayed write that was refused has no receipt: still a replay.
    let refused = Call::new("POST", "/v1/reports")
        .json(&json!({"id": 1}))
        .by(&keys.ua);
    refused.send(&router).await.expect(422);
    assert_eq!(
        refused.send(&router).await.expect(401).problem(),
        "replayed-nonce"
    );
    // Malformed JSON.
    let mut malformed = Call::new("POST", "/v1/reports").by(&keys.ua);
    malformed.body = b"{\"id\": ".to_vec();
    assert_eq!(
        malformed.send(&router).await.expect(400).problem(),
        "malformed-body"
    );
    // An analyst submits nothing.
    assert_eq!(
        post(&router, "/v1/reports", &body, &keys.analyst)
            .await
            .expect(403)
            .problem(),
        "forbidden"
    );
    // Invalid coordinates.
    let answer = post(
        &router,
        "/v1/reports",
        &report("r2", 30.74, 146.49),
        &keys.ua,
    )
    .await
    .expect(422);
    assert_eq!(answer.problem_places(), ["/lat"]);
    // An unknown agreement.
    let mut unknown = report("r3", 30.74, 46.49);
    unknown["agreement"] = json!("no-such-agreement");
    let answer = post(&router, "/v1/reports", &unknown, &keys.ua)
        .await
        .expect(422);
    assert_eq!(answer.problem_places(), ["/agreement"]);
    // A party key speaking for another party, or as another source.
    let mut other_party = report("r4", 30.74, 46.49);
    other_party["source_party"] = json!("RU");
    let answer = post(&router, "/v1/reports", &other_party, &keys.ua)
        .await
        .expect(403);
    assert_eq!(answer.problem(), "impersonation");
    assert_eq!(answer.problem_places(), ["/source_party"]);
    let mut other_source = report("r5", 30.74, 46.49);
    other_source["source_id"] = json!("ru.example/liaison");
    post(&router, "/v1/reports", &other_source, &keys.ua)
        .await
        .expect(403);
    // Oversize bodies, by declared length and by content.
    let mut huge = report("r6", 30.74, 46.49);
    huge["text"] = json!("x".repeat(2 << 20));
    let answer = post(&router, "/v1/reports", &huge, &keys.ua)
        .await
        .expect(413);
    assert_eq!(answer.problem(), "body-too-large");
    // A revoked key.
    post(
        &router,
        "/v1/sources/ru.example~1liaison/revoke",
        &json!({}),
        &keys.admin,
    )
    .await
    .expect(404);
    let revoke = Call::new("POST", "/v1/sources/ru.example%2Fliaison/revoke")
        .by(&keys.admin)
        .send(&router)
        .await;
    assert_eq!(revoke.status.as_u16(), 201, "{}", revoke.text());
    let answer = post(
        &router,
        "/v1/reports",
        &report("r7", 30.74, 46.49),
        &keys.ru,
    )
    .await
    .expect(401);
    assert_eq!(answer.problem(), "key-revoked");
    Call::new("POST", "/v1/sources/ru.example%2Fliaison/revoke")
        .by(&keys.admin)
        .send(&router)
        .await
        .expect(409);
    Call::new("POST", "/v1/sources/mission.example%2Fadmin/revoke")
        .by(&keys.admin)
        .send(&router)
        .await
        .expect(409);
    // Unknown routes are problems too.
    assert_eq!(
        get(&router, "/v1/nothing", None)
            .await
            .expect(404)
            .problem(),
        "not-found"
    );
    // Nothing of the refused reports reached the store.
    assert_eq!(
        service
            .state()
            .store()
            .reports(&Default::default(), Default::default())
            .await
            .unwrap()
            .items
            .len(),
        0
    );
    service.shutdown().await.unwrap();
}

/// The number of files under `dir` and their total size: the blob store's bodies are
/// appended to packs, so a body stored shows as bytes rather than as a file.
fn bytes_under(dir: &std::path::Path) -> (usize, u64) {
    let mut files = 0;
    let mut bytes = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let (f, b) = bytes_under(&path);
            files += f;
            bytes += b;
        } else {
            files += 1;
            bytes += path.metadata().unwrap().len();
        }
    }
    (files, bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_batch_leaves_no_trace() {
    let (dir, service, router, keys) = world().await;
    let state = service.state();
    let size = state.log_size();
    let applied = state.store().applied_size().await.unwrap();
    let blobs_before = bytes_under(&dir.path().join("blobs"));
    let mut bad_action = report("b3", 30.74, 46.49);
    bad_action["action"] = json!("shellling");
    let batch = json!([
        report("b0", 30.74, 46.49),
        report("b1", 30.74, 130.0),
        report("b2", 30.75, 46.50),
        bad_action,
    ]);
    let answer = post(&router, "/v1/reports/batch", &batch, &keys.ua)
        .await
        .expect(422);
    assert_eq!(answer.problem_places(), ["/1/lat", "/3/action"]);
    assert!(answer.json()["detail"].as_str().unwrap().contains("2 of 4"));
    assert_eq!(state.log_size(), size);
    assert_eq!(state.store().applied_size().await.unwrap(), applied);
    assert_eq!(bytes_under(&dir.path().join("blobs")), blobs_before);
    // A duplicate id inside the batch, and an empty batch.
    let answer = post(
        &router,
        "/v1/reports/batch",
        &json!([report("d", 30.74, 46.49), report("d", 30.74, 46.49)]),
        &keys.ua,
    )
    .await
    .expect(422);
    assert_eq!(answer.problem_places(), ["/1/id"]);
    post(&router, "/v1/reports/batch", &json!([]), &keys.ua)
        .await
        .expect(422);
    // A batch that conflicts with the log is refused whole.
    post(
        &router,
        "/v1/reports",
        &report("c1", 30.74, 46.49),
        &keys.ua,
    )
    .await
    .expect(201);
    let size = state.log_size();
    let answer = post(
        &router,
        "/v1/reports/batch",
        &json!([report("c0", 30.74, 46.49), report("c1", 30.74, 46.49)]),
        &keys.ua,
    )
    .await
    .expect(409);
    assert_eq!(answer.problem_places(), ["/1/id"]);
    assert_eq!(state.log_size(), size);
    // The good batch goes in, with one receipt per report.
    let good = post(
        &router,
        "/v1/reports/batch",
        &json!([report("g0", 30.74, 46.49), report("g1", 30.75, 46.5)]),
        &keys.ua,
    )
    .await
    .expect(201)
    .json();
    assert_eq!(good["receipts"].as_array().unwrap().len(), 2);
    assert_eq!(good["receipts"][1]["index"].as_u64().unwrap(), size + 1);
    service.shutdown().await.unwrap();
}

/// A resend signed again later under the same nonce (as the dashboard's outbox does), once
/// the original's timestamp has left the replay window: the server still knows the pair has a
/// receipt (it does not ask the store for every new nonce, so it must remember each receipt
/// as it commits) and answers with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_after_the_replay_window_gets_its_receipt() {
    let (_dir, service, router, keys) = world().await;
    let skew = i64::try_from(truce_auth::DEFAULT_MAX_SKEW_MS).unwrap();
    let mut call = Call::new("POST", "/v1/reports")
        .json(&report("late-1", 30.74, 46.49))
        .by(&keys.ua);
    call.timestamp_ms = common::now_ms() - skew + 400;
    let first = call.send(&router).await.expect(201).json();
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    call.timestamp_ms = common::now_ms();
    let size = service.state().log_size();
    let again = call.send(&router).await.expect(200).json();
    assert_eq!(again, first);
    assert_eq!(service.state().log_size(), size);
    // A new nonce for the same report id is still a conflict, and a new report is new.
    post(
        &router,
        "/v1/reports",
        &report("late-1", 30.74, 46.49),
        &keys.ua,
    )
    .await
    .expect(409);
    post(
        &router,
        "/v1/reports",
        &report("late-2", 30.74, 46.49),
        &keys.ua,
    )
    .await
    .expect(201);
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_verify_and_a_resent_request_gets_the_same_ones() {
    let (_dir, service, router, keys) = world().await;
    let call = Call::new("POST", "/v1/reports")
        .json(&report("r1", 30.74, 46.49))
        .by(&keys.ua);
    let first = call.send(&router).await.expect(201).json();
    let receipt = &first["receipts"][0];
    let index = receipt["index"].as_u64().unwrap();
    let raw = get(
        &router,
        &format!("/v1/log/entries?start={index}&end={}", index + 1),
        None,
    )
    .await
    .expect(200)
    .json();
    let entry = STANDARD
        .decode(raw["entries"][0]["entry"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        truce_merkle::leaf_hash(&entry).to_hex(),
        receipt["leaf_hash"].as_str().unwrap()
    );
    // Entry format 2: the log itself says how the report was filed.
    let Entry::Report(logged) = Entry::decode(&entry).unwrap() else {
        panic!("not a report entry");
    };
    assert_eq!(entry[0], 2);
    let filing = logged.filing.expect("a filed report");
    assert_eq!(filing.agreement_id, AGREEMENT);
    assert_eq!(filing.submitted_ms, call.timestamp_ms);
    let log_key = service.state().log_verifier();
    let policy = Policy::new(log_key.name().as_str(), log_key.clone(), vec![]).unwrap();
    let verified = truce_log::verify_receipt(
        receipt["receipt"].as_str().unwrap().as_bytes(),
        &entry,
        &policy,
    )
    .unwrap();
    assert_eq!(verified.index, index);
    // The same signed request again: the same receipt, nothing new logged.
    let size = service.state().log_size();
    let again = call.send(&router).await.expect(200).json();
    assert_eq!(again["receipts"][0]["index"], receipt["index"]);
    assert_eq!(again["receipts"][0]["leaf_hash"], receipt["leaf_hash"]);
    assert_eq!(service.state().log_size(), size);
    // The same report id in a new request is a conflict.
    let answer = post(
        &router,
        "/v1/reports",
        &report("r1", 30.74, 46.49),
        &keys.ua,
    )
    .await
    .expect(409);
    assert_eq!(answer.problem_places(), ["/id"]);
    // A resent batch gets all its receipts back.
    let batch = Call::new("POST", "/v1/reports/batch")
        .json(&json!([
            report("x0", 30.74, 46.49),
            report("x1", 30.74, 46.49),
            report("x2", 30.74, 46.49)
        ]))
        .by(&keys.ua);
    let first = batch.send(&router).await.expect(201).json();
    let again = batch.send(&router).await.expect(200).json();
    assert_eq!(first, again);
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_never_sees_sources_text_or_exact_monitor_positions() {
    let (_dir, service, router, keys) = world().await;
    let mut body = report("m1", 30.7432, 46.4871);
    body["place"] = json!("Odesa port, berth 7");
    let receipt = post(&router, "/v1/reports", &body, &keys.monitor)
        .await
        .expect(201)
        .json();
    let index = receipt["receipts"][0]["index"].as_u64().unwrap();
    let path = format!("/v1/reports/{index}");

    let public = get(&router, &path, None).await.expect(200).json();
    assert_eq!(public["source"], json!({"kind": "monitor"}));
    assert_eq!(public["text"], Value::Null);
    assert_eq!(public["location"]["coarsened"], json!(true));
    assert_ne!(public["location"]["lon"].as_f64().unwrap(), 30.7432);
    let analyst = get(&router, &path, Some(&keys.analyst))
        .await
        .expect(200)
        .json();
    assert_eq!(
        analyst["source"]["name"],
        json!("mission.example/monitor-1")
    );
    assert_eq!(
        analyst["location"], public["location"],
        "analysts see monitors' positions coarsened"
    );
    assert_eq!(analyst["text"], json!("report m1: strike on the port"));
    let monitor = get(&router, &path, Some(&keys.monitor))
        .await
        .expect(200)
        .json();
    assert_eq!(monitor["location"]["lon"].as_f64().unwrap(), 30.7432);
    assert_eq!(monitor["location"]["coarsened"], json!(false));
    let other_party = get(&router, &path, Some(&keys.ua)).await.expect(200).json();
    assert_eq!(other_party["source"].get("name"), None);

    // The list agrees with the single view, for each role.
    let list = get(&router, "/v1/reports", None).await.expect(200).json();
    assert_eq!(list["items"][0]["location"], public["location"]);
    assert_eq!(list["items"][0]["source"], public["source"]);
    // A box around the exact position that excludes the cell centre finds nothing for the public.
    let tight = "/v1/reports?bbox=30.74,46.48,30.746,46.49";
    assert_eq!(
        get(&router, tight, None).await.expect(200).json()["items"],
        json!([])
    );
    assert_eq!(
        get(&router, tight, Some(&keys.monitor))
            .await
            .expect(200)
            .json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The log itself holds only commitments: no name, no exact position, no place, no text.
    let raw = get(
        &router,
        &format!("/v1/log/entries?start={index}&end={}", index + 1),
        None,
    )
    .await
    .expect(200)
    .json();
    let bytes = STANDARD
        .decode(raw["entries"][0]["entry"].as_str().unwrap())
        .unwrap();
    let Entry::Report(entry) = Entry::decode(&bytes).unwrap() else {
        panic!("not a report entry");
    };
    assert!(matches!(entry.source.id, Disclosed::Committed(_)));
    let ReportLocation::Committed { shown, .. } = entry.location else {
        panic!("the monitor's location is in clear");
    };
    assert_eq!(shown.lon, public["location"]["lon"].as_f64().unwrap());
    assert!(matches!(entry.place, Some(Disclosed::Committed(_))));
    let haystack = String::from_utf8_lossy(&bytes);
    assert!(
        !haystack.contains("monitor-1")
            && !haystack.contains("Odesa")
            && !haystack.contains("strike on the port")
    );

    // A party's own report keeps its exact position (parties' claims are public) but not its source.
    let party = post(
        &router,
        "/v1/reports",
        &report("p1", 30.7432, 46.4871),
        &keys.ua,
    )
    .await
    .expect(201)
    .json();
    let index = party["receipts"][0]["index"].as_u64().unwrap();
    let public = get(&router, &format!("/v1/reports/{index}"), None)
        .await
        .expect(200)
        .json();
    assert_eq!(public["location"]["coarsened"], json!(false));
    assert_eq!(public["source"], json!({"kind": "party", "party": "UA"}));
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_filtered_and_paged() {
    let (_dir, service, router, keys) = world().await;
    post(
        &router,
        "/v1/reports",
        &report("ua-1", 30.74, 46.49),
        &keys.ua,
    )
    .await
    .expect(201);
    let mut inland = report("ua-2", 36.2, 49.99);
    inland["time"] = json!("2025-04-09T10:00:00Z");
    post(&router, "/v1/reports", &inland, &keys.ua)
        .await
        .expect(201);
    post(
        &router,
        "/v1/reports",
        &report("ru-1", 30.76, 46.47),
        &keys.ru,
    )
    .await
    .expect(201);

    let ids = |answer: Value| -> Vec<String> {
        answer["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["report_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(get(&router, "/v1/reports?party=UA", None)
            .await
            .expect(200)
            .json()),
        ["ua-1", "ua-2"]
    );
    assert_eq!(
        ids(get(&router, "/v1/reports?zone=black-sea", None)
            .await
            .expect(200)
            .json()),
        ["ua-1", "ru-1"]
    );
    assert_eq!(
        ids(get(
            &router,
            &format!("/v1/reports?agreement={AGREEMENT}&source_kind=party&bbox=35,49,37,51"),
            None
        )
        .await
        .expect(200)
        .json()),
        ["ua-2"]
    );
    assert_eq!(
        ids(get(&router, "/v1/reports?from=2025-04-09T00:00:00Z", None)
            .await
            .expect(200)
            .json()),
        ["ua-2"]
    );
    assert_eq!(
        ids(get(&router, "/v1/reports?agreement=other", None)
            .await
            .expect(200)
            .json()),
        Vec::<String>::new()
    );
    let first = get(&router, "/v1/reports?limit=2", None)
        .await
        .expect(200)
        .json();
    assert_eq!(ids(first.clone()), ["ua-1", "ua-2"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = get(
        &router,
        &format!("/v1/reports?limit=2&cursor={cursor}"),
        None,
    )
    .await
    .expect(200)
    .json();
    assert_eq!(ids(second.clone()), ["ru-1"]);
    assert_eq!(second.get("next_cursor"), None);
    for (query, parameter) in [
        ("bbox=1,2,3", "bbox"),
        ("from=yesterday", "from"),
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("cursor=zzz", "cursor"),
        ("from=2025-04-10T00:00:00Z&to=2025-04-01T00:00:00Z", "from"),
    ] {
        let answer = get(&router, &format!("/v1/reports?{query}"), None)
            .await
            .expect(400);
        assert_eq!(answer.problem_places(), [parameter], "{query}");
    }
    get(&router, "/v1/reports/999", None).await.expect(404);
    get(&router, "/v1/reports/abc", None).await.expect(400);
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agreements_are_validated_listed_and_versioned() {
    let (_dir, service, router, keys) = world().await;
    let listed = get(&router, "/v1/agreements", None)
        .await
        .expect(200)
        .json();
    let interpretations: Vec<&str> = listed["agreements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["interpretation"].as_str().unwrap())
        .collect();
    assert_eq!(interpretations, ["common", "UA"]);
    assert_eq!(listed["agreements"][0]["title"].as_str().unwrap(), TITLE);
    let one = get(&router, &format!("/v1/agreements/{AGREEMENT}"), None)
        .await
        .expect(200)
        .json();
    assert_eq!(one["toml"], json!(common::BLACK_SEA_TOML));
    assert_eq!(one["versions"].as_array().unwrap().len(), 2);
    get(
        &router,
        &format!("/v1/agreements/{AGREEMENT}?version=2"),
        None,
    )
    .await
    .expect(404);
    get(
        &router,
        &format!("/v1/agreements/{AGREEMENT}?version=two"),
        None,
    )
    .await
    .expect(400);
    // The same version again is refused; nothing is logged.
    let answer = post(&router, "/v1/agreements", &json!({"toml": common::BLACK_SEA_TOML, "files": {"zones/black-sea.geojson": common::BLACK_SEA_ZONE}}), &keys.admin).await.expect(409);
    assert_eq!(answer.problem(), "conflict");
    // A referenced file missing, and a broken file: each problem names file:line: key.
    let answer = post(
        &router,
        "/v1/agreements",
        &json!({"toml": common::BLACK_SEA_TOML.replace("version = 1", "version = 2")}),
        &keys.admin,
    )
    .await
    .expect(422);
    let detail = answer.json()["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.starts_with("agreement.toml:") && detail.contains("zones[0].file"),
        "{detail}"
    );
    assert!(answer.problem_places().iter().all(|place| place == "/toml"));
    let mut raw = Call::new("POST", "/v1/agreements").by(&keys.admin);
    raw.body = b"id = \"x\"\nversion = \"one\"\n".to_vec();
    raw.content_type = Some("application/toml");
    let answer = raw.send(&router).await.expect(422);
    assert!(
        answer.json()["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("agreement.toml:"),
        "{}",
        answer.text()
    );
    let mut csv = Call::new("POST", "/v1/agreements").by(&keys.admin);
    csv.body = b"a,b".to_vec();
    csv.content_type = Some("text/csv");
    assert_eq!(
        csv.send(&router).await.expect(415).problem(),
        "unsupported-media-type"
    );
    // Version 2 as TOML with its zone file: a new version.
    let v2 = common::BLACK_SEA_TOML.replace("version = 1", "version = 2");
    post(
        &router,
        "/v1/agreements",
        &json!({"toml": v2, "files": {"zones/black-sea.geojson": common::BLACK_SEA_ZONE}}),
        &keys.admin,
    )
    .await
    .expect(201);
    let latest = get(&router, &format!("/v1/agreements/{AGREEMENT}"), None)
        .await
        .expect(200)
        .json();
    assert_eq!(latest["versions"][0]["version"], json!(2));
    // Only the admin submits agreements.
    post(
        &router,
        "/v1/agreements",
        &json!({"toml": v2}),
        &keys.monitor,
    )
    .await
    .expect(403);
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviews_contests_coverage_and_retractions() {
    let (_dir, service, router, keys) = world().await;
    post(
        &router,
        "/v1/reports",
        &report("r1", 30.74, 46.49),
        &keys.ua,
    )
    .await
    .expect(201);
    post(&router, "/v1/reviews", &json!({"review_id": "rv1", "decision": "confirm", "reports": ["r1"], "reasons": "seen by the patrol"}), &keys.monitor).await.expect(201);
    post(
        &router,
        "/v1/reviews",
        &json!({"review_id": "rv2", "decision": "burn", "reports": ["r1"]}),
        &keys.monitor,
    )
    .await
    .expect(422);
    post(
        &router,
        "/v1/reviews",
        &json!({"review_id": "rv3", "decision": "confirm", "reports": ["r1"]}),
        &keys.ua,
    )
    .await
    .expect(403);
    let size = service.state().log_size();
    post(&router, "/v1/contests", &json!({"contest_id": "c1", "agreement_id": AGREEMENT, "agreement_version": 1, "incident": "r1", "log_size": size, "reasons": "the port was not hit", "evidence": [format!("sha256:{}", "ab".repeat(32))]}), &keys.ru).await.expect(201);
    let answer = post(&router, "/v1/contests", &json!({"contest_id": "c2", "party": "UA", "agreement_id": AGREEMENT, "agreement_version": 1, "incident": "r1", "log_size": 1, "reasons": "x"}), &keys.ru).await.expect(403);
    assert_eq!(answer.problem_places(), ["/party"]);
    let answer = post(&router, "/v1/contests", &json!({"contest_id": "c3", "agreement_id": AGREEMENT, "agreement_version": 9, "incident": "r1", "log_size": 1, "reasons": "x"}), &keys.ru).await.expect(422);
    assert_eq!(answer.problem_places(), ["/agreement_id"]);
    let answer = post(&router, "/v1/contests", &json!({"contest_id": "c4", "agreement_id": AGREEMENT, "agreement_version": 1, "incident": "r1", "log_size": 1_000_000, "reasons": "x"}), &keys.ru).await.expect(422);
    assert_eq!(answer.problem_places(), ["/log_size"]);
    let area = json!({"type": "Polygon", "coordinates": [[[30.7, 46.4], [30.8, 46.4], [30.8, 46.5], [30.7, 46.4]]]});
    post(&router, "/v1/coverage", &json!({"coverage_id": "cv1", "kind": "patrol", "start": "2025-04-07T20:00:00Z", "end": "2025-04-07T23:00:00Z", "extent": [30.7, 46.4, 30.8, 46.5], "area": area}), &keys.monitor).await.expect(201);
    let answer = post(&router, "/v1/coverage", &json!({"coverage_id": "cv2", "kind": "patrol", "start": "2025-04-07T20:00:00Z", "end": "2025-04-07T19:00:00Z", "extent": [30.7, 46.4, 30.8, 46.5], "area": area}), &keys.monitor).await.expect(422);
    assert_eq!(answer.problem_places(), ["/end"]);
    post(&router, "/v1/coverage", &json!({"coverage_id": "cv3", "kind": "patrol", "start": "2025-04-07T20:00:00Z", "end": "2025-04-07T23:00:00Z", "extent": [30.7, 46.4, 30.8, 46.5], "area": area}), &keys.ua).await.expect(403);
    // Only the report's own key may retract it.
    let answer = post(
        &router,
        "/v1/retractions",
        &json!({"agreement": AGREEMENT, "report_id": "r1"}),
        &keys.ru,
    )
    .await
    .expect(403);
    assert_eq!(answer.problem_places(), ["/report_id"]);
    post(
        &router,
        "/v1/retractions",
        &json!({"agreement": AGREEMENT, "report_id": "nope"}),
        &keys.ua,
    )
    .await
    .expect(422);
    post(
        &router,
        "/v1/retractions",
        &json!({"agreement": AGREEMENT, "report_id": "r1", "reason": "duplicate"}),
        &keys.ua,
    )
    .await
    .expect(201);

    let public = get(&router, "/v1/annotations?subject=r1", None)
        .await
        .expect(200)
        .json();
    let kinds: Vec<&str> = public["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["review", "contest", "retraction"]);
    assert!(
        public["annotations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a.get("author").is_none())
    );
    assert!(!public.to_string().contains("monitor-1"));
    let analyst = get(&router, "/v1/annotations?subject=r1", Some(&keys.analyst))
        .await
        .expect(200)
        .json();
    assert_eq!(
        analyst["annotations"][0]["author"],
        json!("mission.example/monitor-1")
    );
    let coverage = get(&router, "/v1/annotations?subject=cv1", None)
        .await
        .expect(200)
        .json();
    assert_eq!(coverage["annotations"][0]["body"]["kind"], json!("patrol"));
    get(&router, "/v1/annotations", None).await.expect(400);
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_served_for_verification() {
    let (_dir, service, router, keys) = world().await;
    post(
        &router,
        "/v1/reports",
        &report("r1", 30.74, 46.49),
        &keys.ua,
    )
    .await
    .expect(201);
    let size = service.state().log_size();
    let checkpoint = get(&router, "/v1/log/checkpoint", None)
        .await
        .expect(200)
        .text();
    assert!(checkpoint.contains(&format!("\n{size}\n")), "{checkpoint}");
    let bundle = get(&router, &format!("/v1/log/tile/entries/000.p/{size}"), None)
        .await
        .expect(200);
    assert_eq!(bundle.headers["content-type"], "application/octet-stream");
    let level0 = get(&router, &format!("/v1/log/tile/0/000.p/{size}"), None)
        .await
        .expect(200);
    assert_eq!(level0.body.len(), 32 * usize::try_from(size).unwrap());
    get(&router, &format!("/v1/log/tile/0/000.p/{}", size + 1), None)
        .await
        .expect(404);
    get(&router, "/v1/log/tile/0/001", None).await.expect(404);
    get(&router, "/v1/log/tile/nonsense", None)
        .await
        .expect(400);
    let proof = get(
        &router,
        &format!("/v1/log/proof/inclusion?index=1&size={size}"),
        None,
    )
    .await
    .expect(200)
    .json();
    assert_eq!(proof["size"], json!(size));
    let consistency = get(
        &router,
        &format!("/v1/log/proof/consistency?from=2&to={size}"),
        None,
    )
    .await
    .expect(200)
    .json();
    assert!(!consistency["proof"].as_array().unwrap().is_empty());
    for bad in [
        "/v1/log/proof/inclusion?index=999",
        "/v1/log/proof/consistency?from=0",
        "/v1/log/entries?start=0&end=999",
        "/v1/log/entries?start=x&end=1",
    ] {
        get(&router, bad, None).await.expect(400);
    }
    let entries = get(
        &router,
        &format!("/v1/log/entries?start=0&end={size}"),
        None,
    )
    .await
    .expect(200)
    .json();
    assert_eq!(
        entries["entries"].as_array().unwrap().len(),
        usize::try_from(size).unwrap()
    );
    assert_eq!(
        get(&router, "/healthz", None).await.expect(200).json()["status"],
        json!("ok")
    );
    assert_eq!(
        get(&router, "/readyz", None).await.expect(200).json()["log_size"],
        json!(size)
    );
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_over_their_rate_get_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let mut config = config(dir.path(), &keys.admin);
    config.rate_limit.per_second = 0.5;
    config.rate_limit.burst = 2;
    let (service, router) = open(config).await;
    get(&router, "/v1/agreements", Some(&keys.admin))
        .await
        .expect(200);
    get(&router, "/v1/agreements", Some(&keys.admin))
        .await
        .expect(200);
    let answer = get(&router, "/v1/agreements", Some(&keys.admin))
        .await
        .expect(429);
    assert_eq!(answer.problem(), "rate-limited");
    assert_eq!(answer.headers["retry-after"], "2");
    // The public is not limited per key, and other keys have their own bucket.
    get(&router, "/v1/agreements", None).await.expect(200);
    service.shutdown().await.unwrap();
}
