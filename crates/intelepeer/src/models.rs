//! Wire models: the request builders and the response records of every endpoint
//! in the vendor's reference, independent of any HTTP client.
//!
//! Requests are builders that are themselves `Serialize` (octocrab-style): a query
//! builder serializes to its query string pairs, a body builder to its JSON body.
//!
//! Responses are parsed *strictly where it matters* and *leniently where the
//! reference is inconsistent*:
//!
//! - A number (`endpoint`) must parse as a toll-free [`E164`]; an order must have an
//!   `orderID`; a reservation must have a `reservationID`; a page must have an
//!   `endpoints` array (a missing array would read as "the account owns nothing",
//!   which could lead to buying twice).
//! - Everything else is lenient: `null` anywhere, `batchIDs` as an integer or an
//!   array (or `batchID`), `created` as a string or an integer, numeric IDs as
//!   strings, booleans as `0`/`1`, unknown fields ignored.
//! - A record of a listing whose `endpoint` is not a valid toll-free E.164 does not
//!   fail the page: it is kept aside as a [`SkippedRecord`] with a typed
//!   [`SkipReason`] and its position in the page. The pager
//!   ([`crate::pages::Pager`]) decides what it means: a valid E.164 number
//!   outside the toll-free area codes is understood (it can belong to no set);
//!   anything else makes the listing incomplete
//!   ([`crate::InventorySnapshot::is_complete`]).

use jiff::Timestamp;
use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::types::{E164, Npa, OrderId, PackageId, ReservationId};

/// The largest `pageSize` the vendor accepts (and its default).
pub const MAX_PAGE_SIZE: u32 = 100;

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

/// Query of `GET /_rest/v4/carrier/tf`: search the pool of purchasable numbers.
///
/// The vendor wants `like` or `npa` (not both: 409 "mutually exclusive"; neither:
/// 422). `sequential` queries ignore `page` and always answer `hasMore: false`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchPool {
    /// All or part of a number to search for, e.g. `+1800` (a starts-with match).
    pub like: Option<String>,
    /// Area codes to search in (`npa[]`).
    pub npa: Vec<Npa>,
    /// Which page (from 1).
    pub page: Option<u32>,
    /// How many numbers per page.
    pub page_size: Option<u32>,
    /// Whether the numbers must be contiguous.
    pub sequential: Option<bool>,
}

impl SearchPool {
    /// A search in the given area codes.
    pub fn in_npas(npas: impl IntoIterator<Item = Npa>) -> Self {
        Self {
            npa: npas.into_iter().collect(),
            ..Self::default()
        }
    }

    /// A search for numbers starting with `prefix` (e.g. `+1888555`).
    pub fn like(prefix: impl Into<String>) -> Self {
        Self {
            like: Some(prefix.into()),
            ..Self::default()
        }
    }

    /// Asks for contiguous numbers.
    pub fn sequential(mut self, sequential: bool) -> Self {
        self.sequential = Some(sequential);
        self
    }

    /// Sets the page (from 1).
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }

    /// Sets the page size.
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size);
        self
    }

    /// The query string pairs, in a stable order. `+` is encoded as `%2B` by the
    /// URL encoder, as the reference requires.
    pub fn query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(like) = &self.like {
            q.push(("like", like.clone()));
        }
        for npa in &self.npa {
            q.push(("npa[]", npa.to_string()));
        }
        if let Some(page) = self.page {
            q.push(("page", page.to_string()));
        }
        if let Some(size) = self.page_size {
            q.push(("pageSize", size.to_string()));
        }
        if let Some(seq) = self.sequential {
            q.push(("sequential", flag(seq)));
        }
        q
    }
}

impl Serialize for SearchPool {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_pairs(&self.query_pairs(), s)
    }
}

/// Query of `GET /_rest/v4/my/tf`: the account's inventory.
///
/// `page_size` is clamped to `1..=100` (the vendor's bounds); the default is 100.
/// The listing stream (`Client::inventory`) manages `page` itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListInventory {
    /// Only numbers with this label.
    pub label: Option<String>,
    /// Only numbers starting with this string (e.g. `+1800`).
    pub like: Option<String>,
    /// Only numbers in these packages (`packageID[]`).
    pub package_ids: Vec<PackageId>,
    /// Which page (from 1).
    pub page: Option<u32>,
    /// Records per page, 1..=100.
    pub page_size: u32,
    /// Only SmartFlows-enabled (`true`) or not enabled (`false`) numbers.
    pub has_cpaas: Option<bool>,
}

impl Default for ListInventory {
    fn default() -> Self {
        Self {
            label: None,
            like: None,
            package_ids: Vec::new(),
            page: None,
            page_size: MAX_PAGE_SIZE,
            has_cpaas: None,
        }
    }
}

impl ListInventory {
    /// The whole inventory, 100 records per page.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only numbers with this label.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Only numbers starting with this string.
    pub fn like(mut self, like: impl Into<String>) -> Self {
        self.like = Some(like.into());
        self
    }

    /// Adds a package to the filter.
    pub fn package(mut self, package: PackageId) -> Self {
        self.package_ids.push(package);
        self
    }

