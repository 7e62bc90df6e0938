//! The client against the simulator (`intelepeer-sim`), in process: every
//! endpoint, paging at scale, re-authentication, retries, timeouts, and the
//! mutation-safety rules, proven with the simulator's request counts and ledger.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use intelepeer::{
    CallRecord, ChangePackageRequest, Client, ClientConfig, Credentials, DisconnectRequest, E164,
    Endpoint, Error, ListInventory, Npa, PackageId, PurchaseRequest, ReservationId, ReserveRequest,
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
            pages + u64::from(2500 % page_size == 0)
        );
        assert_eq!(count(&running, LIST) - before, u64::from(snap.pages));
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
