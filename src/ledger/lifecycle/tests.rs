//! The lifecycle's definition held to its invariants and to its documented table.

use super::{
    transitions::{markdown, From, RULES},
    *,
};

#[test]
fn states_and_rules_are_listed_in_order() {
    for (i, state) in JobState::ALL.into_iter().enumerate() {
        assert_eq!(STATES[i].state, state);
        assert_eq!(state.name().parse::<JobState>().ok(), Some(state));
    }
    let names: Vec<&str> = RULES.iter().map(|r| r.name).collect();
    let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len());
}

#[test]
fn the_documented_table_is_the_definition() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/lifecycle.md");
    let doc = std::fs::read_to_string(path).unwrap_or_default();
    let table = markdown();
    if std::env::var_os("UPDATE_LIFECYCLE_DOC").is_some() {
        let head = doc.split("| State |").next().unwrap_or_default().to_owned();
        std::fs::write(path, head + &table).expect("writing docs/lifecycle.md");
        return;
    }
    assert!(
        doc.ends_with(&table),
        "docs/lifecycle.md is not the lifecycle's table: run UPDATE_LIFECYCLE_DOC=1 cargo test --lib lifecycle"
    );
}

#[test]
fn settled_transitions_end_the_lease_and_guards_name_their_states() {
    for rule in &RULES {
        let sql = rule.sql(&super::super::After::default(), 0);
        assert_eq!(
            sql.contains("lease_owner = NULL"),
            rule.releases(),
            "{}",
            rule.name
        );
        if let From::States(states) = rule.from {
            for state in states {
                assert!(sql.contains(&format!("'{state}'")), "{}", rule.name);
            }
        }
    }
    assert_eq!(
        sql_states(|f| f.step.is_some()),
        "'queued', 'submitting', 'submitted', 'succeeded'"
    );
}

/// The due index (migration 6) covers exactly the states a worker can still move on: the
/// claim's and the look-ahead's `state IN (...)` must match its condition for either engine
/// to use it.
#[test]
fn the_due_index_covers_the_claimable_states() {
    let condition = format!("WHERE state IN ({});", sql_states(|f| f.step.is_some()));
    for engine in ["sqlite", "postgres"] {
        let path = format!(
            "{}/migrations/{engine}/0006_due_index.sql",
            env!("CARGO_MANIFEST_DIR")
        );
        let sql = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(sql.contains(&condition), "{path} does not say {condition}");
    }
}