    /// Sets the page (from 1).
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }

    /// Sets the page size, clamped to 1..=100.
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.clamp(1, MAX_PAGE_SIZE);
        self
    }

    /// Only SmartFlows-enabled numbers (`true`) or only the others (`false`).
    pub fn has_cpaas(mut self, has_cpaas: bool) -> Self {
        self.has_cpaas = Some(has_cpaas);
        self
    }

    /// The effective page size (clamped to 1..=100).
    pub fn effective_page_size(&self) -> u32 {
        self.page_size.clamp(1, MAX_PAGE_SIZE)
    }

    /// The query string pairs, in a stable order.
    pub fn query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(label) = &self.label {
            q.push(("label", label.clone()));
        }
        if let Some(like) = &self.like {
            q.push(("like", like.clone()));
        }
        for p in &self.package_ids {
            q.push(("packageID[]", p.to_string()));
        }
        if let Some(page) = self.page {
            q.push(("page", page.to_string()));
        }
        q.push(("pageSize", self.effective_page_size().to_string()));
        if let Some(c) = self.has_cpaas {
            q.push(("hasCpaas", flag(c)));
        }
        q
    }
}

impl Serialize for ListInventory {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_pairs(&self.query_pairs(), s)
    }
}

/// Body of `POST /_rest/v4/carrier/tf/reservations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReserveRequest {
    /// The numbers to reserve.
    pub endpoints: Vec<E164>,
    /// The client-chosen reservation ID. The operator always chooses it, so that
    /// a crash between "reserve" and "record" can be resolved.
    #[serde(rename = "reservationID", skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<ReservationId>,
}

impl ReserveRequest {
    /// Reserves these numbers under a vendor-chosen ID.
    pub fn new(endpoints: impl IntoIterator<Item = E164>) -> Self {
        Self {
            endpoints: endpoints.into_iter().collect(),
            reservation_id: None,
        }
    }

    /// Uses a client-chosen reservation ID.
    pub fn reservation_id(mut self, id: ReservationId) -> Self {
        self.reservation_id = Some(id);
        self
    }
}

/// A number as the purchase endpoint's `endpoints` array wants it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedNumber {
    /// Always `"1"`.
    pub country_code: String,
    /// The ten national digits.
    pub number: String,
}

impl From<&E164> for OrderedNumber {
    fn from(n: &E164) -> Self {
        Self {
            country_code: "1".to_owned(),
            number: n.national().to_owned(),
        }
    }
}

/// The optional fields every order (purchase, change package, disconnect)
/// accepts, flattened into the order's JSON body exactly as the reference
/// names them: `email`, `notes`, `referenceID`. Unset fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OrderOptions {
    /// An address the vendor notifies about the order's status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Notes for the fulfilment of the order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The caller's reference for this order; the reference requires it
    /// non-empty. The operator always sets it, so that an order whose answer
    /// was lost can be found in the vendor's portal.
    #[serde(rename = "referenceID", skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
}

impl OrderOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the notification address.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Sets the order notes.
    pub fn notes(mut self, notes: impl Into<String>) -> Self {
        self.notes = Some(notes.into());
        self
    }

    /// Sets the caller's reference ID.
    pub fn reference_id(mut self, reference_id: impl Into<String>) -> Self {
        self.reference_id = Some(reference_id.into());
        self
    }
}

/// Body of `POST /_rest/v4/my/tf/orders`: purchase numbers into a package.
///
/// Built by reservations (what the operator does: it never buys what it has not
/// reserved), by quantity, or by reserved numbers. Reservation IDs are sent as
/// `"reservationID": [..]`, an array even for one ID, like the reference's
/// worked example "Order by Reservations" (its field table says
/// `reservations`; the vendor accepts both).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseRequest {
    /// Reservations whose numbers to order.
    #[serde(rename = "reservationID", skip_serializing_if = "Vec::is_empty")]
    pub reservation_ids: Vec<ReservationId>,
    /// Reserved numbers to order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<OrderedNumber>,
    /// How many numbers to order (order by quantity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    /// The package the numbers go into.
    #[serde(rename = "packageID")]
    pub package_id: PackageId,
    /// The service area, 1..=5.
    pub service_area: u8,
    /// Provision to the customer's RespOrg instead of the carrier's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub my_resp_org: Option<bool>,
    /// `email`, `notes`, `referenceID`.
    #[serde(flatten)]
    pub options: OrderOptions,
}

impl PurchaseRequest {
    fn base(package_id: PackageId, service_area: u8) -> Self {
        Self {
            reservation_ids: Vec::new(),
            endpoints: Vec::new(),
            quantity: None,
            package_id,
            service_area,
            my_resp_org: None,
            options: OrderOptions::default(),
        }
    }

    /// Orders the numbers of these reservations.
    pub fn by_reservations(
        reservations: impl IntoIterator<Item = ReservationId>,
        package_id: PackageId,
        service_area: u8,
    ) -> Self {
        Self {
            reservation_ids: reservations.into_iter().collect(),
            ..Self::base(package_id, service_area)
        }
    }

    /// Orders `quantity` numbers of the vendor's choosing.
    pub fn by_quantity(quantity: u32, package_id: PackageId, service_area: u8) -> Self {
        Self {
            quantity: Some(quantity),
            ..Self::base(package_id, service_area)
        }
    }

    /// Orders these (reserved) numbers.
    pub fn by_numbers<'a>(
        numbers: impl IntoIterator<Item = &'a E164>,
        package_id: PackageId,
        service_area: u8,
    ) -> Self {
        Self {
            endpoints: numbers.into_iter().map(OrderedNumber::from).collect(),
            ..Self::base(package_id, service_area)
        }
    }

    /// Provision to the customer's own RespOrg.
    pub fn my_resp_org(mut self, mine: bool) -> Self {
        self.my_resp_org = Some(mine);
        self
    }
}

/// Body of `POST /_rest/v4/my/tf/package`: move owned numbers to another package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangePackageRequest {
    /// The target package.
    #[serde(rename = "packageID")]
    pub package_id: PackageId,
    /// The numbers to move.
    pub endpoints: Vec<E164>,
    /// `email`, `notes`, `referenceID`.
    #[serde(flatten)]
    pub options: OrderOptions,
}

