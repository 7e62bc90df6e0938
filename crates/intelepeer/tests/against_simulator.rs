//! The client against the simulator (`intelepeer-sim`), in process: every
//! endpoint, paging at scale, re-authentication, retries, timeouts, and the
//! mutation-safety rules, proven with the simulator's request counts and ledger.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use intelepeer::{
    Anomaly, AnomalyKind, CallRecord, ChangePackageRequest, Client, ClientConfig, Credentials,
    DEFAULT_MAX_BODY_BYTES, DisconnectRequest, E164, Endpoint, Error, ListInventory, Npa,
    OrderOptions, PackageId, PagingError, PurchaseRequest, ReservationId, ReserveRequest,
    SearchPool, TransportStage,
};
use intelepeer_sim::{Faults, RunningSim, SimConfig};

const PACKAGE: u64 = 30744;
const OTHER_PACKAGE: u64 = 24188;

async fn sim(config: SimConfig) -> RunningSim {
    intelepeer_sim::spawn(config)
        .await
        .expect("simulator starts")
}

/// A fast test configuration: no rate limit, short backoff.
fn config(running: &RunningSim, credentials: Credentials) -> ClientConfig {
    ClientConfig {
        rate_limit_per_sec: 0.0,
        initial_backoff: Duration::from_millis(10),
        max_delay: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
        ..ClientConfig::new(running.url(), credentials)
    }
}

fn demo(running: &RunningSim) -> Client {
    Client::new(config(running, Credentials::password("demo", "demo"))).expect("client")
}

fn e164(s: &str) -> E164 {
    E164::parse(s).expect("valid number")
}

fn pkg(id: u64) -> PackageId {
    PackageId::new(id).expect("package")
}

fn rid(s: &str) -> ReservationId {
    ReservationId::parse(s).expect("reservation id")
}

fn count(running: &RunningSim, key: &str) -> u64 {
    running
        .sim()
        .request_counts()
        .get(key)
        .copied()
        .unwrap_or(0)
}

const AUTH: &str = "POST /_rest/v4/authenticate";
const LIST: &str = "GET /_rest/v4/my/tf";
const SEARCH: &str = "GET /_rest/v4/carrier/tf";
const RESERVE: &str = "POST /_rest/v4/carrier/tf/reservations";
const PURCHASE: &str = "POST /_rest/v4/my/tf/orders";
const DISCONNECT: &str = "POST /_rest/v4/my/tf/disconnect";

fn numbers(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("+1800{:07}", 1_000_000 + i))
        .collect()
}

fn seed(running: &RunningSim, numbers: &[String], package: u64) {
    let refs: Vec<&str> = numbers.iter().map(String::as_str).collect();
    running.sim().seed_inventory(&refs, package);
}

#[tokio::test]
async fn every_endpoint_round_trips() {
    // Orders complete when the test says so.
    let running = sim(SimConfig {
        order_delay: Duration::from_secs(3600),
        ..SimConfig::default()
    })
    .await;
    let client = demo(&running);

    // Search: by NPA, sequential, by prefix (`+` must arrive encoded).
    let page = client
        .search_pool(&SearchPool::in_npas([Npa::new(888).expect("npa")]))
        .await
        .expect("search by npa");
    assert!(!page.numbers.is_empty());
    assert!(page.numbers.iter().all(|n| n.endpoint.npa().get() == 888));
    let seq = client
        .search_pool(
            &SearchPool::in_npas([Npa::new(888).expect("npa")])
                .sequential(true)
                .page_size(20),
        )
        .await
        .expect("sequential search");
    assert_eq!(seq.numbers.len(), 20);
    assert!(!seq.has_more);
    assert!(
        seq.numbers
            .windows(2)
            .all(|w| w[1].endpoint.as_u64() == w[0].endpoint.as_u64() + 1)
    );
    let like = client
        .search_pool(&SearchPool::like("+1800"))
        .await
        .expect("search like");
    assert!(
        like.numbers
            .iter()
            .all(|n| n.endpoint.as_str().starts_with("+1800"))
    );

    // Reserve with a client-chosen ID, purchase by reservation.
    let id = rid("F78793B1-7E84-11E6-B908-52540029234D");
    let wanted = vec![e164("+18887293863"), e164("+18887293864")];
    let reservations = client
        .reserve(&ReserveRequest::new(wanted.clone()).reservation_id(id.clone()))
        .await
        .expect("reserve");
    assert_eq!(reservations.len(), 1);
    assert_eq!(reservations[0].reservation_id, id);
    assert!(reservations[0].expiration_date > reservations[0].reserved_date);
    let order = client
        .purchase(
            &PurchaseRequest::by_reservations([id.clone()], pkg(PACKAGE), 4)
                .reference_id("ref-purchase-1")
                .email("noc@example.com")
                .notes("test"),
        )
        .await
        .expect("purchase");
    assert_eq!(order.order_type.as_deref(), Some("TF Purchase"));
    assert_eq!(order.package_id, Some(pkg(PACKAGE)));
    assert_eq!(order.reference_id.as_deref(), Some("ref-purchase-1"));
    running.sim().complete_pending_orders();

    // Purchase by quantity.
    let by_qty = client
        .purchase(&PurchaseRequest::by_quantity(1, pkg(PACKAGE), 4))
        .await
        .expect("purchase by quantity");
    running.sim().complete_pending_orders();
    assert_ne!(by_qty.order_id, order.order_id);

    // Inventory: the three numbers, in the package, with the order recorded.
    let snap = client
        .list_all(ListInventory::all())
        .await
        .expect("inventory");
    assert_eq!(snap.numbers.len(), 3);
    for n in &wanted {
        let rec = snap
            .numbers
            .iter()
            .find(|r| &r.endpoint == n)
            .expect("bought number listed");
        assert_eq!(rec.package_id, Some(pkg(PACKAGE)));
        assert_eq!(rec.order_id, Some(order.order_id));
    }

    // Change package, filter by package.
    let moved = client
        .change_package(&ChangePackageRequest::new(
            pkg(OTHER_PACKAGE),
            [wanted[0].clone()],
        ))
        .await
        .expect("change package");
    assert_eq!(moved.order_type.as_deref(), Some("Change Package"));
    running.sim().complete_pending_orders();
    let other = client
        .list_all(ListInventory::all().package(pkg(OTHER_PACKAGE)))
        .await
        .expect("filtered inventory");
    assert_eq!(other.numbers.len(), 1);
    assert_eq!(other.numbers[0].endpoint, wanted[0]);

    // Disconnect (202), then the documented 409s.
    let gone = client
        .disconnect(&DisconnectRequest::new([wanted[1].clone()]))
        .await
        .expect("disconnect");
    assert_eq!(gone.order_type.as_deref(), Some("TF Return"));
    let again = client
        .disconnect(&DisconnectRequest::new([wanted[1].clone()]))
        .await
        .expect_err("second disconnect");
    assert!(
        matches!(again, Error::AlreadyPendingDisconnect),
        "{again:?}"
    );
    let foreign = client
        .disconnect(&DisconnectRequest::new([e164("+18445550000")]))
        .await
        .expect_err("not ours");
    assert!(matches!(foreign, Error::NotAssigned), "{foreign:?}");

    // Search errors: both filters (409), neither (422).
    let both = client
        .search_pool(&SearchPool {
            like: Some("+1888".into()),
            npa: vec![Npa::new(888).expect("npa")],
            ..SearchPool::default()
        })
        .await
        .expect_err("mutually exclusive");
    assert!(matches!(both, Error::MutuallyExclusive { .. }), "{both:?}");
    let neither = client
        .search_pool(&SearchPool::default())
        .await
        .expect_err("missing filter");
    assert!(matches!(neither, Error::Invalid { .. }), "{neither:?}");
    running.shutdown().await;
}

