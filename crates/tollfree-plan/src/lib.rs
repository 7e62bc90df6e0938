//! The pure planner of tollfree-operator.