impl ChangePackageRequest {
    /// Moves these numbers into `package_id`.
    pub fn new(package_id: PackageId, endpoints: impl IntoIterator<Item = E164>) -> Self {
        Self {
            package_id,
            endpoints: endpoints.into_iter().collect(),
            options: OrderOptions::default(),
        }
    }
}

/// Body of `POST /_rest/v4/my/tf/disconnect`: give numbers back (irreversible).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisconnectRequest {
    /// The numbers to disconnect.
    pub endpoints: Vec<E164>,
    /// `email`, `notes`, `referenceID`.
    #[serde(flatten)]
    pub options: OrderOptions,
}

impl DisconnectRequest {
    /// Disconnects these numbers.
    pub fn new(endpoints: impl IntoIterator<Item = E164>) -> Self {
        Self {
            endpoints: endpoints.into_iter().collect(),
            options: OrderOptions::default(),
        }
    }
}

/// The `email`, `notes` and `referenceID` builders of the three order bodies,
/// all delegating to their [`OrderOptions`].
macro_rules! order_option_builders {
    ($($request:ty),+) => {$(
        impl $request {
            /// Replaces the order options (`email`, `notes`, `referenceID`).
            pub fn options(mut self, options: OrderOptions) -> Self {
                self.options = options;
                self
            }

            /// Sets the notification address.
            pub fn email(mut self, email: impl Into<String>) -> Self {
                self.options = self.options.email(email);
                self
            }

            /// Sets the order notes.
            pub fn notes(mut self, notes: impl Into<String>) -> Self {
                self.options = self.options.notes(notes);
                self
            }

            /// Sets the caller's reference ID.
            pub fn reference_id(mut self, reference_id: impl Into<String>) -> Self {
                self.options = self.options.reference_id(reference_id);
                self
            }
        }
    )+};
}

order_option_builders!(PurchaseRequest, ChangePackageRequest, DisconnectRequest);

// ---------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------

/// Geographical information about a number. Every field may be `null`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Geo {
    /// The city.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub city: Option<String>,
    /// The ISO-3166 country code, e.g. `US`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub country: Option<String>,
    /// The two-letter state or province, usually empty.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub state_province: Option<String>,
}

/// One routing configuration of a number's media (an `rx` or one `tx` entry).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MediaRoute {
    /// E.g. `IntelePeer`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub provider: Option<String>,
    /// E.g. `SIP`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub service: Option<String>,
    /// Namespace, e.g. `intelepeer.sip`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub ns: Option<String>,
    /// Free-form configuration, e.g. `{"webhook": "cpaas://api.intelepeer.com"}`.
    #[serde(default)]
    pub config: Value,
}

/// The receiving and sending configuration of one medium (SMS or voice).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MediaChannel {
    /// Receiving configuration.
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub rx: Option<MediaRoute>,
    /// Sending configurations (`null` reads as empty).
    #[serde(default, deserialize_with = "lenient::list_of")]
    pub tx: Vec<MediaRoute>,
}

/// A number's technical configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Media {
    /// SMS configuration, if any.
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub sms: Option<MediaChannel>,
    /// Voice configuration, if any.
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub voice: Option<MediaChannel>,
}

/// A purchasable number from the pool (search result or reserved number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolNumber {
    /// The number.
    #[serde(deserialize_with = "lenient::e164")]
    pub endpoint: E164,
    /// Where it is.
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub geo: Option<Geo>,
}

/// A number the account owns (a record of `GET /my/tf`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryNumber {
    /// The number; a record whose number is not a toll-free E.164 is skipped.
    #[serde(deserialize_with = "lenient::e164")]
    pub endpoint: E164,
    /// The package (route profile) it sits in; `None` if the vendor sent none.
    #[serde(
        rename = "packageID",
        default,
        deserialize_with = "lenient::opt_package_id"
    )]
    pub package_id: Option<PackageId>,
    /// The account it belongs to.
    #[serde(rename = "accountID", default, deserialize_with = "lenient::opt_u64")]
    pub account_id: Option<u64>,
    /// The order that purchased or ported it.
    #[serde(
        rename = "orderID",
        default,
        deserialize_with = "lenient::opt_order_id"
    )]
    pub order_id: Option<OrderId>,
    /// SmartFlows status.
    #[serde(rename = "hasCpaas", default, deserialize_with = "lenient::flag")]
    pub has_cpaas: bool,
    /// The number's label.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub label: Option<String>,
    /// Short code or long code, e.g. `LONG`.
    #[serde(rename = "type", default, deserialize_with = "lenient::opt_string")]
    pub number_type: Option<String>,
    /// Where it is (boxed, like `media`: rarely read, and a listing holds
    /// up to 100,000 records).
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub geo: Option<Box<Geo>>,
    /// SMS and voice configuration.
    #[serde(default, deserialize_with = "lenient::opt_object")]
    pub media: Option<Box<Media>>,
}

/// Longest raw endpoint text kept from an unreadable record (characters): a
/// garbled listing must not put megabytes into logs or conditions.
pub const MAX_RAW_ENDPOINT_CHARS: usize = 40;

/// A record of a listing that could not be read as a toll-free number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRecord {
    /// Its position in the page's `endpoints` array, from 0.
    pub index: usize,
    /// The raw `endpoint` value, if there was one, on one line and cut to
    /// [`MAX_RAW_ENDPOINT_CHARS`] (a JSON number is written as its digits).
    pub endpoint: Option<String>,
    /// Why it is not a toll-free number.
    pub reason: SkipReason,
}

