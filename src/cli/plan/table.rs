//! The table `plan -o table` prints: per set, one line per number and what
//! would happen to it, then each number's state, then a summary line.
//!
//! ```text
//! cluster: context prod (https://10.0.0.1:6443): 12 live sets read
//!
//! telecom/support-lines (sets/support.yaml): Progressing: ...
//!   buy         +18887293863  reserve+purchase into package 30744
//!   buy         3 numbers     acquire by search (npa 888, sequential) into package 24188
//!   move        +18003255821  package 24188 → 30744
//!   adopt       +18007293863  already in the account, package 30744
//!   held        +18005550100  disconnect: disconnect policy is Deny: the numbers stay in the account
//!   held        +18885550002  buy (reserve+purchase into package 30744): spec.suspend is true: no vendor changes
//!   conflict    +18885550001  also claimed by older set telecom/other, which keeps it; left alone
//!   numbers:
//!     +18007293863  30744  Active      adopted from the account; active in package 30744
//!
//! 1 set: 4 to buy, 1 to move, 0 to disconnect, 1 held, 1 to adopt, 1 conflict
//! ```
//!
//! Without a cluster, the first line is a `warning:` that other sets are
//! unknown and `adopt` may be wrong. A live set the change does not touch,
//! shown because its plan changes, is headed `(cluster)`; a set planned as
//! deleted `(...; deleted)`.

use std::fmt::Write as _;

use tollfree_plan::NumberState;

use super::report::{ActionReport, Origin, Report, SetReport, Summary};
use crate::crd::ActionKind;
use crate::status::conditions::ConditionReason;

/// Width of the first column (the longest word is `unavailable`).
const WORD: usize = 11;
/// Width of the subject column (an E.164 number is 12 characters).
const SUBJECT: usize = 12;
/// Live sets without a recorded account named one per line; the rest are
/// counted (the JSON lists them all).
const MAX_UNPROVEN_LINES: usize = 5;

/// Renders the whole report.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    render_cluster(&mut out, report);
    for set in &report.sets {
        render_set(&mut out, set);
        out.push('\n');
    }
    out.push_str(&summary_line(&report.summary));
    out.push('\n');
    out
}