#[tokio::test]
async fn lists_2500_numbers_across_pages_without_duplicates_or_losses() {
    let running = sim(SimConfig::default()).await;
    let seeded = numbers(2500);
    seed(&running, &seeded, PACKAGE);
    let client = demo(&running);

    for page_size in [100, 7] {
        let before = count(&running, LIST);
        let snap = client
            .list_all(ListInventory::all().page_size(page_size))
            .await
            .expect("listing");
        let got: Vec<String> = snap
            .numbers
            .iter()
            .map(|n| n.endpoint.to_string())
            .collect();
        assert_eq!(got.len(), 2500, "page size {page_size}");
        let mut sorted = got.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, seeded, "page size {page_size}");
        let pages = u64::from(2500u32.div_ceil(page_size));
        assert_eq!(
            u64::from(snap.pages),
            pages,
            "page size {page_size}: a full last page costs no extra request"
        );
        assert_eq!(count(&running, LIST) - before, u64::from(snap.pages));
        assert!(snap.is_complete(), "{:?}", snap.anomalies);
        assert!(snap.doubtful.is_empty() && snap.not_toll_free.is_empty());
        // Each page but the last carries the next page's first record.
        assert_eq!(snap.duplicates, pages - 1);
    }

    // The stream yields the same numbers, each once.
    let streamed: Vec<_> = client
        .inventory(ListInventory::all().page_size(100))
        .map_ok(|n| n.endpoint.to_string())
        .try_collect()
        .await
        .expect("stream");
    streamed_sorted_equals(streamed, &seeded);
    running.shutdown().await;
}

fn streamed_sorted_equals(mut streamed: Vec<String>, seeded: &[String]) {
    assert_eq!(streamed.len(), seeded.len());
    streamed.sort();
    assert_eq!(streamed, seeded);
}

#[tokio::test]
async fn the_stream_stops_after_an_error() {
    let running = sim(SimConfig::default()).await;
    seed(&running, &numbers(30), PACKAGE);
    let client = Client::new(ClientConfig {
        max_attempts: 1,
        ..config(&running, Credentials::password("demo", "demo"))
    })
    .expect("client");
    client.authenticate().await.expect("auth");
    let mut stream = Box::pin(client.inventory(ListInventory::all().page_size(10)));
    let mut ok = 0;
    while let Some(item) = stream.next().await {
        match item {
            Ok(_) => {
                ok += 1;
                if ok == 11 {
                    running.sim().set_faults(Faults {
                        fail_next: vec![500],
                        ..Faults::default()
                    });
                }
            }
            Err(e) => {
                assert!(matches!(e, Error::Server { status: 500, .. }), "{e:?}");
                break;
            }
        }
    }
    assert_eq!(ok, 11, "page 1 had 11 records (10 + the first of page 2)");
    assert!(stream.next().await.is_none());
    running.shutdown().await;
}

#[tokio::test]
async fn reauthenticates_once_after_the_session_expires() {
    let running = sim(SimConfig::default()).await;
    let client = demo(&running);
    client.authenticate().await.expect("auth");
    assert_eq!(client.authentications(), 1);
    running.sim().expire_sessions();
    client
        .list_inventory_page(&ListInventory::all())
        .await
        .expect("listing after re-authentication");
    assert_eq!(client.authentications(), 2);
    assert_eq!(count(&running, AUTH), 2);
    running.shutdown().await;
}