/// Why a listing record is not a toll-free number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// A valid E.164 number (`+1` and ten digits) outside the toll-free area
    /// codes: understood, and it can belong to no set.
    NotTollFree {
        /// Its area code.
        npa: u16,
    },
    /// The record has no `endpoint`, or it is `null`.
    MissingEndpoint,
    /// The endpoint is not E.164: `18775550302` without `+`, too few digits,
    /// garbage, or not a string or number at all.
    NotE164,
    /// The record itself could not be read (e.g. it is not a JSON object).
    Unreadable {
        /// What failed, on one line and shortened.
        message: String,
    },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotTollFree { npa } => write!(
                f,
                "area code {npa} is not toll-free (800, 833, 844, 855, 866, 877, 888)"
            ),
            Self::MissingEndpoint => f.write_str("the record has no endpoint"),
            Self::NotE164 => f.write_str("the endpoint is not E.164 ('+1' and 10 digits)"),
            Self::Unreadable { message } => write!(f, "unreadable record: {message}"),
        }
    }
}

/// One page of `GET /_rest/v4/carrier/tf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage {
    /// The purchasable numbers found.
    pub numbers: Vec<PoolNumber>,
    /// Whether the next page has more (always false for sequential queries).
    pub has_more: bool,
    /// Records that were not valid toll-free numbers.
    pub skipped: Vec<SkippedRecord>,
}

impl<'de> Deserialize<'de> for SearchPage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawPage::deserialize(d)?;
        let (numbers, skipped) = split_records(raw.endpoints);
        Ok(Self {
            numbers,
            has_more: raw.has_more,
            skipped,
        })
    }
}

/// One page of `GET /_rest/v4/my/tf`, as the vendor sent it (before the
/// `pageSize + 1` quirk is handled by [`crate::pages::Pager`]).
#[derive(Debug, Clone, PartialEq)]
pub struct InventoryPage {
    /// The numbers on this page.
    pub numbers: Vec<InventoryNumber>,
    /// Whether the vendor says more records exist.
    pub has_more: bool,
    /// Records that were not valid toll-free numbers.
    pub skipped: Vec<SkippedRecord>,
}

impl InventoryPage {
    /// How many records the vendor sent (numbers and skipped records).
    pub fn record_count(&self) -> usize {
        self.numbers.len() + self.skipped.len()
    }
}

impl<'de> Deserialize<'de> for InventoryPage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawPage::deserialize(d)?;
        let (numbers, skipped) = split_records(raw.endpoints);
        Ok(Self {
            numbers,
            has_more: raw.has_more,
            skipped,
        })
    }
}

/// The wire shape of both listings. `endpoints` is required: a page without it
/// is a decode error, never an empty page.
#[derive(Deserialize)]
struct RawPage {
    endpoints: Vec<Value>,
    #[serde(rename = "hasMore", default, deserialize_with = "lenient::flag")]
    has_more: bool,
}

/// Splits a page's records into the ones that read as `T` and the others,
/// each classified by [`classify_unreadable`].
fn split_records<T: DeserializeOwned>(values: Vec<Value>) -> (Vec<T>, Vec<SkippedRecord>) {
    let mut ok = Vec::with_capacity(values.len());
    let mut skipped = Vec::new();
    for (index, v) in values.into_iter().enumerate() {
        // Reading the record consumes it: keep what would explain a failure
        // (its endpoint, or what it is instead of an object), and explain
        // only records that fail.
        let shape = match &v {
            Value::Object(map) => Ok(map.get("endpoint").cloned()),
            other => Err(json_kind(other)),
        };
        match T::deserialize(v) {
            Ok(t) => ok.push(t),
            Err(e) => {
                let (endpoint, reason) = classify_unreadable(shape);
                let reason = reason.unwrap_or_else(|| SkipReason::Unreadable {
                    message: crate::error::one_line(&e.to_string(), 120),
                });
                skipped.push(SkippedRecord {
                    index,
                    endpoint,
                    reason,
                });
            }
        }
    }
    (ok, skipped)
}

/// The raw endpoint of a record (shortened) and, when its endpoint alone
/// explains why it is not a toll-free number, that reason. `None` as the
/// reason means the endpoint is fine and something else failed.
/// `shape` is the record's `endpoint` member, or the kind of JSON value the
/// record is when it is not an object.
fn classify_unreadable(
    shape: Result<Option<Value>, &'static str>,
) -> (Option<String>, Option<SkipReason>) {
    let endpoint = match shape {
        Ok(endpoint) => endpoint,
        Err(kind) => {
            let message = format!("the record is {kind}, not an object");
            return (None, Some(SkipReason::Unreadable { message }));
        }
    };
    let raw = match &endpoint {
        None | Some(Value::Null) => return (None, Some(SkipReason::MissingEndpoint)),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => {
            let shown = crate::error::one_line(&other.to_string(), MAX_RAW_ENDPOINT_CHARS);
            return (Some(shown), Some(SkipReason::NotE164));
        }
    };
    let shown = crate::error::one_line(&raw, MAX_RAW_ENDPOINT_CHARS);
    // The same reading as `lenient::e164`: a JSON number is `+` and its digits.
    let canonical = match endpoint {
        Some(Value::Number(_)) => format!("+{raw}"),
        _ => raw,
    };
    let reason = match E164::parse(&canonical) {
        Ok(_) => None,
        Err(crate::types::ParseError::NotTollFree { npa, .. }) => {
            Some(SkipReason::NotTollFree { npa })
        }
        Err(_) => Some(SkipReason::NotE164),
    };
    (Some(shown), reason)
}

