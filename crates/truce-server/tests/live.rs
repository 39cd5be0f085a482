//! Live incidents and findings: what the service shows equals the batch job
//! (`merge`, `corroborate`, `assess`) over the reports it accepted, after
//! random batches and after a restart; filters, statistics, the verdict
//! filter on reports, and what the public sees.

#![allow(clippy::unwrap_used)]

#[path = "common/batch.rs"]
mod batch;
mod common;

use axum::Router;
use common::{
    ACTIONS, AGREEMENT, BLACK_SEA_TOML, BLACK_SEA_ZONE, Keys, SPOTS, TARGETS, config, get, open,
    populate, post,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use truce_auth::RequestSigner;
use truce_model::Report;

const ACCUSED: [Option<&str>; 3] = [None, Some("RU"), Some("UA")];
/// 7 April 2025 06:00 UTC (in the window), and 20 March 2025 (before it).
const DAYS_MS: [i64; 2] = [1_744_005_600_000, 1_742_450_400_000];

/// One generated report; `copy_of` makes it reuse an earlier report's id
/// (identical when `conflicting` is false).
#[derive(Debug, Clone)]
struct Draft {
    spot: usize,
    dlon: f64,
    dlat: f64,
    radius: usize,
    day: usize,
    minutes: i64,
    source: usize,
    action: usize,
    target: usize,
    accused: usize,
    copy_of: Option<(usize, bool)>,
}

fn draft() -> impl Strategy<Value = Draft> {
    (
        (
            0..SPOTS.len(),
            -0.003..0.003f64,
            -0.003..0.003f64,
            0..3usize,
        ),
        (prop_oneof![4 => Just(0usize), 1 => Just(1usize)], 0..180i64),
        (
            0..3usize,
            0..ACTIONS.len(),
            0..TARGETS.len(),
            0..ACCUSED.len(),
        ),
        prop_oneof![6 => Just(None), 1 => (0..40usize, any::<bool>()).prop_map(Some)],
    )
        .prop_map(
            |(
                (spot, dlon, dlat, radius),
                (day, minutes),
                (source, action, target, accused),
                copy_of,
            )| {
                Draft {
                    spot,
                    dlon,
                    dlat,
                    radius,
                    day,
                    minutes,
                    source,
                    action,
                    target,
                    accused,
                    copy_of,
                }
            },
        )
}

/// A report as submitted (no source fields: they come from the key).
fn submitted(id: &str, draft: &Draft) -> Value {
    let (lon, lat) = SPOTS[draft.spot];
    let time = jiff::Timestamp::from_millisecond(DAYS_MS[draft.day] + draft.minutes * 60_000)
        .unwrap()
        .to_string();
    let radius = [100, 800, 3000][draft.radius];
    json!({
        "agreement": AGREEMENT,
        "id": id,
        "time": time,
        "lon": ((lon + draft.dlon) * 1e5).round() / 1e5,
        "lat": ((lat + draft.dlat) * 1e5).round() / 1e5,
        "uncertainty_m": radius,
        "action": ACTIONS[draft.action],
        "target": TARGETS[draft.target],
        "accused": ACCUSED[draft.accused],
    })
}

/// Every incident the service lists, `page` at a time, as `signer` sees it.
async fn all_incidents(
    router: &Router,
    query: &str,
    page: u32,
    signer: Option<&RequestSigner>,
) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/agreements/{AGREEMENT}/incidents?limit={page}{query}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let answer = get(router, &path, signer).await.expect(200).json();
        items.extend(answer["items"].as_array().unwrap().iter().cloned());
        match answer["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

/// The service's incidents in the batch job's shape (without the fields
/// the batch job has no notion of).
fn comparable(items: &[Value]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|item| {
                let mut item = item.clone();
                let object = item.as_object_mut().unwrap();
                assert_eq!(object.remove("agreement_id"), Some(json!(AGREEMENT)));
                assert!(object.remove("agreement_version").is_some());
                assert!(object.remove("report_log_indexes").is_some());
                item
            })
            .collect(),
    )
}

