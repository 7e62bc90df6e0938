//! The `TollFreeNumberSet` custom resource (group `tollfree.dev`, version `v1alpha1`).