/// A reservation (`POST /_rest/v4/carrier/tf/reservations` answers a list of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// The reservation ID (the client's choice, if it made one).
    #[serde(rename = "reservationID")]
    pub reservation_id: ReservationId,
    /// When the reservation expires (30 minutes in the reference's example).
    #[serde(
        rename = "expirationDate",
        default,
        deserialize_with = "lenient::opt_timestamp"
    )]
    pub expiration_date: Option<Timestamp>,
    /// When the reservation was made.
    #[serde(
        rename = "reservedDate",
        default,
        deserialize_with = "lenient::opt_timestamp"
    )]
    pub reserved_date: Option<Timestamp>,
    /// The reserved numbers.
    #[serde(rename = "endpoints", default)]
    pub numbers: Vec<PoolNumber>,
}

/// Parses the reservation endpoint's answer: a JSON array of reservations in the
/// reference, a single object accepted too.
pub fn parse_reservations(body: &[u8]) -> Result<Vec<Reservation>, serde_json::Error> {
    match serde_json::from_slice::<Value>(body)? {
        Value::Array(items) => items.into_iter().map(Reservation::deserialize).collect(),
        Value::Object(map) => Ok(vec![Reservation::deserialize(Value::Object(map))?]),
        other => Err(serde_json::Error::custom(format!(
            "expected a reservation array, got {}",
            json_kind(&other)
        ))),
    }
}

/// An order: the answer of purchase, change package and disconnect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The order ID — what the operator records in status.
    #[serde(rename = "orderID", deserialize_with = "lenient::order_id")]
    pub order_id: OrderId,
    /// The account, if applicable.
    #[serde(rename = "accountID", default, deserialize_with = "lenient::opt_u64")]
    pub account_id: Option<u64>,
    /// The batches of the order (`batchIDs` as an integer or an array, or `batchID`).
    #[serde(
        rename = "batchIDs",
        alias = "batchID",
        default,
        deserialize_with = "lenient::u64_list"
    )]
    pub batch_ids: Vec<u64>,
    /// When the order completed (raw ISO 8601; `None` while pending).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub completed: Option<String>,
    /// When the order was placed (raw; the reference shows a string and calls it
    /// an integer in one table).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub created: Option<String>,
    /// The package, if applicable.
    #[serde(
        rename = "packageID",
        default,
        deserialize_with = "lenient::opt_package_id"
    )]
    pub package_id: Option<PackageId>,
    /// The caller's reference ID, if it gave one.
    #[serde(
        rename = "referenceID",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    pub reference_id: Option<String>,
    /// Where the order came from: `API` or `Portal`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub source: Option<String>,
    /// The order status, e.g. `PENDING`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    /// The order type: `TF Purchase`, `Change Package`, `TF Return`.
    #[serde(rename = "type", default, deserialize_with = "lenient::opt_string")]
    pub order_type: Option<String>,
}

impl Order {
    /// `created` as a timestamp, if it is ISO 8601 or Unix seconds.
    pub fn created_at(&self) -> Option<Timestamp> {
        self.created.as_deref().and_then(lenient::parse_time)
    }

    /// `completed` as a timestamp, if present and readable.
    pub fn completed_at(&self) -> Option<Timestamp> {
        self.completed.as_deref().and_then(lenient::parse_time)
    }
}

/// The body of an error answer: `{"code": 409, "error": "..."}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error code (the HTTP status).
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub code: Option<u64>,
    /// The error description.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub error: Option<String>,
}

fn flag(b: bool) -> String {
    if b { "1" } else { "0" }.to_owned()
}