#[tokio::test]
async fn authenticates_again_before_the_token_expires() {
    let running = sim(SimConfig::default()).await;
    let client = Client::new(ClientConfig {
        token_lifetime: Duration::from_secs(3),
        token_refresh_margin: Duration::from_secs(2),
        ..config(&running, Credentials::password("demo", "demo"))
    })
    .expect("client");
    client
        .list_inventory_page(&ListInventory::all())
        .await
        .expect("first listing");
    client
        .list_inventory_page(&ListInventory::all())
        .await
        .expect("second listing, same token");
    assert_eq!(client.authentications(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client
        .list_inventory_page(&ListInventory::all())
        .await
        .expect("listing with a renewed token");
    assert_eq!(client.authentications(), 2);
    assert_eq!(count(&running, LIST), 3, "no request met a 401");
    running.shutdown().await;
}

#[tokio::test]
async fn ten_concurrent_requests_share_one_reauthentication() {
    let running = sim(SimConfig::default()).await;
    let client = demo(&running);
    client.authenticate().await.expect("auth");
    running.sim().expire_sessions();
    let calls = (0..10).map(|_| {
        let c = client.clone();
        tokio::spawn(async move { c.list_inventory_page(&ListInventory::all()).await })
    });
    for r in futures::future::join_all(calls).await {
        r.expect("task").expect("listing");
    }
    assert_eq!(client.authentications(), 2);
    assert_eq!(count(&running, AUTH), 2);
    running.shutdown().await;
}

#[tokio::test]
async fn bad_credentials_are_unauthorized_without_a_retry_loop() {
    let running = sim(SimConfig::default()).await;
    let client =
        Client::new(config(&running, Credentials::password("demo", "wrong"))).expect("client");
    let query = ListInventory::all();
    let calls = (0..5).map(|_| client.list_inventory_page(&query));
    for r in futures::future::join_all(calls).await {
        assert!(matches!(r, Err(Error::Unauthorized)), "{r:?}");
    }
    assert_eq!(count(&running, AUTH), 1);
    assert_eq!(count(&running, LIST), 0);

    // A static token that is refused: no authentication at all, one request.
    let client = Client::new(config(&running, Credentials::token("not-a-token"))).expect("client");
    let err = client
        .list_inventory_page(&ListInventory::all())
        .await
        .expect_err("refused");
    assert!(err.is_auth_failure(), "{err:?}");
    assert_eq!(count(&running, AUTH), 1);
    assert_eq!(count(&running, LIST), 1);
    running.shutdown().await;
}

#[tokio::test]
async fn retry_after_is_honoured_on_429() {
    let running = sim(SimConfig::default()).await;
    let client = demo(&running);
    client.authenticate().await.expect("auth");
    running.sim().set_faults(Faults {
        rate_limit_next: 1,
        retry_after_secs: 1,
        ..Faults::default()
    });
    let started = Instant::now();
    client
        .search_pool(&SearchPool::in_npas([Npa::new(800).expect("npa")]))
        .await
        .expect("search after 429");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(count(&running, SEARCH), 2);
    running.shutdown().await;
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_is_returned_not_slept() {
    let running = sim(SimConfig::default()).await;
    let client = Client::new(ClientConfig {
        max_delay: Duration::from_secs(2),
        ..config(&running, Credentials::password("demo", "demo"))
    })
    .expect("client");
    client.authenticate().await.expect("auth");
    running.sim().set_faults(Faults {
        rate_limit_next: 1,
        retry_after_secs: 120,
        ..Faults::default()
    });
    let err = client
        .search_pool(&SearchPool::like("+1800"))
        .await
        .expect_err("429");
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d) } if d.as_secs() == 120),
        "{err:?}"
    );
    assert_eq!(count(&running, SEARCH), 1);
    running.shutdown().await;
}

#[tokio::test]
async fn server_errors_are_retried_then_surfaced_after_max_attempts() {
    let running = sim(SimConfig::default()).await;
    let client = demo(&running);
    client.authenticate().await.expect("auth");
    running.sim().set_faults(Faults {
        fail_next: vec![502, 500],
        ..Faults::default()
    });
    client
        .list_inventory_page(&ListInventory::all())
        .await
        .expect("third attempt succeeds");
    assert_eq!(count(&running, LIST), 3);

    running.sim().set_faults(Faults {
        fail_next: vec![500; 6],
        ..Faults::default()
    });
    let err = client
        .list_inventory_page(&ListInventory::all())
        .await
        .expect_err("gives up");
    assert!(matches!(err, Error::Server { status: 500, .. }), "{err:?}");
    assert_eq!(count(&running, LIST), 3 + 4, "max_attempts = 4");
    running.shutdown().await;
}

#[tokio::test]
async fn a_hanging_request_times_out() {
    let running = sim(SimConfig::default()).await;
    let client = Client::new(ClientConfig {
        timeout: Duration::from_millis(300),
        max_attempts: 1,
        ..config(&running, Credentials::password("demo", "demo"))
    })
    .expect("client");
    client.authenticate().await.expect("auth");
    running.sim().set_faults(Faults {
        hang_next: 1,
        ..Faults::default()
    });
    let started = Instant::now();
    let err = client
        .list_inventory_page(&ListInventory::all())
        .await
        .expect_err("timeout");
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // A read is retried after a timeout.
    let client = Client::new(ClientConfig {
        timeout: Duration::from_millis(300),
        ..config(&running, Credentials::password("demo", "demo"))
    })
    .expect("client");
    client.authenticate().await.expect("auth");
    running.sim().set_faults(Faults {
        hang_next: 1,
        ..Faults::default()
    });
    client
        .list_inventory_page(&ListInventory::all())
        .await
        .expect("second attempt");
    running.shutdown().await;
}

#[tokio::test]
async fn a_purchase_is_not_retried_after_a_timeout() {
    let running = sim(SimConfig::default()).await;
    let client = Client::new(ClientConfig {
        timeout: Duration::from_millis(300),
        ..config(&running, Credentials::password("demo", "demo"))
    })
    .expect("client");
    client.authenticate().await.expect("auth");
    running.sim().set_faults(Faults {
        hang_next: 1,
        ..Faults::default()
    });
    let err = client
        .purchase(&PurchaseRequest::by_quantity(1, pkg(PACKAGE), 4))
        .await
        .expect_err("timeout");
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert_eq!(count(&running, PURCHASE), 1);
    running.shutdown().await;
}

