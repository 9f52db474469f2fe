//! The dependency graph of a plan's instances (design.md section 11): the order apply follows,
//! and what `imsform graph` prints in DOT. Pure, derived from the plan alone, so a saved plan
//! gives the graph its apply will walk.
//!
//! Nodes are the steps of the instance changes: one per change, and a second one, the
//! destroy-first half, for a replica replaced destroy-before-create. An edge `a -> b` means `a`
//! must finish before `b` starts; a step whose predecessor failed does not start.
//!
//! The kinds' rules:
//! - a replica is created, updated or replaced after its image's change (a new source is active
//!   by then, and its id is known);
//! - a replica deleted, or the delete half of one replaced destroy-first, goes before its image
//!   is destroyed or replaced, so a source never leaves copies the state forgot;
//! - an image's members are part of its own step: they are shared once the image is active.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::instance::{Change, Plan};
use super::model::Action;
use crate::manifest::model::{Address, ReplaceOrder};

/// One step of one instance's change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// The index of the change in [`Plan::changes`].
    pub change: usize,
    pub step: Step,
}

/// Which part of the change a node carries out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The change itself (for a destroy-first replacement: its create half).
    Apply,
    /// The delete half of a replica replaced destroy-before-create.
    DestroyFirst,
}

/// The plan's steps and the order between them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    pub nodes: Vec<Node>,
    /// `(a, b)`: node `a` finishes before node `b` starts (indices into `nodes`).
    pub edges: Vec<(usize, usize)>,
}

impl Graph {
    /// The graph of every change of `plan`, no-ops included (they order nothing and are done
    /// at once when walked).
    pub fn of(plan: &Plan) -> Graph {
        let mut graph = Graph::default();
        let mut image_node: BTreeMap<&Address, usize> = BTreeMap::new();
        for (index, change) in plan.changes.iter().enumerate() {
            if let Change::Image(image) = change {
                image_node.insert(&image.address, graph.nodes.len());
            }
            if destroys_first(change) {
                graph.nodes.push(Node {
                    change: index,
                    step: Step::DestroyFirst,
                });
            }
            graph.nodes.push(Node {
                change: index,
                step: Step::Apply,
            });
        }
        for (at, node) in graph.nodes.clone().into_iter().enumerate() {
            let change = &plan.changes[node.change];
            let Change::Replica(_) = change else {
                continue;
            };
            let Some(&image) = image_node.get(change.image()) else {
                continue;
            };
            let source = plan.changes[graph.nodes[image].change].action();
            let removes_first =
                node.step == Step::DestroyFirst || change.action() == Action::Delete;
            if removes_first {
                if matches!(source, Action::Delete | Action::Replace { .. }) {
                    graph.edges.push((at, image));
                }
                if node.step == Step::DestroyFirst {
                    graph.edges.push((at, at + 1));
                }
            } else {
                graph.edges.push((image, at));
            }
        }
        graph
    }

    /// For each node, the nodes that must finish before it.
    pub fn predecessors(&self) -> Vec<Vec<usize>> {
        let mut before = vec![Vec::new(); self.nodes.len()];
        for &(a, b) in &self.edges {
            before[b].push(a);
        }
        before
    }

    /// The graph in Graphviz's DOT language, as `terraform graph` prints it: one node per step,
    /// labelled with its address and action, and edges in the order apply follows.
    pub fn dot(&self, plan: &Plan) -> String {
        let mut out = String::from("digraph {\n  compound = \"true\"\n  newrank = \"true\"\n");
        out.push_str("  subgraph \"root\" {\n");
        for node in &self.nodes {
            let (id, label) = node_words(plan, *node);
            // Writing into a String cannot fail.
            let _ = writeln!(out, "    {} [label = {}]", quote(&id), quote(&label));
        }
        for &(a, b) in &self.edges {
            let (a, _) = node_words(plan, self.nodes[a]);
            let (b, _) = node_words(plan, self.nodes[b]);
            let _ = writeln!(out, "    {} -> {}", quote(&a), quote(&b));
        }
        out.push_str("  }\n}\n");
        out
    }
}

/// A replica replaced destroy-before-create: its delete half is a step of its own.
fn destroys_first(change: &Change) -> bool {
    matches!(change, Change::Replica(_))
        && change.action()
            == Action::Replace {
                order: ReplaceOrder::DestroyBeforeCreate,
            }
}

/// A node's id and label in DOT.
fn node_words(plan: &Plan, node: Node) -> (String, String) {
    let change = &plan.changes[node.change];
    let address = change.address().to_string();
    let action = match (node.step, change.action()) {
        (Step::DestroyFirst, _) => "destroy",
        (Step::Apply, Action::NoOp) => "no-op",
        (Step::Apply, Action::Create) => "create",
        (Step::Apply, Action::Update) => "update",
        (Step::Apply, Action::Delete) => "destroy",
        (Step::Apply, Action::Replace { order }) => match (order, change) {
            (ReplaceOrder::DestroyBeforeCreate, Change::Replica(_)) => "create",
            (ReplaceOrder::DestroyBeforeCreate, _) => "destroy, then create",
            (ReplaceOrder::CreateBeforeDestroy, _) => "create, then destroy",
        },
    };
    let id = match node.step {
        Step::Apply => address.clone(),
        Step::DestroyFirst => format!("{address} (destroy)"),
    };
    (id, format!("{address} ({action})"))
}

/// A DOT string literal.
fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