fn serialize_pairs<S: Serializer>(
    pairs: &[(&'static str, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    // A map with repeated keys (`npa[]`) is exactly what a URL encoder wants.
    let mut map = s.serialize_map(Some(pairs.len()))?;
    for (k, v) in pairs {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Deserializers that accept the vendor's inconsistencies.
mod lenient {
    use super::*;

    pub fn parse_time(s: &str) -> Option<Timestamp> {
        let s = s.trim();
        if let Ok(t) = s.parse::<Timestamp>() {
            return Some(t);
        }
        s.parse::<i64>()
            .ok()
            .and_then(|secs| Timestamp::from_second(secs).ok())
    }

    fn as_u64(v: &Value) -> Option<u64> {
        match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        })
    }

    pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Ok(as_u64(&Value::deserialize(d)?))
    }

    pub fn opt_package_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PackageId>, D::Error> {
        Ok(as_u64(&Value::deserialize(d)?).and_then(|n| PackageId::new(n).ok()))
    }

    pub fn opt_order_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OrderId>, D::Error> {
        Ok(as_u64(&Value::deserialize(d)?).map(OrderId))
    }

    pub fn order_id<'de, D: Deserializer<'de>>(d: D) -> Result<OrderId, D::Error> {
        let v = Value::deserialize(d)?;
        as_u64(&v)
            .map(OrderId)
            .ok_or_else(|| D::Error::custom(format!("orderID must be an integer, got {v}")))
    }

    pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Bool(b) => b,
            Value::Number(n) => n.as_u64().is_some_and(|n| n != 0),
            Value::String(s) => matches!(s.trim(), "1" | "true" | "TRUE" | "True"),
            _ => false,
        })
    }

    pub fn u64_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Array(items) => items.iter().filter_map(as_u64).collect(),
            other => as_u64(&other).into_iter().collect(),
        })
    }

    pub fn opt_timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => parse_time(&s),
            Value::Number(n) => n.as_i64().and_then(|s| Timestamp::from_second(s).ok()),
            _ => None,
        })
    }

    pub fn opt_object<'de, D: Deserializer<'de>, T: DeserializeOwned>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => None,
            v => T::deserialize(v).ok(),
        })
    }

    pub fn list_of<'de, D: Deserializer<'de>, T: DeserializeOwned>(
        d: D,
    ) -> Result<Vec<T>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Array(items) => items
                .into_iter()
                .filter_map(|v| T::deserialize(v).ok())
                .collect(),
            Value::Null => Vec::new(),
            v => T::deserialize(v).ok().into_iter().collect(),
        })
    }

    /// Strict: the value must be a toll-free E.164 number. A JSON number
    /// (the reference calls the field NUMERIC) is read as `+` and its digits.
    pub fn e164<'de, D: Deserializer<'de>>(d: D) -> Result<E164, D::Error> {
        let s = match Value::deserialize(d)? {
            Value::String(s) => s,
            Value::Number(n) => format!("+{n}"),
            other => {
                return Err(D::Error::custom(format!(
                    "endpoint must be an E.164 string, got {}",
                    json_kind(&other)
                )));
            }
        };
        E164::parse(&s).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> E164 {
        E164::parse(s).expect("valid test number")
    }

    #[test]
    fn parses_the_reference_search_response() {
        let body = r#"{"endpoints":[{"endpoint":"+18887293863","geo":{"city":null,"country":"US","stateProvince":null}},
            {"endpoint":"+18887293864","geo":{"city":null,"country":"US","stateProvince":null}}],"hasMore":false}"#;
        let page: SearchPage = serde_json::from_str(body).expect("parses");
        assert_eq!(page.numbers.len(), 2);
        assert_eq!(page.numbers[0].endpoint, n("+18887293863"));
        assert_eq!(
            page.numbers[0]
                .geo
                .as_ref()
                .and_then(|g| g.country.as_deref()),
            Some("US")
        );
        assert!(!page.has_more);
        assert!(page.skipped.is_empty());
    }

    #[test]
    fn parses_the_reference_inventory_response_with_every_field() {
        let body = r#"{"endpoints":[{"accountID":1004318,"endpoint":"+18007293863","hasCpaas":false,"label":"Head office","packageID":30744,"type":"LONG","geo":{"country":"US","stateProvince":null},"media":{"sms":null,"voice":{"rx":{"provider":"IntelePeer","service":"SIP","ns":"intelepeer.sip","config":{}},"tx":[{"provider":"IntelePeer","service":"SIP","ns":"intelepeer.sip","config":{}}]}}},
        {"accountID":1004318,"endpoint":"+18003255821","hasCpaas":true,"label":"Automated Messaging","packageID":30744,"type":"LONG","geo":{"country":"US","stateProvince":null},"media":{"sms":{"rx":{"provider":"IntelePeer","service":"SIP","ns":"intelepeer.sip","config":{"webhook":"cpaas://api.intelepeer.com"}},"tx":[{"provider":"IntelePeer","service":"SIP","ns":"intelepeer.sip","config":{}}]},"voice":null}}],"hasMore":false}"#;
        let page: InventoryPage = serde_json::from_str(body).expect("parses");
        assert_eq!(page.numbers.len(), 2);
        let a = &page.numbers[0];
        assert_eq!(a.account_id, Some(1004318));
        assert_eq!(a.package_id.map(PackageId::get), Some(30744));
        assert_eq!(a.label.as_deref(), Some("Head office"));
        assert_eq!(a.number_type.as_deref(), Some("LONG"));
        assert!(!a.has_cpaas);
        let voice = a
            .media
            .as_ref()
            .and_then(|m| m.voice.as_ref())
            .expect("voice");
        assert_eq!(
            voice.rx.as_ref().and_then(|r| r.provider.as_deref()),
            Some("IntelePeer")
        );
        assert_eq!(voice.tx.len(), 1);
        let b = &page.numbers[1];
        assert!(b.has_cpaas);
        let sms = b.media.as_ref().and_then(|m| m.sms.as_ref()).expect("sms");
        assert_eq!(
            sms.rx.as_ref().map(|r| r.config["webhook"].clone()),
            Some(Value::from("cpaas://api.intelepeer.com"))
        );
        assert!(b.media.as_ref().is_some_and(|m| m.voice.is_none()));
    }

    #[test]
    fn an_invalid_inventory_number_is_skipped_not_fatal() {
        let body = r#"{"endpoints":[{"endpoint":"+13035550100","packageID":1},{"endpoint":"+18005550100","packageID":"7","hasCpaas":1,"orderID":"55"},{"packageID":2}],"hasMore":"1"}"#;
        let page: InventoryPage = serde_json::from_str(body).expect("parses");
        assert_eq!(page.numbers.len(), 1);
        assert_eq!(page.numbers[0].package_id.map(PackageId::get), Some(7));
        assert_eq!(page.numbers[0].order_id, Some(OrderId(55)));
        assert!(page.numbers[0].has_cpaas);
        assert_eq!(page.skipped.len(), 2);
        assert_eq!(page.skipped[0].endpoint.as_deref(), Some("+13035550100"));
        assert!(
            page.skipped[0].reason.to_string().contains("303"),
            "{:?}",
            page.skipped
        );
        assert_eq!(page.skipped[0].reason, SkipReason::NotTollFree { npa: 303 });
        assert_eq!(page.skipped[0].index, 0);
        assert_eq!(page.skipped[1].endpoint, None);
        assert_eq!(page.skipped[1].reason, SkipReason::MissingEndpoint);
        assert_eq!(page.skipped[1].index, 2);
        assert_eq!(page.record_count(), 3);
        assert!(page.has_more);
    }

    #[test]
    fn a_page_without_endpoints_is_an_error_not_an_empty_inventory() {
        assert!(serde_json::from_str::<InventoryPage>(r#"{"hasMore":false}"#).is_err());
        assert!(serde_json::from_str::<InventoryPage>(r#"{"endpoints":null}"#).is_err());
        let empty: InventoryPage = serde_json::from_str(r#"{"endpoints":[]}"#).expect("parses");
        assert!(empty.numbers.is_empty() && !empty.has_more);
    }

    #[test]
    fn null_package_and_numeric_endpoint_are_tolerated() {
        let body = r#"{"endpoints":[{"endpoint":18005550100,"packageID":null,"geo":null,"media":null,"label":null}]}"#;
        let page: InventoryPage = serde_json::from_str(body).expect("parses");
        assert_eq!(page.numbers[0].endpoint, n("+18005550100"));
        assert_eq!(page.numbers[0].package_id, None);
    }

    #[test]
    fn parses_the_reference_reservation_response() {
        let body = br#"[{"expirationDate":"2015-08-16T23:17:01Z","reservationID":"F78793B1-7E84-11E6-B908-52540029234D","reservedDate":"2015-08-16T22:47:01Z","endpoints":[{"endpoint":"+18887293863","geo":{"city":null,"country":"US","stateProvince":null}},{"endpoint":"+18887293864","geo":{"city":null,"country":"US","stateProvince":null}}]}]"#;
        let r = parse_reservations(body).expect("parses");
        assert_eq!(r.len(), 1);
        assert_eq!(
            r[0].reservation_id.as_str(),
            "F78793B1-7E84-11E6-B908-52540029234D"
        );
        let exp = r[0].expiration_date.expect("expiration");
        let res = r[0].reserved_date.expect("reserved");
        assert_eq!(exp.as_second() - res.as_second(), 30 * 60);
        assert_eq!(r[0].numbers.len(), 2);
        let single = br#"{"reservationID":"abc-1","endpoints":[]}"#;
        assert_eq!(parse_reservations(single).expect("parses").len(), 1);
        assert!(parse_reservations(b"42").is_err());
    }

    #[test]
    fn parses_orders_with_batch_ids_as_array_integer_or_batch_id() {
        let purchase = r#"{"accountID":1006568,"batchIDs":[800024],"completed":null,"created":"2019-02-10T20:46:12Z","orderID":800240,"packageID":31615,"referenceID":null,"source":"API","status":"PENDING","type":"TF Purchase"}"#;
        let o: Order = serde_json::from_str(purchase).expect("parses");
        assert_eq!(o.order_id, OrderId(800240));
        assert_eq!(o.batch_ids, vec![800024]);
        assert_eq!(o.account_id, Some(1006568));
        assert_eq!(o.package_id.map(PackageId::get), Some(31615));
        assert_eq!(o.status.as_deref(), Some("PENDING"));
        assert_eq!(o.order_type.as_deref(), Some("TF Purchase"));
        assert_eq!(o.source.as_deref(), Some("API"));
        assert_eq!(o.completed, None);
        assert_eq!(o.reference_id, None);
        assert_eq!(o.created_at().map(|t| t.as_second()), Some(1_549_831_572));

        let int_batch = r#"{"batchIDs":800024,"orderID":"1","created":1549831572}"#;
        let o: Order = serde_json::from_str(int_batch).expect("parses");
        assert_eq!(o.batch_ids, vec![800024]);
        assert_eq!(o.created_at().map(|t| t.as_second()), Some(1_549_831_572));

        let singular = r#"{"batchID":7,"orderID":2}"#;
        let o: Order = serde_json::from_str(singular).expect("parses");
        assert_eq!(o.batch_ids, vec![7]);

        let disconnect = r#"{"accountID":null,"batchIDs":[800024],"completed":null,"created":"2019-02-10T20:46:12Z","orderID":800240,"packageID":null,"referenceID":null,"source":"API","status":"PENDING","type":"TF Return"}"#;
        let o: Order = serde_json::from_str(disconnect).expect("parses");
        assert_eq!(o.account_id, None);
        assert_eq!(o.package_id, None);

        assert!(serde_json::from_str::<Order>(r#"{"status":"PENDING"}"#).is_err());
    }

    #[test]
    fn purchase_by_reservations_matches_the_worked_example() {
        let req = PurchaseRequest::by_reservations(
            [
                ReservationId::parse("BD929A2A-7F48-11E6-B908-52540029234D").expect("id"),
                ReservationId::parse("0F85813F-7E8B-11E6-B908-52540029234D").expect("id"),
            ],
            PackageId::new(1234567).expect("pkg"),
            4,
        );
        let json = serde_json::to_value(&req).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "reservationID": ["BD929A2A-7F48-11E6-B908-52540029234D", "0F85813F-7E8B-11E6-B908-52540029234D"],
                "packageID": 1234567,
                "serviceArea": 4
            })
        );
        let q = PurchaseRequest::by_quantity(1, PackageId::new(1234567).expect("pkg"), 4)
            .email("noc@example.com")
            .my_resp_org(false)
            .notes("n")
            .reference_id("ref-1");
        assert_eq!(
            serde_json::to_value(&q).expect("serializes"),
            serde_json::json!({"quantity": 1, "packageID": 1234567, "serviceArea": 4,
                "email": "noc@example.com", "myRespOrg": false, "notes": "n", "referenceID": "ref-1"})
        );
        let by_numbers =
            PurchaseRequest::by_numbers([&n("+18005550100")], PackageId::new(1).expect("pkg"), 1);
        assert_eq!(
            serde_json::to_value(&by_numbers).expect("serializes")["endpoints"],
            serde_json::json!([{"countryCode": "1", "number": "8005550100"}])
        );
    }

    #[test]
    fn reserve_change_and_disconnect_bodies_match_the_reference() {
        let r = ReserveRequest::new([n("+18885551201"), n("+18885551202")]).reservation_id(
            ReservationId::parse("F78793B1-7E84-11E6-B908-52540029234D").expect("id"),
        );
        assert_eq!(
            serde_json::to_value(&r).expect("serializes"),
            serde_json::json!({"endpoints": ["+18885551201", "+18885551202"], "reservationID": "F78793B1-7E84-11E6-B908-52540029234D"})
        );
        let r = ReserveRequest::new([n("+18887293863")]);
        assert_eq!(
            serde_json::to_value(&r).expect("serializes"),
            serde_json::json!({"endpoints": ["+18887293863"]})
        );
        let c =
            ChangePackageRequest::new(PackageId::new(1234567).expect("pkg"), [n("+18005558000")]);
        assert_eq!(
            serde_json::to_value(&c).expect("serializes"),
            serde_json::json!({"packageID": 1234567, "endpoints": ["+18005558000"]})
        );
        let d = DisconnectRequest::new([n("+18885550001")]).reference_id("r");
        assert_eq!(
            serde_json::to_value(&d).expect("serializes"),
            serde_json::json!({"endpoints": ["+18885550001"], "referenceID": "r"})
        );
    }

    #[test]
    fn order_options_are_flattened_into_every_order_body() {
        let options = OrderOptions::new()
            .email("noc@example.com")
            .notes("two lines\nof notes")
            .reference_id("tfns-1");
        let fields = serde_json::json!({
            "email": "noc@example.com",
            "notes": "two lines\nof notes",
            "referenceID": "tfns-1",
        });
        let with = |mut base: Value| {
            for (k, v) in fields.as_object().expect("object") {
                base[k] = v.clone();
            }
            base
        };
        let pkg = PackageId::new(1234567).expect("pkg");
        let purchase = PurchaseRequest::by_quantity(1, pkg, 4).options(options.clone());
        assert_eq!(
            serde_json::to_value(&purchase).expect("serializes"),
            with(serde_json::json!({"quantity": 1, "packageID": 1234567, "serviceArea": 4}))
        );
        let change = ChangePackageRequest::new(pkg, [n("+18005558000")]).options(options.clone());
        assert_eq!(
            serde_json::to_value(&change).expect("serializes"),
            with(serde_json::json!({"packageID": 1234567, "endpoints": ["+18005558000"]}))
        );
        let disconnect = DisconnectRequest::new([n("+18885550001")]).options(options.clone());
        assert_eq!(
            serde_json::to_value(&disconnect).expect("serializes"),
            with(serde_json::json!({"endpoints": ["+18885550001"]}))
        );
        // The field builders are the same thing.
        let built = DisconnectRequest::new([n("+18885550001")])
            .email("noc@example.com")
            .notes("two lines\nof notes")
            .reference_id("tfns-1");
        assert_eq!(built, disconnect);
        assert_eq!(built.options, options);
        // Unset options are not sent at all.
        let bare =
            serde_json::to_value(DisconnectRequest::new([n("+18885550001")])).expect("serializes");
        assert_eq!(bare, serde_json::json!({"endpoints": ["+18885550001"]}));
    }

    #[test]
    fn one_reservation_is_still_sent_as_an_array() {
        let req = PurchaseRequest::by_reservations(
            [ReservationId::parse("BD929A2A-7F48-11E6-B908-52540029234D").expect("id")],
            PackageId::new(1).expect("pkg"),
            1,
        );
        assert_eq!(
            serde_json::to_value(&req).expect("serializes")["reservationID"],
            serde_json::json!(["BD929A2A-7F48-11E6-B908-52540029234D"])
        );
    }

    #[test]
    fn unreadable_inventory_records_are_classified_with_their_position() {
        let body = r#"{"endpoints":[{"endpoint":"18775550302","packageID":1},{"endpoint":"+18005550100"},"junk",{"endpoint":{"a":1}},{"endpoint":"+1303555010","packageID":1},{"endpoint":13035550100}],"hasMore":false}"#;
        let page: InventoryPage = serde_json::from_str(body).expect("parses");
        assert_eq!(page.numbers.len(), 1);
        let got: Vec<_> = page
            .skipped
            .iter()
            .map(|s| (s.index, s.endpoint.as_deref(), s.reason.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, Some("18775550302"), SkipReason::NotE164),
                (
                    2,
                    None,
                    SkipReason::Unreadable {
                        message: "the record is a string, not an object".into()
                    }
                ),
                (3, Some("{\"a\":1}"), SkipReason::NotE164),
                (4, Some("+1303555010"), SkipReason::NotE164),
                (5, Some("13035550100"), SkipReason::NotTollFree { npa: 303 }),
            ]
        );
    }

    #[test]
    fn query_builders_emit_array_parameters_and_flags() {
        let s = SearchPool::in_npas([Npa::new(888).expect("npa"), Npa::new(800).expect("npa")])
            .sequential(true)
            .page_size(20);
        assert_eq!(
            s.query_pairs(),
            vec![
                ("npa[]", "888".to_owned()),
                ("npa[]", "800".to_owned()),
                ("pageSize", "20".to_owned()),
                ("sequential", "1".to_owned())
            ]
        );
        let l = ListInventory::all()
            .package(PackageId::new(78314).expect("pkg"))
            .package(PackageId::new(24188).expect("pkg"))
            .has_cpaas(true)
            .page_size(500);
        assert_eq!(
            l.query_pairs(),
            vec![
                ("packageID[]", "78314".to_owned()),
                ("packageID[]", "24188".to_owned()),
                ("pageSize", "100".to_owned()),
                ("hasCpaas", "1".to_owned())
            ]
        );
        assert_eq!(ListInventory::all().page_size(0).effective_page_size(), 1);
    }
}