/// Submits `drafts` cut into batches at `cuts` (each cut submitted as one
/// batch per key); returns the reports the service accepted, as the batch
/// job reads them.
async fn submit_all(router: &Router, keys: &Keys, drafts: &[Draft], cuts: &[usize]) -> Vec<Report> {
    let sources: [(&RequestSigner, &str, Option<&str>); 3] = [
        (&keys.monitor, "monitor", None),
        (&keys.ua, "party", Some("UA")),
        (&keys.ru, "party", Some("RU")),
    ];
    let mut values: Vec<(usize, Value)> = Vec::new();
    for (i, d) in drafts.iter().enumerate() {
        let value = match d.copy_of {
            Some((pick, conflicting)) if i > 0 => {
                let (source, mut copy) = values[pick % i].clone();
                if conflicting {
                    copy["uncertainty_m"] = json!(4321);
                }
                values.push((source, copy));
                continue;
            }
            _ => submitted(&format!("r{i:03}"), d),
        };
        values.push((d.source, value));
    }
    let mut accepted = Vec::new();
    let mut start = 0;
    for end in cuts.iter().copied().chain([values.len()]) {
        let end = end.clamp(start, values.len());
        for (source, (signer, kind, party)) in sources.iter().enumerate() {
            let batch: Vec<&Value> = values[start..end]
                .iter()
                .filter(|(by, _)| *by == source)
                .map(|(_, value)| value)
                .collect();
            if batch.is_empty() {
                continue;
            }
            let answer = post(router, "/v1/reports/batch", &json!(batch), signer).await;
            match answer.status.as_u16() {
                201 => accepted.extend(
                    batch
                        .iter()
                        .map(|value| batch::read_as_batch_input(value, signer, kind, *party)),
                ),
                // A batch reusing an id (of the log, or twice in itself) is refused whole.
                409 | 422 => {}
                other => panic!("{other}: {}", answer.text()),
            }
        }
        start = end;
    }
    accepted
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn the_live_findings_equal_the_batch_job_over_the_accepted_reports(
        drafts in prop::collection::vec(draft(), 1..36),
        cuts in prop::collection::vec(0..40usize, 0..4),
        page in 1..6u32,
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let keys = Keys::new();
            let (service, router) = open(config(dir.path(), &keys.admin)).await;
            populate(&router, &keys).await;
            let mut cuts = cuts;
            cuts.sort_unstable();
            let accepted = submit_all(&router, &keys, &drafts, &cuts).await;
            let served = all_incidents(&router, "", page, Some(&keys.admin)).await;
            let expected = batch::judged(&accepted);
            assert_eq!(batch::canonical(&comparable(&served)), batch::canonical(&expected));
            drop(router);
            service.shutdown().await.unwrap();
        });
    }
}

/// Everything the live endpoints show, to admin and to the public.
async fn everything(router: &Router, keys: &Keys) -> Vec<Value> {
    let mut seen = Vec::new();
    for signer in [Some(&keys.admin), None] {
        seen.push(Value::Array(all_incidents(router, "", 100, signer).await));
        seen.push(
            get(
                router,
                &format!("/v1/agreements/{AGREEMENT}/statistics?group_by=party,verdict,day,zone&interpretation=UA"),
                signer,
            )
            .await
            .expect(200)
            .json(),
        );
        seen.push(
            get(
                router,
                "/v1/reports?verdict=violation&interpretation=UA",
                signer,
            )
            .await
            .expect(200)
            .json(),
        );
    }
    seen
}

