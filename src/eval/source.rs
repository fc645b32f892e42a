//! Where answers come from: a server that speaks Prometheus' HTTP API, or
//! the embedded engine holding samples in memory. Both take the same
//! compiled queries; the server reads their text, the engine their plan.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::compile::Query;
use crate::engine::Engine;
use crate::prometheus::{Client, QueryError, QueryResult};
use crate::spec::Selector;

/// A back end for queries. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Source {
    /// A Prometheus-compatible server.
    Prometheus(Client),
    /// Samples in memory (a recording or live scrapes).
    Embedded(Arc<Engine>),
}

impl Source {
    /// How the source's PromQL counts: the embedded engine counts as
    /// Prometheus does.
    pub fn dialect(&self) -> crate::compile::Dialect {
        match self {
            Self::Prometheus(client) => client.dialect(),
            Self::Embedded(_) => crate::compile::Dialect::Prometheus,
        }
    }

    /// Evaluates a query at one instant.
    pub async fn instant(&self, query: &Query, time: Timestamp) -> Result<QueryResult, QueryError> {
        match self {
            Self::Prometheus(client) => client.query(&query.text, time).await,
            Self::Embedded(engine) => engine.instant(query, time),
        }
    }

    /// Evaluates a query at every step from `start` to `end`.
    pub async fn range(
        &self,
        query: &Query,
        start: Timestamp,
        end: Timestamp,
        step: Duration,
    ) -> Result<QueryResult, QueryError> {
        match self {
            Self::Prometheus(client) => client.query_range(&query.text, start, end, step).await,
            Self::Embedded(engine) => engine.range(query, start, end, step),
        }
    }

    /// The values a label takes on the series a selector matches between
    /// two instants.
    pub async fn label_values(
        &self,
        label: &str,
        selector: &Selector,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Vec<String>, QueryError> {
        match self {
            Self::Prometheus(client) => {
                let text = selector.render(selector.metric.as_deref().unwrap_or_default(), &[]);
                client.label_values(label, &text, start, end).await
            }
            Self::Embedded(engine) => Ok(engine.label_values(label, selector, start, end)),
        }
    }
}
