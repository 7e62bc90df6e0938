//! What one set wants, read from its spec once: exact numbers with their
//! package, and `acquire` requests by package.
//!
//! A set being deleted wants nothing: everything it owns is leaving. Admission
//! rejects a number listed twice, but the planner must not depend on that: the
//! first package (in spec order) listing a number wins, and so does the first
//! `acquire` request of a package.

use std::collections::BTreeMap;

use intelepeer::{E164, PackageId};

use crate::model::{Acquire, SetInput};

/// What a set wants.
#[derive(Debug, Default)]
pub struct Desired<'a> {
    /// Declared numbers and the package each must sit in.
    pub declared: BTreeMap<&'a E164, PackageId>,
    /// `acquire` requests by target package.
    pub acquires: BTreeMap<PackageId, &'a Acquire>,
}

impl<'a> Desired<'a> {
    /// Reads a set's spec.
    pub fn of(set: &'a SetInput) -> Self {
        let mut want = Desired::default();
        if set.deleting {
            return want;
        }
        for spec in &set.packages {
            for n in &spec.numbers {
                want.declared.entry(n).or_insert(spec.package);
            }
            if let Some(a) = &spec.acquire {
                want.acquires.entry(spec.package).or_insert(a);
            }
        }
        want
    }

    /// The package a declared number must sit in.
    pub fn package_of(&self, n: &E164) -> Option<PackageId> {
        self.declared.get(n).copied()
    }
}
