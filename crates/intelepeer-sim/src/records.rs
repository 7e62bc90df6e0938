//! The records the simulated vendor keeps — ledger entries, owned numbers,
//! reservations, orders, sessions — and how the vendor writes them as JSON.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One accepted mutation, as recorded in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    /// When the vendor accepted it.
    pub time: Timestamp,
    /// The account whose user made the call (state files written before
    /// accounts existed load as the default account, see
    /// [`crate::SimConfig::account_id`]).
    #[serde(default)]
    pub account_id: u64,
    /// What it was.
    pub kind: LedgerKind,
    /// The numbers it concerned, in E.164.
    pub numbers: Vec<String>,
    /// The target package (purchase, change package).
    pub package_id: Option<u64>,
    /// The order it created (all but reservations).
    pub order_id: Option<u64>,
    /// The reservation it created, or the reservations a purchase consumed.
    pub reservation_ids: Vec<String>,
    /// The client's `referenceID`, if any.
    pub reference_id: Option<String>,
}

/// The kinds of mutation the vendor accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LedgerKind {
    /// `POST /_rest/v4/carrier/tf/reservations`
    Reserve,
    /// `POST /_rest/v4/my/tf/orders`
    Purchase,
    /// `POST /_rest/v4/my/tf/package`
    ChangePackage,
    /// `POST /_rest/v4/my/tf/disconnect`
    Disconnect,
}

/// A number in an account's inventory (which account is the question asked:
/// [`crate::Simulator::inventory_of`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnedNumber {
    /// The number, in E.164.
    pub number: String,
    /// Its package (route profile).
    pub package_id: u64,
    /// The order that brought it into the account (`None` when seeded).
    pub order_id: Option<u64>,
    /// Its label, if any.
    pub label: Option<String>,
    /// Whether SmartFlows (CPaaS) is enabled.
    pub has_cpaas: bool,
    /// Whether a disconnect order for it is pending.
    pub pending_disconnect: bool,
}

/// What an owned number carries, keyed by the number in the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Holding {
    /// The account that owns the number (0 in state files written before
    /// accounts existed, until [`crate::state::World::upgrade`] fills it in).
    #[serde(default)]
    pub account_id: u64,
    pub package_id: u64,
    pub order_id: Option<u64>,
    pub label: Option<String>,
    pub has_cpaas: bool,
}

/// A reservation: numbers held for the account that made it until `expires`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Reservation {
    pub id: String,
    /// The account that made it: only that account may purchase it.
    #[serde(default)]
    pub account_id: u64,
    /// The numbers still held (a purchase by `endpoints` takes numbers out).
    pub numbers: Vec<String>,
    pub reserved: Timestamp,
    pub expires: Timestamp,
    /// The order that consumed it.
    pub ordered_by: Option<u64>,
}

impl Reservation {
    /// Whether it still holds its numbers.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.ordered_by.is_none() && self.expires > now
    }

    /// The reservation as the vendor answers it.
    pub fn to_json(&self) -> Value {
        json!({
            "expirationDate": iso8601(self.expires),
            "reservationID": self.id,
            "reservedDate": iso8601(self.reserved),
            "endpoints": self.numbers.iter().map(|n| search_record(n)).collect::<Vec<_>>(),
        })
    }
}

/// The kinds of order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum OrderKind {
    Purchase,
    ChangePackage,
    Return,
}

impl OrderKind {
    /// The order's `type` as the vendor writes it.
    fn label(self) -> &'static str {
        match self {
            Self::Purchase => "TF Purchase",
            Self::ChangePackage => "Change Package",
            Self::Return => "TF Return",
        }
    }
}

/// An order: placed now, completed at `completes_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Order {
    pub id: u64,
    /// The account that placed it, reported as its `accountID`.
    #[serde(default)]
    pub account_id: u64,
    pub batch_id: u64,
    pub kind: OrderKind,
    pub numbers: Vec<String>,
    pub package_id: Option<u64>,
    pub reservation_ids: Vec<String>,
    /// Optional request fields, `referenceID` among them.
    pub details: OrderDetails,
    pub created: Timestamp,
    pub completes_at: Timestamp,
    pub completed: Option<Timestamp>,
}

impl Order {
    /// The order as the vendor answers it, with the account that placed it.
    /// Disconnects report no account and no package, as in the reference's
    /// example.
    pub fn to_json(&self) -> Value {
        let returning = self.kind == OrderKind::Return;
        json!({
            "accountID": (!returning).then_some(self.account_id),
            "batchIDs": [self.batch_id],
            "completed": self.completed.map(iso8601),
            "created": iso8601(self.created),
            "orderID": self.id,
            "packageID": if returning { None } else { self.package_id },
            "referenceID": self.details.reference_id,
            "source": "API",
            "status": if self.completed.is_some() { "COMPLETED" } else { "PENDING" },
            "type": self.kind.label(),
        })
    }
}

/// The optional fields of an order request, kept for the state dump.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderDetails {
    pub email: Option<String>,
    pub notes: Option<String>,
    pub reference_id: Option<String>,
    pub service_area: Option<u8>,
    pub my_resp_org: Option<bool>,
}

/// A session token from `POST /_rest/v4/authenticate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Session {
    pub user: String,
    /// The account the user was mapped to when the token was issued.
    #[serde(default)]
    pub account_id: u64,
    pub issued: Timestamp,
    /// Expired early by [`crate::Simulator::expire_sessions`].
    pub revoked: bool,
}

/// ISO 8601 to the second, as the vendor writes dates: `2019-02-10T20:46:12Z`.
pub(crate) fn iso8601(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A pool number as search and reservations answer it.
pub(crate) fn search_record(number: &str) -> Value {
    json!({
        "endpoint": number,
        "geo": { "city": null, "country": "US", "stateProvince": null },
    })
}

/// An inventory record with every field of the reference's example (and
/// `orderID` from its field table), reporting the owning account. Media follow
/// the example: SmartFlows numbers carry an SMS configuration, the others a
/// voice one.
pub(crate) fn inventory_record(number: &str, holding: &Holding) -> Value {
    let sip = |config: Value| json!({ "provider": "IntelePeer", "service": "SIP", "ns": "intelepeer.sip", "config": config });
    let media = if holding.has_cpaas {
        json!({
            "sms": { "rx": sip(json!({ "webhook": "cpaas://api.intelepeer.com" })), "tx": [sip(json!({}))] },
            "voice": null,
        })
    } else {
        json!({ "sms": null, "voice": { "rx": sip(json!({})), "tx": [sip(json!({}))] } })
    };
    json!({
        "accountID": holding.account_id,
        "endpoint": number,
        "hasCpaas": holding.has_cpaas,
        "label": holding.label,
        "orderID": holding.order_id,
        "packageID": holding.package_id,
        "type": "LONG",
        "geo": { "country": "US", "stateProvince": null },
        "media": media,
    })
}