/// `2 sets: 3 to buy, 1 to move, 0 to disconnect, 1 held, 1 to adopt, 0 conflicts`.
pub fn summary_line(s: &Summary) -> String {
    format!(
        "{}: {} to buy, {} to move, {} to disconnect, {} held, {} to adopt, {}",
        plural(s.sets, "set", "sets"),
        s.buy,
        s.r#move,
        s.disconnect,
        s.held,
        s.adopt,
        plural(s.conflicts, "conflict", "conflicts"),
    )
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn line(out: &mut String, word: &str, subject: &str, detail: &str) {
    let _ = writeln!(out, "  {word:<WORD$} {subject:<SUBJECT$}  {detail}");
}

/// What the preview knew of the cluster, and the notes; a blank line after.
fn render_cluster(out: &mut String, report: &Report) {
    let cluster = &report.cluster;
    if let Some(warning) = &cluster.warning {
        let _ = writeln!(out, "warning: {warning}");
    }
    if cluster.read {
        let place = match (&cluster.context, &cluster.server) {
            (Some(context), Some(server)) => format!("context {context} ({server})"),
            (None, Some(server)) => server.clone(),
            _ => "the cluster".to_owned(),
        };
        let scope = cluster
            .namespace
            .as_ref()
            .map(|ns| format!(" in namespace {ns}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "cluster: {place}: {} read{scope}",
            plural(cluster.live_sets, "live set", "live sets")
        );
        for id in cluster.unproven.iter().take(MAX_UNPROVEN_LINES) {
            let _ = writeln!(
                out,
                "note: live set {id} records no account yet (its credentials were never \
                 proven): not planned"
            );
        }
        if cluster.unproven.len() > MAX_UNPROVEN_LINES {
            let _ = writeln!(
                out,
                "note: and {} more live sets without a recorded account (-o json lists them)",
                cluster.unproven.len() - MAX_UNPROVEN_LINES
            );
        }
    }
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    if cluster.warning.is_some() || cluster.read || !report.notes.is_empty() {
        out.push('\n');
    }
}

fn render_set(out: &mut String, set: &SetReport) {
    let source = match set.origin {
        Origin::Manifest => set.file.clone(),
        Origin::Cluster => "cluster".to_owned(),
    };
    let deleted = if set.deleted { "; deleted" } else { "" };
    let _ = writeln!(
        out,
        "{}/{} ({source}{deleted}): {}: {}",
        set.namespace,
        set.name,
        ConditionReason::Plan(set.reason).as_str(),
        set.message
    );
    if set.actions.is_empty() && set.held.is_empty() {
        line(out, "no changes", "", "");
    }
    for action in &set.actions {
        for (subject, detail) in describe(action) {
            line(out, word(action), &subject, &detail);
        }
    }
    for adopted in &set.adopted {
        line(
            out,
            "adopt",
            &adopted.number,
            &format!("already in the account, package {}", adopted.package_id),
        );
    }
    for held in &set.held {
        for (subject, detail) in describe(&held.action) {
            let what = match held.action.action {
                // "disconnect (disconnect from the account)" says it twice.
                ActionKind::Disconnect => "disconnect".to_owned(),
                _ => format!("{} ({detail})", word(&held.action)),
            };
            line(out, "held", &subject, &format!("{what}: {}", held.reason));
        }
    }
    for n in &set.numbers {
        let word = match n.state {
            NumberState::Conflict => "conflict",
            NumberState::Unavailable => "unavailable",
            _ => continue,
        };
        line(out, word, &n.number, &n.message);
    }
    if !set.hash.is_empty() {
        let _ = writeln!(
            out,
            "  approve with: kubectl -n {} annotate tfns {} tollfree.dev/approve={}",
            set.namespace, set.name, set.hash
        );
    }
    if !set.numbers.is_empty() {
        let _ = writeln!(out, "  numbers:");
        for n in &set.numbers {
            let state = format!("{:?}", n.state);
            let _ = writeln!(
                out,
                "    {:<SUBJECT$}  {:<8} {state:<17} {}",
                n.number, n.package_id, n.message
            );
        }
    }
}

/// The table's word for an action.
fn word(action: &ActionReport) -> &'static str {
    match action.action {
        ActionKind::Move => "move",
        ActionKind::Disconnect => "disconnect",
        ActionKind::Reserve | ActionKind::Acquire | ActionKind::Purchase => "buy",
    }
}

/// One `(subject, detail)` per number of an action (one line for an acquire).
fn describe(action: &ActionReport) -> Vec<(String, String)> {
    let package = action.package_id.unwrap_or(0);
    match action.action {
        ActionKind::Acquire => {
            let count = action.count.unwrap_or(0);
            let mut filter = Vec::new();
            if let Some(npas) = &action.npa {
                let list: Vec<String> = npas.iter().map(ToString::to_string).collect();
                filter.push(format!("npa {}", list.join(",")));
            }
            if let Some(like) = &action.like {
                filter.push(format!("like {like}"));
            }
            if action.sequential == Some(true) {
                filter.push("sequential".to_owned());
            }
            let noun = if count == 1 { "number" } else { "numbers" };
            vec![(
                format!("{count} {noun}"),
                format!(
                    "acquire by search ({}) into package {package}",
                    filter.join(", ")
                ),
            )]
        }
        ActionKind::Reserve => each(action, |_| {
            format!("reserve+purchase into package {package}")
        }),
        ActionKind::Purchase => each(action, |_| {
            format!(
                "{} reservation {} into package {package}",
                if action.retry == Some(true) {
                    "re-send the unanswered purchase of"
                } else {
                    "purchase"
                },
                action.reservation_id.as_deref().unwrap_or("?")
            )
        }),
        ActionKind::Move => each(action, |n| match action.from.get(n) {
            Some(from) => format!("package {from} → {package}"),
            None => format!("to package {package}"),
        }),
        ActionKind::Disconnect => each(action, |_| "disconnect from the account".to_owned()),
    }
}

fn each(action: &ActionReport, detail: impl Fn(&str) -> String) -> Vec<(String, String)> {
    action
        .numbers
        .iter()
        .map(|n| (n.clone(), detail(n)))
        .collect()
}