/// A few reports of the Black Sea agreement: an attack on Odesa's port
/// seen by the monitor and by Ukraine, one accusation by Russia inland,
/// one before the window.
async fn submit_scenario(router: &Router, keys: &Keys) {
    let base = Draft {
        spot: 0,
        dlon: 0.0,
        dlat: 0.0,
        radius: 0,
        day: 0,
        minutes: 30,
        source: 0,
        action: 0,
        target: 0,
        accused: 1,
        copy_of: None,
    };
    post(
        router,
        "/v1/reports",
        &submitted("m1", &base),
        &keys.monitor,
    )
    .await
    .expect(201);
    post(
        router,
        "/v1/reports/batch",
        &json!([
            submitted(
                "u1",
                &Draft {
                    spot: 1,
                    minutes: 35,
                    ..base.clone()
                }
            ),
            submitted(
                "u2",
                &Draft {
                    day: 1,
                    ..base.clone()
                }
            ),
        ]),
        &keys.ua,
    )
    .await
    .expect(201);
    post(
        router,
        "/v1/reports",
        &submitted(
            "k1",
            &Draft {
                spot: 3,
                accused: 2,
                target: 1,
                action: 1,
                ..base
            },
        ),
        &keys.ru,
    )
    .await
    .expect(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_rebuilds_the_same_incidents_and_findings() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (service, router) = open(config(dir.path(), &keys.admin)).await;
    populate(&router, &keys).await;
    submit_scenario(&router, &keys).await;
    let before = everything(&router, &keys).await;
    assert_eq!(before[0].as_array().unwrap().len(), 3, "{:#}", before[0]);
    drop(router);
    service.shutdown().await.unwrap();

    let (service, router) = open(config(dir.path(), &keys.admin)).await;
    let after = everything(&router, &keys).await;
    assert_eq!(after, before);
    // Reports after the restart join the rebuilt state.
    let late = Draft {
        spot: 0,
        dlon: 0.0,
        dlat: 0.0,
        radius: 0,
        day: 0,
        minutes: 31,
        source: 2,
        action: 0,
        target: 0,
        accused: 2,
        copy_of: None,
    };
    post(&router, "/v1/reports", &submitted("r9", &late), &keys.ru)
        .await
        .expect(201);
    let incident = get(
        &router,
        &format!("/v1/agreements/{AGREEMENT}/incidents/inc-m1"),
        Some(&keys.admin),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(
        incident["incident"]["report_ids"],
        json!(["m1", "r9", "u1"]),
        "{incident:#}"
    );
    drop(router);
    service.shutdown().await.unwrap();
}

/// The ids of the incidents listed with `query`, as the admin sees them.
async fn ids(router: &Router, keys: &Keys, query: &str) -> Vec<String> {
    get(
        router,
        &format!("/v1/agreements/{AGREEMENT}/incidents?{query}"),
        Some(&keys.admin),
    )
    .await
    .expect(200)
    .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The ids of the reports listed with `query`, as the public sees them.
async fn report_ids(router: &Router, query: &str) -> Vec<String> {
    get(router, &format!("/v1/reports?{query}"), None)
        .await
        .expect(200)
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["report_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_filters_statistics_and_the_verdict_filter() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (service, router) = open(config(dir.path(), &keys.admin)).await;
    populate(&router, &keys).await;
    let empty = get(
        &router,
        &format!("/v1/agreements/{AGREEMENT}/incidents"),
        None,
    )
    .await
    .expect(200)
    .json();
    assert_eq!(empty["items"], json!([]));
    submit_scenario(&router, &keys).await;
    assert_eq!(
        ids(&router, &keys, "").await,
        ["inc-k1", "inc-m1", "inc-u2"]
    );
    // The agreed text never took effect (an unmet condition); Ukraine's reading did.
    assert_eq!(
        ids(&router, &keys, "verdict=violation").await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&router, &keys, "interpretation=UA&verdict=violation").await,
        ["inc-m1"]
    );
    assert_eq!(
        ids(&router, &keys, "interpretation=UA&party=RU&zone=black-sea").await,
        ["inc-m1"]
    );
    assert_eq!(
        ids(&router, &keys, "from=2025-04-01T00:00:00Z").await,
        ["inc-k1", "inc-m1"]
    );
    assert_eq!(
        ids(&router, &keys, "to=2025-04-01T00:00:00Z").await,
        ["inc-u2"]
    );
    assert_eq!(ids(&router, &keys, "bbox=36,49,37,51").await, ["inc-k1"]);
    assert_eq!(
        ids(&router, &keys, "version=1&limit=1&cursor=aW5jLWsx").await,
        ["inc-m1"]
    );

    // One incident, with its reports and reasons in words.
    let detail = get(
        &router,
        &format!("/v1/agreements/{AGREEMENT}/incidents/inc-m1"),
        Some(&keys.admin),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(detail["incident"]["report_ids"], json!(["m1", "u1"]));
    let names: Vec<&str> = detail["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["source"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["mission.example/monitor-1", "ua.example/liaison"]);
    let findings = detail["incident"]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2);
    assert_eq!(findings[1]["interpretation"], "UA");
    assert_eq!(findings[1]["verdict"], "violation");
    assert!(
        findings[0]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .all(Value::is_string)
    );

    // The public: no source names, the monitor's incident placed coarsely.
    let public = get(
        &router,
        &format!("/v1/agreements/{AGREEMENT}/incidents/inc-m1"),
        None,
    )
    .await
    .expect(200)
    .json();
    assert!(
        public["reports"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["source"].get("name").is_none())
    );
    assert_eq!(public["incident"]["location"]["coarsened"], true);
    assert_ne!(
        public["incident"]["location"]["lon"],
        detail["incident"]["location"]["lon"]
    );
    let exact = format!(
        "{:.4}",
        detail["incident"]["location"]["lon"].as_f64().unwrap()
    );
    assert!(
        detail.to_string().contains(&exact),
        "the admin sees the exact place in the reasons"
    );
    assert!(!public.to_string().contains(&exact), "{public:#}");
    let inland = get(
        &router,
        &format!("/v1/agreements/{AGREEMENT}/incidents/inc-k1"),
        None,
    )
    .await
    .expect(200)
    .json();
    assert_eq!(
        inland["incident"]["location"]["coarsened"], false,
        "a party's report is public"
    );

    // Statistics: days in Kyiv time, each grouped dimension named.
    let stats = get(
        &router,
        &format!("/v1/agreements/{AGREEMENT}/statistics?interpretation=UA&group_by=verdict,day"),
        None,
    )
    .await
    .expect(200)
    .json();
    assert_eq!(stats["time_zone"], "Europe/Kyiv");
    assert_eq!(stats["group_by"], json!(["verdict", "day"]));
    assert_eq!(stats["incidents"], 3);
    let rows: Vec<(String, String, u64)> = stats["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            assert!(row.get("party").is_none());
            (
                row["verdict"].as_str().unwrap().into(),
                row["day"].as_str().unwrap().into(),
                row["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows.iter().map(|row| row.2).sum::<u64>(), 3, "{rows:?}");
    assert!(
        rows.contains(&("violation".into(), "2025-04-07".into(), 1)),
        "{rows:?}"
    );
    assert!(rows.iter().any(|row| row.1 == "2025-03-20"), "{rows:?}");
    let total = get(
        &router,
        &format!("/v1/agreements/{AGREEMENT}/statistics"),
        None,
    )
    .await
    .expect(200)
    .json();
    assert_eq!(total["rows"], json!([{"count": 3}]));

    // The verdict filter on reports.
    assert_eq!(
        report_ids(&router, "verdict=violation&interpretation=UA").await,
        ["m1", "u1"]
    );
    assert_eq!(
        report_ids(
            &router,
            "agreement=black-sea-2025&verdict=violation&interpretation=UA"
        )
        .await,
        ["m1", "u1"]
    );
    assert_eq!(
        report_ids(&router, "verdict=violation").await,
        Vec::<String>::new()
    );
    assert_eq!(
        report_ids(&router, "verdict=violation&interpretation=UA&party=UA").await,
        ["u1"]
    );

    // Bad requests name the parameter; unknown things are 404.
    for (path, status, place) in [
        (
            format!("/v1/agreements/{AGREEMENT}/incidents?verdict=guilty"),
            400,
            "verdict",
        ),
        (
            format!("/v1/agreements/{AGREEMENT}/incidents?interpretation=XX"),
            400,
            "interpretation",
        ),
        (
            format!("/v1/agreements/{AGREEMENT}/incidents?cursor=!!"),
            400,
            "cursor",
        ),
        (
            format!("/v1/agreements/{AGREEMENT}/incidents?limit=0"),
            400,
            "limit",
        ),
        (
            format!(
                "/v1/agreements/{AGREEMENT}/incidents?from=2025-05-01T00:00:00Z&to=2025-04-01T00:00:00Z"
            ),
            400,
            "from",
        ),
        (
            format!("/v1/agreements/{AGREEMENT}/incidents?version=x"),
            400,
            "version",
        ),
        (
            format!("/v1/agreements/{AGREEMENT}/statistics?group_by=week"),
            400,
            "group_by",
        ),
        ("/v1/reports?verdict=guilty".to_owned(), 400, "verdict"),
        (
            "/v1/reports?interpretation=UA".to_owned(),
            400,
            "interpretation",
        ),
        (
            format!("/v1/agreements/{AGREEMENT}/incidents?version=9"),
            404,
            "version",
        ),
        ("/v1/agreements/nope/incidents".to_owned(), 404, "id"),
        (
            format!("/v1/agreements/{AGREEMENT}/incidents/inc-zz"),
            404,
            "incident_id",
        ),
    ] {
        let answer = get(&router, &path, None).await.expect(status);
        assert_eq!(answer.problem_places(), [place], "{path}");
    }
    drop(router);
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_agreement_version_judges_every_report_so_far() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (service, router) = open(config(dir.path(), &keys.admin)).await;
    populate(&router, &keys).await;
    submit_scenario(&router, &keys).await;
    let amended = BLACK_SEA_TOML.replace("version = 1", "version = 2");
    post(
        &router,
        "/v1/agreements",
        &json!({"toml": amended, "files": {"zones/black-sea.geojson": BLACK_SEA_ZONE}}),
        &keys.admin,
    )
    .await
    .expect(201);
    let newest = all_incidents(&router, "", 100, Some(&keys.admin)).await;
    let first = all_incidents(&router, "&version=1", 100, Some(&keys.admin)).await;
    assert_eq!(newest.len(), 3);
    assert!(newest.iter().all(|item| item["agreement_version"] == 2));
    let strip = |items: &[Value]| {
        items
            .iter()
            .map(|item| {
                let mut item = item.clone();
                item.as_object_mut().unwrap().remove("agreement_version");
                item
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&newest), strip(&first));
    // The restart rebuilds both versions.
    drop(router);
    service.shutdown().await.unwrap();
    let (service, router) = open(config(dir.path(), &keys.admin)).await;
    assert_eq!(
        all_incidents(&router, "&version=1", 100, Some(&keys.admin)).await,
        first
    );
    assert_eq!(
        all_incidents(&router, "", 100, Some(&keys.admin)).await,
        newest
    );
    drop(router);
    service.shutdown().await.unwrap();
}

/// The finding of one incident under the common reading, as the admin sees
/// it (`None`: no such incident).
async fn finding_of(router: &Router, keys: &Keys, incident: &str) -> Option<Value> {
    let answer = get(
        router,
        &format!("/v1/agreements/{AGREEMENT}/incidents/{incident}"),
        Some(&keys.admin),
    )
    .await;
    if answer.status == 404 {
        return None;
    }
    Some(answer.expect(200).json())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviews_and_retractions_change_the_live_findings_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (service, router) = open(config(dir.path(), &keys.admin)).await;
    populate(&router, &keys).await;
    // Ukraine and the monitor report one strike on Odesa's port by Russia.
    let strike = |id: &str, accused: &str| {
        let mut report = common::report(id, 30.74, 46.49);
        report["accused"] = json!(accused);
        report
    };
    post(&router, "/v1/reports", &strike("a1", "RU"), &keys.ua)
        .await
        .expect(201);
    post(&router, "/v1/reports", &strike("a2", "RU"), &keys.monitor)
        .await
        .expect(201);
    let before = finding_of(&router, &keys, "inc-a1").await.unwrap();
    assert_eq!(
        before["incident"]["report_ids"],
        json!(["a1", "a2"]),
        "{before:#}"
    );
    let text = before.to_string();
    assert!(!text.contains("review `"), "{before:#}");

    // The monitor attributes Ukraine's report to Ukraine: two parties named.
    post(
        &router,
        "/v1/reviews",
        &json!({"review_id": "rv1", "decision": "reattribute", "party": "UA", "reports": ["a1"]}),
        &keys.monitor,
    )
    .await
    .expect(201);
    let reviewed = finding_of(&router, &keys, "inc-a1").await.unwrap();
    let text = reviewed.to_string();
    assert!(
        text.contains("review `rv1` by `mission.example/monitor-1` attributes report `a1` to UA"),
        "{reviewed:#}"
    );
    assert!(text.contains("\"disputed\""), "{reviewed:#}");

    // The monitor splits them; then Ukraine retracts its report.
    post(
        &router,
        "/v1/reviews",
        &json!({"review_id": "rv2", "decision": "split", "reports": ["a1"]}),
        &keys.monitor,
    )
    .await
    .expect(201);
    let split = finding_of(&router, &keys, "inc-a1").await.unwrap();
    assert_eq!(split["incident"]["report_ids"], json!(["a1"]), "{split:#}");
    assert_eq!(
        finding_of(&router, &keys, "inc-a2").await.unwrap()["incident"]["report_ids"],
        json!(["a2"])
    );
    post(
        &router,
        "/v1/retractions",
        &json!({"agreement": AGREEMENT, "report_id": "a1", "reason": "sent twice"}),
        &keys.ua,
    )
    .await
    .expect(201);
    assert!(finding_of(&router, &keys, "inc-a1").await.is_none());
    let after = everything(&router, &keys).await;
    drop(router);
    service.shutdown().await.unwrap();

    // A restart replays the reviews and the retraction from the log.
    let (service, router) = open(config(dir.path(), &keys.admin)).await;
    assert_eq!(everything(&router, &keys).await, after);
    assert!(finding_of(&router, &keys, "inc-a1").await.is_none());
    drop(router);
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contest_answered_by_a_review_keeps_every_version_of_the_finding() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let (service, router) = open(config(dir.path(), &keys.admin)).await;
    populate(&router, &keys).await;
    let strike = |id: &str| common::report(id, 30.74, 46.49);
    post(&router, "/v1/reports", &strike("b1"), &keys.ua)
        .await
        .expect(201);
    post(&router, "/v1/reports", &strike("b2"), &keys.monitor)
        .await
        .expect(201);
    let first = finding_of(&router, &keys, "inc-b1").await.unwrap();
    // Under Ukraine's reading (the common one is not in force here).
    let ua_verdict = |detail: &Value| {
        detail["incident"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|finding| finding["interpretation"] == "UA")
            .unwrap()["verdict"]
            .clone()
    };
    let verdict_then = ua_verdict(&first);
    assert_eq!(verdict_then, json!("violation"), "{first:#}");
    assert_eq!(first["contests"], json!([]), "{first:#}");

    // Russia contests; the monitor answers by rejecting its own report.
    let size = service.state().log_size();
    post(&router, "/v1/contests", &json!({"contest_id": "c1", "agreement_id": AGREEMENT, "agreement_version": 1, "interpretation": "UA", "incident": "inc-b1", "log_size": size, "reasons": "no missile was fired"}), &keys.ru)
        .await
        .expect(201);
    let open_contest = finding_of(&router, &keys, "inc-b1").await.unwrap();
    let contest = &open_contest["contests"][0];
    assert_eq!(contest["status"], json!("open"), "{open_contest:#}");
    assert_eq!(contest["versions"][0]["finding"]["verdict"], verdict_then);
    assert_eq!(contest["versions"][0]["report_ids"], json!(["b1", "b2"]));
    post(
        &router,
        "/v1/reviews",
        &json!({"review_id": "rv9", "decision": "reject", "reports": ["b2"], "answers_contest": "c1", "reasons": "the patrol saw another strike"}),
        &keys.monitor,
    )
    .await
    .expect(201);
    let answered = finding_of(&router, &keys, "inc-b1").await.unwrap();
    let contest = &answered["contests"][0];
    assert_eq!(contest["status"], json!("answered"), "{answered:#}");
    let versions = contest["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    // Version 1 is kept as it was; version 2 is the re-adjudication.
    assert_eq!(versions[0]["finding"]["verdict"], verdict_then);
    assert_eq!(versions[1]["review_id"], json!("rv9"));
    assert_eq!(versions[1]["reviewer"], json!("mission.example/monitor-1"));
    assert_eq!(versions[1]["report_ids"], json!(["b1"]));
    assert_ne!(
        versions[1]["finding"]["verdict"], verdict_then,
        "{answered:#}"
    );
    assert_eq!(versions[1]["finding"]["verdict"], ua_verdict(&answered));

    // The public sees the versions without the reviewer's name.
    let public = get(
        &router,
        &format!("/v1/agreements/{AGREEMENT}/incidents/inc-b1"),
        None,
    )
    .await
    .expect(200)
    .json();
    assert!(
        public["contests"][0]["versions"][1]
            .get("reviewer")
            .is_none(),
        "{public:#}"
    );
    assert!(!public.to_string().contains("monitor-1"), "{public:#}");

    // A restart rebuilds the same versions from the log.
    drop(router);
    service.shutdown().await.unwrap();
    let (service, router) = open(config(dir.path(), &keys.admin)).await;
    assert_eq!(
        finding_of(&router, &keys, "inc-b1").await.unwrap(),
        answered
    );
    drop(router);
    service.shutdown().await.unwrap();
}
