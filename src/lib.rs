//! summit-slo: SLO files compiled to PromQL, evaluated against Prometheus
//! over the window of a load test, and turned into release verdicts.
//!
//! Data flows through the modules in this order: [`spec`] loads and
//! validates SLO files, [`compile`] turns them into PromQL over a window,
//! [`prometheus`] runs the queries, [`eval`] turns answers into verdicts,
//! and [`report`] renders them. [`cli`] wires the stages to the command line.

pub mod cli;
pub mod compile;
pub mod engine;
pub mod eval;
pub mod grafana;
pub mod http;
pub mod prometheus;
pub mod report;
pub mod rules;
pub mod serve;
pub mod spec;
pub mod time;
pub mod window;