#[tokio::test]
async fn a_conflict_is_not_retried() {
    let running = sim(SimConfig::default()).await;
    seed(&running, &["+18887293863".to_owned()], PACKAGE);
    let client = demo(&running);
    let err = client
        .reserve(&ReserveRequest::new([e164("+18887293863")]))
        .await
        .expect_err("owned already");
    assert!(matches!(err, Error::NotAvailable), "{err:?}");
    assert_eq!(err.status(), Some(409));
    assert_eq!(count(&running, RESERVE), 1);
    assert!(running.sim().ledger().is_empty());
    running.shutdown().await;
}

#[tokio::test]
async fn a_mutation_is_not_retried_after_a_dropped_connection() {
    let running = sim(SimConfig::default()).await;
    let client = demo(&running);
    client.authenticate().await.expect("auth");

    // The vendor processed the purchase, then the connection dropped: a retry
    // would buy twice.
    running.sim().set_faults(Faults {
        drop_after_next: 1,
        ..Faults::default()
    });
    let err = client
        .purchase(&PurchaseRequest::by_quantity(1, pkg(PACKAGE), 4))
        .await
        .expect_err("dropped");
    assert!(
        matches!(
            err,
            Error::Transport {
                stage: TransportStage::Send,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(count(&running, PURCHASE), 1);
    assert_eq!(running.sim().ledger().len(), 1, "bought exactly once");

    // Dropped before processing: the client cannot tell, so it does not retry either.
    running.sim().set_faults(Faults {
        drop_next: 1,
        ..Faults::default()
    });
    let err = client
        .disconnect(&DisconnectRequest::new([e164("+18005550100")]))
        .await
        .expect_err("dropped");
    assert!(!err.is_retryable_for_mutation(), "{err:?}");
    assert_eq!(count(&running, DISCONNECT), 1);

    // A read is retried after a dropped connection.
    running.sim().set_faults(Faults {
        drop_next: 1,
        ..Faults::default()
    });
    client
        .list_inventory_page(&ListInventory::all())
        .await
        .expect("read retried");
    running.shutdown().await;
}

#[tokio::test]
async fn mutations_are_retried_only_when_the_vendor_refused_them() {
    let running = sim(SimConfig::default()).await;
    let client = demo(&running);
    client.authenticate().await.expect("auth");

    // 429 and 503 prove the request was refused: retried, reserved once.
    running.sim().set_faults(Faults {
        rate_limit_next: 1,
        retry_after_secs: 0,
        fail_next: vec![503],
        ..Faults::default()
    });
    client
        .reserve(
            &ReserveRequest::new([e164("+18885551201")])
                .reservation_id(rid("0F85813F-7E8B-11E6-B908-52540029234D")),
        )
        .await
        .expect("reserved after 503 and 429");
    assert_eq!(count(&running, RESERVE), 3);
    assert_eq!(running.sim().ledger().len(), 1);

    // A 500 may hide a processed order: returned at once.
    running.sim().set_faults(Faults {
        fail_next: vec![500],
        ..Faults::default()
    });
    let err = client
        .purchase(&PurchaseRequest::by_reservations(
            [rid("0F85813F-7E8B-11E6-B908-52540029234D")],
            pkg(PACKAGE),
            4,
        ))
        .await
        .expect_err("500");
    assert!(matches!(err, Error::Server { status: 500, .. }), "{err:?}");
    assert_eq!(count(&running, PURCHASE), 1);
    running.shutdown().await;
}

#[tokio::test]
async fn trial_limits_are_typed() {
    let running = sim(SimConfig {
        trial_seats: Some(2),
        order_delay: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let client = demo(&running);
    let err = client
        .purchase(&PurchaseRequest::by_quantity(3, pkg(PACKAGE), 4))
        .await
        .expect_err("too large");
    assert!(
        matches!(err, Error::TrialLimitExceeded { available: 2 }),
        "{err:?}"
    );
    client
        .purchase(&PurchaseRequest::by_quantity(2, pkg(PACKAGE), 4))
        .await
        .expect("within the trial");
    running.sim().complete_pending_orders();
    let err = client
        .purchase(&PurchaseRequest::by_quantity(1, pkg(PACKAGE), 4))
        .await
        .expect_err("blocked");
    assert!(
        matches!(err, Error::TrialLimitRealized { limit: 2 }),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(402));
    assert_eq!(count(&running, PURCHASE), 3);
    running.shutdown().await;
}

#[tokio::test]
async fn secrets_never_appear_in_debug_or_errors() {
    let password = "pa55-w0rd-SECRET";
    let running = sim(SimConfig {
        users: vec![("ops".to_owned(), password.to_owned())],
        ..SimConfig::default()
    })
    .await;
    let client =
        Client::new(config(&running, Credentials::password("ops", password))).expect("client");
    client.authenticate().await.expect("auth");
    let mut texts = vec![format!("{client:?}"), format!("{client:#?}")];
    for e in [
        client
            .reserve(&ReserveRequest::new([e164("+18005550100")]))
            .await
            .err(),
        client.search_pool(&SearchPool::default()).await.err(),
    ]
    .into_iter()
    .flatten()
    {
        texts.push(format!("{e} {e:?}"));
    }
    let bad = Client::new(config(
        &running,
        Credentials::password("ops", "wrong-SECRET"),
    ))
    .expect("client");
    let e = bad.authenticate().await.expect_err("refused");
    texts.push(format!("{e} {e:?} {bad:?}"));
    for t in &texts {
        assert!(!t.contains(password) && !t.contains("wrong-SECRET"), "{t}");
    }
    running.shutdown().await;
}

#[tokio::test]
async fn the_observer_sees_every_exchange() {
    let running = sim(SimConfig::default()).await;
    let seen: Arc<Mutex<Vec<CallRecord>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let client = Client::new(
        config(&running, Credentials::password("demo", "demo")).observer(move |r| {
            sink.lock().expect("lock").push(r.clone());
        }),
    )
    .expect("client");
    client.authenticate().await.expect("auth");
    running.sim().set_faults(Faults {
        fail_next: vec![503],
        ..Faults::default()
    });
    client
        .list_inventory_page(&ListInventory::all())
        .await
        .expect("listing");
    let seen = seen.lock().expect("lock").clone();
    let summary: Vec<_> = seen
        .iter()
        .map(|r| (r.endpoint, r.attempt, r.status, r.error))
        .collect();
    assert_eq!(
        summary,
        vec![
            (Endpoint::Authenticate, 1, Some(200), None),
            (Endpoint::ListInventory, 1, Some(503), Some("server")),
            (Endpoint::ListInventory, 2, Some(200), None),
        ]
    );
    running.shutdown().await;
}

#[tokio::test]
async fn the_rate_limit_spaces_calls() {
    let running = sim(SimConfig::default()).await;
    let client = Client::new(ClientConfig {
        rate_limit_per_sec: 10.0,
        rate_limit_burst: 1,
        ..config(&running, Credentials::password("demo", "demo"))
    })
    .expect("client");
    let started = Instant::now();
    for _ in 0..5 {
        client
            .list_inventory_page(&ListInventory::all())
            .await
            .expect("listing");
    }
    // Six exchanges (authenticate + five), one at once then 10/s: ≥ 0.5 s.
    assert!(
        started.elapsed() >= Duration::from_millis(480),
        "{:?}",
        started.elapsed()
    );
    running.shutdown().await;
}

// ---------------------------------------------------------------------------
// Listings: paging, filters, trust
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_full_last_page_costs_no_extra_request() {
    let running = sim(SimConfig::default()).await;
    seed(&running, &numbers(200), PACKAGE);
    let client = demo(&running);
    client.authenticate().await.expect("auth");
    let snap = client
        .list_all(ListInventory::all())
        .await
        .expect("listing");
    assert_eq!(snap.numbers.len(), 200);
    assert_eq!(snap.pages, 2);
    assert_eq!(count(&running, LIST), 2, "no third, empty page");
    assert!(snap.is_complete());
    running.shutdown().await;
}

fn numbered(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:04}")).collect()
}

fn sorted(snap: &intelepeer::InventorySnapshot) -> Vec<String> {
    let mut got: Vec<String> = snap
        .numbers
        .iter()
        .map(|n| n.endpoint.to_string())
        .collect();
    got.sort();
    got
}

#[tokio::test]
async fn filtered_listings_are_snapshots_of_their_subset_with_the_same_rules() {
    const THIRD: u64 = 11111;
    let running = sim(SimConfig::default()).await;
    let a = numbered("+1800100", 150);
    let b = numbered("+1888100", 30);
    let c = numbered("+1800200", 40);
    seed(&running, &a, PACKAGE);
    seed(&running, &b, OTHER_PACKAGE);
    seed(&running, &c, THIRD);
    let client = demo(&running);
    client.authenticate().await.expect("auth");

    for page_size in [100, 7] {
        // Several packages.
        let before = count(&running, LIST);
        let snap = client
            .list_all(
                ListInventory::all()
                    .package(pkg(PACKAGE))
                    .package(pkg(OTHER_PACKAGE))
                    .page_size(page_size),
            )
            .await
            .expect("two packages");
        let mut want: Vec<String> = a.iter().chain(&b).cloned().collect();
        want.sort();
        assert_eq!(sorted(&snap), want, "page size {page_size}");
        assert!(snap.is_complete(), "{:?}", snap.anomalies);
        let pages = 180u32.div_ceil(page_size);
        assert_eq!(snap.pages, pages, "page size {page_size}");
        assert_eq!(count(&running, LIST) - before, u64::from(pages));
        assert!(
            snap.numbers
                .iter()
                .all(|n| n.package_id != Some(pkg(THIRD)))
        );

        // A prefix.
        let snap = client
            .list_all(ListInventory::all().like("+1800200").page_size(page_size))
            .await
            .expect("like");
        assert_eq!(sorted(&snap), c);
        assert!(snap.is_complete());

        // Packages and a prefix together.
        let snap = client
            .list_all(
                ListInventory::all()
                    .package(pkg(PACKAGE))
                    .package(pkg(THIRD))
                    .like("+180010001")
                    .page_size(page_size),
            )
            .await
            .expect("packages and like");
        assert_eq!(sorted(&snap), a[100..].to_vec());
        assert!(snap.is_complete());

        // An empty subset is a complete, empty listing of one request.
        let before = count(&running, LIST);
        let snap = client
            .list_all(
                ListInventory::all()
                    .package(pkg(OTHER_PACKAGE))
                    .like("+1800")
                    .page_size(page_size),
            )
            .await
            .expect("empty subset");
        assert!(snap.numbers.is_empty() && snap.is_complete());
        assert_eq!(count(&running, LIST) - before, 1);
    }
    running.shutdown().await;
}

#[tokio::test]
async fn several_reservations_are_purchased_in_one_request() {
    let running = sim(SimConfig {
        order_delay: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let client = demo(&running);
    let first = rid("BD929A2A-7F48-11E6-B908-52540029234D");
    let second = rid("0F85813F-7E8B-11E6-B908-52540029234D");
    let pool: Vec<E164> = client
        .search_pool(&SearchPool::in_npas([Npa::new(888).expect("npa")]))
        .await
        .expect("search")
        .numbers
        .into_iter()
        .map(|n| n.endpoint)
        .take(3)
        .collect();
    assert_eq!(pool.len(), 3);
    let wanted = [
        (first.clone(), pool[..2].to_vec()),
        (second.clone(), pool[2..].to_vec()),
    ];
    for (id, numbers) in &wanted {
        client
            .reserve(&ReserveRequest::new(numbers.clone()).reservation_id(id.clone()))
            .await
            .expect("reserve");
    }
    let order = client
        .purchase(
            &PurchaseRequest::by_reservations([first, second], pkg(PACKAGE), 4).options(
                OrderOptions::new()
                    .reference_id("ref-two-reservations")
                    .email("noc@example.com"),
            ),
        )
        .await
        .expect("purchase");
    assert_eq!(count(&running, PURCHASE), 1);
    assert_eq!(order.reference_id.as_deref(), Some("ref-two-reservations"));
    running.sim().complete_pending_orders();
    let snap = client
        .list_all(ListInventory::all())
        .await
        .expect("inventory");
    let mut want: Vec<String> = pool.iter().map(E164::to_string).collect();
    want.sort();
    assert_eq!(sorted(&snap), want);
    assert!(
        snap.numbers
            .iter()
            .all(|n| n.order_id == Some(order.order_id) && n.package_id == Some(pkg(PACKAGE)))
    );
    running.shutdown().await;
}

// ---------------------------------------------------------------------------
// A hostile vendor: a tiny raw HTTP server that answers whatever a test says
// ---------------------------------------------------------------------------

mod raw {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// What the server answers to one request.
    pub enum Reply {
        /// A body with `Content-Length`.
        Body { status: u16, body: Vec<u8> },
        /// A body without `Content-Length`, delimited by closing the connection.
        Unframed { status: u16, body: Vec<u8> },
        /// A 200 whose body never ends (spaces after `{"endpoints":[`), with
        /// this `Content-Length` if given; written until the client goes away.
        Endless { declared: Option<u64> },
    }

    impl Reply {
        pub fn json(status: u16, body: serde_json::Value) -> Self {
            Self::Body {
                status,
                body: body.to_string().into_bytes(),
            }
        }
    }

    pub struct RawVendor {
        pub url: String,
        targets: Arc<Mutex<Vec<String>>>,
        written: Arc<AtomicU64>,
    }

    impl RawVendor {
        /// Request targets (path and query) received, in order.
        pub fn targets(&self) -> Vec<String> {
            self.targets.lock().expect("lock").clone()
        }

        /// Body bytes the server managed to write, all connections together.
        pub fn written(&self) -> u64 {
            self.written.load(Ordering::SeqCst)
        }
    }

    /// The `page` query parameter of a target (1 if absent).
    pub fn page(target: &str) -> u32 {
        target
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix("page="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
    }

    pub fn serve(handler: impl Fn(&str) -> Reply + Send + Sync + 'static) -> RawVendor {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let targets: Arc<Mutex<Vec<String>>> = Arc::default();
        let written: Arc<AtomicU64> = Arc::default();
        let handler = Arc::new(handler);
        let (t, w) = (targets.clone(), written.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (t, w, h) = (t.clone(), w.clone(), handler.clone());
                std::thread::spawn(move || answer(stream, &t, &w, &*h));
            }
        });
        RawVendor {
            url,
            targets,
            written,
        }
    }

    fn answer(
        mut stream: TcpStream,
        targets: &Mutex<Vec<String>>,
        written: &AtomicU64,
        handler: &(dyn Fn(&str) -> Reply + Send + Sync),
    ) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
        // The request head, then its body (if any), then one answer.
        let mut buf = Vec::new();
        let mut byte = [0u8; 1024];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read(&mut byte) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&byte[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buf.len() < head_end + length {
            match stream.read(&mut byte) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&byte[..n]),
            }
        }
        let target = head
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        targets.lock().expect("lock").push(target.clone());
        let status_line = |status: u16| format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
        // Only body bytes are counted.
        fn body(stream: &mut TcpStream, written: &AtomicU64, bytes: &[u8]) -> bool {
            if stream.write_all(bytes).is_err() {
                return false;
            }
            written.fetch_add(bytes.len() as u64, Ordering::SeqCst);
            true
        }
        match handler(&target) {
            Reply::Body { status, body: b } => {
                let head = format!("{}Content-Length: {}\r\n\r\n", status_line(status), b.len());
                let _ = stream.write_all(head.as_bytes());
                body(&mut stream, written, &b);
            }
            Reply::Unframed { status, body: b } => {
                let _ = stream.write_all(format!("{}\r\n", status_line(status)).as_bytes());
                body(&mut stream, written, &b);
            }
            Reply::Endless { declared } => {
                let length = declared
                    .map(|n| format!("Content-Length: {n}\r\n"))
                    .unwrap_or_default();
                let head = format!(
                    "{}Content-Type: application/json\r\n{length}\r\n",
                    status_line(200)
                );
                let _ = stream.write_all(head.as_bytes());
                if !body(&mut stream, written, b"{\"endpoints\":[") {
                    return;
                }
                let spaces = vec![b' '; 64 * 1024];
                // At most 1 GiB, the size that took the operator to 2 GB.
                for _ in 0..16 * 1024 {
                    if !body(&mut stream, written, &spaces) {
                        break;
                    }
                }
            }
        }
        let _ = stream.shutdown(std::net::Shutdown::Both);
    }
}

use raw::Reply;

/// A client of the raw vendor: a static token (no authentication call), no
/// rate limit, one attempt.
fn raw_client(vendor: &raw::RawVendor, adjust: impl FnOnce(&mut ClientConfig)) -> Client {
    let mut cfg = ClientConfig {
        rate_limit_per_sec: 0.0,
        max_attempts: 1,
        timeout: Duration::from_secs(20),
        ..ClientConfig::new(vendor.url.clone(), Credentials::token("raw-token"))
    };
    adjust(&mut cfg);
    Client::new(cfg).expect("client")
}

fn record(i: u64) -> serde_json::Value {
    serde_json::json!({"endpoint": format!("+1800{:07}", i), "packageID": PACKAGE, "accountID": 1004318})
}

fn page_body(records: Vec<serde_json::Value>, has_more: bool) -> Reply {
    Reply::json(
        200,
        serde_json::json!({"endpoints": records, "hasMore": has_more}),
    )
}

#[tokio::test]
async fn a_body_that_declares_a_gigabyte_fails_without_being_read() {
    let vendor = raw::serve(|_| Reply::Endless {
        declared: Some(1 << 30),
    });
    let client = raw_client(&vendor, |_| {});
    let started = Instant::now();
    let err = client
        .list_all(ListInventory::all())
        .await
        .expect_err("too large");
    assert!(
        matches!(
            err,
            Error::BodyTooLarge {
                status: 200,
                limit: DEFAULT_MAX_BODY_BYTES,
                declared: Some(1_073_741_824)
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.metric_label(), "body_too_large");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(vendor.targets().len(), 1, "not retried");
    running_out(&vendor);
}

/// The server stops writing soon after the client gives up: far less than the
/// gigabyte it offered.
fn running_out(vendor: &raw::RawVendor) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = vendor.written();
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let now = vendor.written();
        if now == last || Instant::now() > deadline {
            break;
        }
        last = now;
    }
    assert!(
        vendor.written() < 64 << 20,
        "{} bytes written",
        vendor.written()
    );
}

#[tokio::test]
async fn an_endless_body_without_a_length_is_abandoned_at_the_cap() {
    let vendor = raw::serve(|_| Reply::Endless { declared: None });
    let client = raw_client(&vendor, |_| {});
    let err = client
        .list_all(ListInventory::all())
        .await
        .expect_err("too large");
    assert!(
        matches!(
            err,
            Error::BodyTooLarge {
                status: 200,
                declared: None,
                ..
            }
        ),
        "{err:?}"
    );
    running_out(&vendor);
}

#[tokio::test]
async fn an_empty_page_padded_past_the_cap_is_never_an_empty_listing() {
    let mut padded = br#"{"endpoints":[],"hasMore":false}"#.to_vec();
    padded.resize(2 * 1024 * 1024, b' ');
    let framed = padded.clone();
    let vendor = raw::serve(move |_| Reply::Body {
        status: 200,
        body: framed.clone(),
    });
    let err = raw_client(&vendor, |_| {})
        .list_all(ListInventory::all())
        .await
        .expect_err("too large");
    assert!(matches!(err, Error::BodyTooLarge { .. }), "{err:?}");

    let vendor = raw::serve(move |_| Reply::Unframed {
        status: 200,
        body: padded.clone(),
    });
    let err = raw_client(&vendor, |_| {})
        .list_all(ListInventory::all())
        .await
        .expect_err("too large");
    assert!(
        matches!(err, Error::BodyTooLarge { declared: None, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_body_cap_is_configurable_and_applies_to_every_endpoint() {
    // A real 101-record page is about 9 KB here: under the default, over a
    // 4 KB cap.
    let vendor = raw::serve(|target| {
        if target.starts_with("/_rest/v4/my/tf/orders") {
            let mut body = br#"{"orderID":1}"#.to_vec();
            body.resize(8 * 1024, b' ');
            Reply::Body { status: 200, body }
        } else {
            page_body((0..101).map(record).collect(), raw::page(target) < 2)
        }
    });
    let fine = raw_client(&vendor, |_| {});
    fine.list_inventory_page(&ListInventory::all())
        .await
        .expect("a normal page under the default cap");
    let small = raw_client(&vendor, |c| c.max_body_bytes = 4 * 1024);
    let err = small
        .list_inventory_page(&ListInventory::all())
        .await
        .expect_err("over a 4 KB cap");
    assert!(
        matches!(err, Error::BodyTooLarge { limit: 4096, .. }),
        "{err:?}"
    );
    // A purchase answered with a body over the cap: an error, sent once (the
    // vendor may have acted: never retried).
    let small = raw_client(&vendor, |c| {
        c.max_body_bytes = 4 * 1024;
        c.max_attempts = 4;
    });
    let before = vendor.targets().len();
    let err = small
        .purchase(&PurchaseRequest::by_quantity(1, pkg(PACKAGE), 4))
        .await
        .expect_err("over the cap");
    assert!(matches!(err, Error::BodyTooLarge { .. }), "{err:?}");
    assert!(!err.is_retryable_for_mutation());
    assert_eq!(vendor.targets().len() - before, 1);
}

#[tokio::test]
async fn has_more_lies_are_anomalies_and_reading_goes_on_while_the_vendor_says_more() {
    // pageSize 2: page 1 has the extra record but says no more; page 2 says
    // more but has no extra record; page 3 ends.
    let vendor = raw::serve(|target| match raw::page(target) {
        1 => page_body(vec![record(0), record(1), record(2)], false),
        2 => page_body(vec![record(2), record(3)], true),
        _ => page_body(vec![record(4)], false),
    });
    let client = raw_client(&vendor, |_| {});
    let snap = client
        .list_all(ListInventory::all().page_size(2))
        .await
        .expect("listing");
    assert_eq!(snap.numbers.len(), 5, "nothing lost");
    assert_eq!(snap.pages, 3);
    assert_eq!(vendor.targets().len(), 3);
    assert!(!snap.is_complete());
    assert_eq!(
        snap.anomalies,
        vec![
            Anomaly::ExtraRecordWithoutHasMore {
                page: 1,
                records: 3,
                page_size: 2
            },
            Anomaly::HasMoreWithoutExtraRecord {
                page: 2,
                records: 2,
                page_size: 2
            },
        ]
    );
}

#[tokio::test]
async fn garbled_and_conflicting_records_make_the_listing_incomplete() {
    // pageSize 3; the extra record of page 1 reappears on page 2 (normal).
    let vendor = raw::serve(|target| match raw::page(target) {
        1 => page_body(
            vec![
                record(0),
                serde_json::json!({"endpoint": "18775550302", "packageID": PACKAGE}),
                serde_json::json!({"endpoint": "+18005550303"}),
                record(1),
            ],
            true,
        ),
        _ => page_body(
            vec![
                record(1),
                serde_json::json!({"endpoint": "+18000000000", "packageID": OTHER_PACKAGE, "accountID": 1004318}),
                serde_json::json!({"endpoint": "+13035550100", "packageID": PACKAGE}),
            ],
            false,
        ),
    });
    let snap = raw_client(&vendor, |_| {})
        .list_all(ListInventory::all().page_size(3))
        .await
        .expect("listing");
    assert!(!snap.is_complete());
    assert_eq!(
        snap.anomalies,
        vec![
            Anomaly::MissingPackage {
                page: 1,
                number: e164("+18005550303")
            },
            Anomaly::MalformedEndpoint {
                page: 1,
                index: 1,
                endpoint: "18775550302".into()
            },
            Anomaly::ConflictingDuplicate {
                number: e164("+18000000000"),
                first_page: 1,
                first: intelepeer::RecordFields {
                    package_id: Some(pkg(PACKAGE)),
                    account_id: Some(1004318),
                    order_id: None
                },
                page: 2,
                second: intelepeer::RecordFields {
                    package_id: Some(pkg(OTHER_PACKAGE)),
                    account_id: Some(1004318),
                    order_id: None
                },
            },
        ]
    );
    let labels: Vec<&str> = snap.anomalies.iter().map(Anomaly::label).collect();
    assert_eq!(
        labels,
        [
            "missing_package",
            "malformed_endpoint",
            "conflicting_duplicate"
        ]
    );
    assert_eq!(
        snap.anomaly_counts.get(&AnomalyKind::MissingPackage),
        Some(&1)
    );
    let got: Vec<String> = snap
        .numbers
        .iter()
        .map(|n| n.endpoint.to_string())
        .collect();
    assert_eq!(
        got,
        ["+18000000001"],
        "only the understood, consistent record"
    );
    assert_eq!(
        snap.doubtful,
        vec![e164("+18005550303"), e164("+18000000000")]
    );
    assert_eq!(snap.not_toll_free, ["+13035550100"]);
    assert_eq!(snap.duplicates, 1, "the documented overlap");
    for a in &snap.anomalies {
        assert!(!a.to_string().contains('\n'), "{a}");
    }
}

#[tokio::test]
async fn endless_fresh_pages_stop_at_the_bound_of_the_largest_account() {
    let vendor = raw::serve(|target| {
        let p = u64::from(raw::page(target));
        page_body(((p - 1) * 100..p * 100 + 1).map(record).collect(), true)
    });
    let client = raw_client(&vendor, |c| c.max_account_numbers = 500);
    let err = client
        .list_all(ListInventory::all())
        .await
        .expect_err("never a listing");
    assert!(
        matches!(
            err,
            Error::Paging {
                source: PagingError::TooManyPages { max_pages: 15 }
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        vendor.targets().len(),
        15,
        "⌈500/100⌉ + 10 pages, then stop"
    );
    assert!(!err.to_string().contains('\n'));
}

#[tokio::test]
async fn a_page_that_repeats_itself_is_an_error_not_a_loop() {
    let vendor = raw::serve(|_| page_body((0..101).map(record).collect(), true));
    let err = raw_client(&vendor, |_| {})
        .list_all(ListInventory::all())
        .await
        .expect_err("loop");
    assert!(
        matches!(
            err,
            Error::Paging {
                source: PagingError::NoProgress { page: 2 }
            }
        ),
        "{err:?}"
    );
    assert_eq!(vendor.targets().len(), 2);
}

#[tokio::test]
async fn a_proxy_error_page_becomes_a_one_line_error() {
    let html = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
    let body = html.as_bytes().to_vec();
    let vendor = raw::serve(move |target| {
        let status = if target.contains("orders") { 404 } else { 502 };
        Reply::Body {
            status,
            body: body.clone(),
        }
    });
    let client = raw_client(&vendor, |_| {});
    let err = client
        .list_all(ListInventory::all())
        .await
        .expect_err("502");
    let text = err.to_string();
    assert!(matches!(err, Error::Server { status: 502, .. }), "{err:?}");
    let summary = text
        .strip_prefix("IntelePeer server error (502): ")
        .expect("status first");
    assert!(
        summary.starts_with(&format!(
            "non-JSON body of {} bytes: <html> <head><title>502 Bad Gateway</title></head> <body>",
            html.len()
        )),
        "{text}"
    );
    assert!(summary.ends_with('…'), "{text}");
    assert!(summary.chars().count() <= 120, "{summary}");
    let err = client
        .purchase(&PurchaseRequest::by_quantity(1, pkg(PACKAGE), 4))
        .await
        .expect_err("404");
    assert!(matches!(err, Error::Http { status: 404, .. }), "{err:?}");
    assert!(!err.to_string().contains('\n'), "{err}");
    // A huge error body is read only as far as needed to summarise it.
    let vendor = raw::serve(|_| Reply::Body {
        status: 503,
        body: vec![b'<'; 8 << 20],
    });
    let err = raw_client(&vendor, |_| {})
        .list_inventory_page(&ListInventory::all())
        .await
        .expect_err("503");
    assert!(
        err.to_string().contains("non-JSON body of 8,388,608 bytes"),
        "{err}"
    );
    assert!(err.is_retryable(), "still a 503");
}
