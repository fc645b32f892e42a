//! Evaluating a query plan at one instant over the store, with PromQL's
//! rules for labels: functions and arithmetic drop the metric name,
//! aggregations keep only their grouping labels, binary operations pair
//! elements by their labels one to one.

use std::collections::{BTreeMap, HashMap};

use super::functions::{
    avg_over_time, extrapolated_change, histogram_quantile, max_over_time, min_over_time,
    sum_over_time,
};
use super::store::Store;
use crate::compile::expr::{
    AggregateOperator, BinaryOperator, Expr, Function, Grouping, Matching, RangeFunction,
};
use crate::prometheus::{Labels, parse_bucket_bound};

/// How far back an instant selector looks for a sample (Prometheus'
/// default lookback delta).
pub const LOOKBACK_MILLISECONDS: i64 = 5 * 60 * 1000;

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number without labels.
    Scalar(f64),
    /// One value per label set.
    Vector(Vec<Element>),
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// Its labels.
    pub labels: Labels,
    /// Its value.
    pub value: f64,
}

/// Why a plan cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EvaluationError(pub String);

fn error(message: impl Into<String>) -> EvaluationError {
    EvaluationError(message.into())
}

/// Evaluates `expr` at `time` (Unix milliseconds).
pub fn evaluate(expr: &Expr, store: &Store, time: i64) -> Result<Value, EvaluationError> {
    match expr {
        Expr::Number(value) => Ok(Value::Scalar(*value)),
        Expr::Paren(inner) => evaluate(inner, store, time),
        Expr::Negate(inner) => Ok(match evaluate(inner, store, time)? {
            Value::Scalar(value) => Value::Scalar(-value),
            Value::Vector(elements) => Value::Vector(
                elements
                    .into_iter()
                    .map(|element| Element {
                        labels: without_name(element.labels),
                        value: -element.value,
                    })
                    .collect(),
            ),
        }),
        Expr::Vector(inner) => match evaluate(inner, store, time)? {
            Value::Scalar(value) => Ok(Value::Vector(vec![Element {
                labels: Labels::new(),
                value,
            }])),
            Value::Vector(_) => Err(error("vector() takes a scalar")),
        },
        Expr::Instant(selector) => Ok(Value::Vector(
            store
                .select(selector)
                .into_iter()
                .filter_map(|series| {
                    let (_, value) = series.latest(time, LOOKBACK_MILLISECONDS)?;
                    Some(Element {
                        labels: series.labels.clone(),
                        value,
                    })
                })
                .collect(),
        )),
        Expr::Range {
            function,
            selector,
            range,
            offset,
        } => {
            let time = time - offset.as_millis() as i64;
            let start = time - range.as_millis() as i64;
            let elements = store
                .select(selector)
                .into_iter()
                .filter_map(|series| {
                    let points = series.between(start, time);
                    if points.is_empty() {
                        return None;
                    }
                    let value = match function {
                        RangeFunction::Rate => {
                            extrapolated_change(&points, start, time, true, true)?
                        }
                        RangeFunction::Increase => {
                            extrapolated_change(&points, start, time, true, false)?
                        }
                        RangeFunction::Delta => {
                            extrapolated_change(&points, start, time, false, false)?
                        }
                        RangeFunction::MaxOverTime => max_over_time(&points),
                        RangeFunction::MinOverTime => min_over_time(&points),
                        RangeFunction::AvgOverTime => avg_over_time(&points),
                        RangeFunction::SumOverTime => sum_over_time(&points),
                        RangeFunction::CountOverTime => points.len() as f64,
                        RangeFunction::LastOverTime => points[points.len() - 1].1,
                    };
                    // last_over_time keeps the metric name in Prometheus 2.
                    let labels = if *function == RangeFunction::LastOverTime {
                        series.labels.clone()
                    } else {
                        without_name(series.labels.clone())
                    };
                    Some(Element { labels, value })
                })
                .collect();
            Ok(Value::Vector(elements))
        }
        Expr::Aggregate {
            operator,
            grouping,
            inner,
        } => {
            let Value::Vector(elements) = evaluate(inner, store, time)? else {
                return Err(error(format!(
                    "{}() takes an instant vector",
                    operator.name()
                )));
            };
            Ok(Value::Vector(aggregate(*operator, grouping, elements)))
        }
        Expr::Call {
            function,
            arguments,
        } => call(*function, arguments, store, time),
        Expr::Binary {
            operator,
            left,
            right,
            matching,
            return_bool,
        } => {
            let left = evaluate(left, store, time)?;
            let right = evaluate(right, store, time)?;
            binary(*operator, left, right, matching, *return_bool)
        }
    }
}

fn without_name(mut labels: Labels) -> Labels {
    labels.remove("__name__");
    labels
}

fn aggregate(
    operator: AggregateOperator,
    grouping: &Grouping,
    elements: Vec<Element>,
) -> Vec<Element> {
    let mut groups: BTreeMap<Labels, Vec<f64>> = BTreeMap::new();
    for element in elements {
        let key: Labels = match grouping {
            Grouping::All => Labels::new(),
            Grouping::By(names) => element
                .labels
                .into_iter()
                .filter(|(name, _)| names.contains(name))
                .collect(),
            Grouping::Without(names) => element
                .labels
                .into_iter()
                .filter(|(name, _)| name != "__name__" && !names.contains(name))
                .collect(),
        };
        groups.entry(key).or_default().push(element.value);
    }
    groups
        .into_iter()
        .map(|(labels, values)| {
            let value = match operator {
                AggregateOperator::Sum => values.iter().sum(),
                AggregateOperator::Max => values.iter().skip(1).fold(values[0], |max, &value| {
                    if max < value || max.is_nan() {
                        value
                    } else {
                        max
                    }
                }),
                AggregateOperator::Min => values.iter().skip(1).fold(values[0], |min, &value| {
                    if min > value || min.is_nan() {
                        value
                    } else {
                        min
                    }
                }),
                AggregateOperator::Avg => {
                    let mut mean = 0.0;
                    for (index, value) in values.iter().enumerate() {
                        let count = (index + 1) as f64;
                        mean += value / count - mean / count;
                    }
                    mean
                }
                AggregateOperator::Count => values.len() as f64,
            };
            Element { labels, value }
        })
        .collect()
}

fn call(
    function: Function,
    arguments: &[Expr],
    store: &Store,
    time: i64,
) -> Result<Value, EvaluationError> {
    let values = arguments
        .iter()
        .map(|argument| evaluate(argument, store, time))
        .collect::<Result<Vec<_>, _>>()?;
    let arity = |count: usize| {
        if values.len() == count {
            Ok(())
        } else {
            Err(error(format!(
                "{}() takes {count} arguments",
                function.name()
            )))
        }
    };
    let vector_at = |index: usize| match &values[index] {
        Value::Vector(elements) => Ok(elements.clone()),
        Value::Scalar(_) => Err(error(format!(
            "{}() needs an instant vector",
            function.name()
        ))),
    };
    let scalar_at = |index: usize| match &values[index] {
        Value::Scalar(value) => Ok(*value),
        Value::Vector(_) => Err(error(format!("{}() needs a scalar", function.name()))),
    };
    let map = |elements: Vec<Element>, apply: &dyn Fn(f64) -> f64| {
        Value::Vector(
            elements
                .into_iter()
                .map(|element| Element {
                    labels: without_name(element.labels),
                    value: apply(element.value),
                })
                .collect(),
        )
    };
    match function {
        Function::HistogramQuantile => {
            arity(2)?;
            Ok(Value::Vector(quantiles(scalar_at(0)?, vector_at(1)?)))
        }
        Function::Scalar => {
            arity(1)?;
            let elements = vector_at(0)?;
            Ok(Value::Scalar(match elements.as_slice() {
                [element] => element.value,
                _ => f64::NAN,
            }))
        }
        Function::Abs => {
            arity(1)?;
            Ok(map(vector_at(0)?, &f64::abs))
        }
        Function::ClampMin => {
            arity(2)?;
            let minimum = scalar_at(1)?;
            Ok(map(vector_at(0)?, &|value| value.max(minimum)))
        }
        Function::ClampMax => {
            arity(2)?;
            let maximum = scalar_at(1)?;
            Ok(map(vector_at(0)?, &|value| value.min(maximum)))
        }
    }
}

/// `histogram_quantile`: elements are grouped by every label but `le` and
/// the metric name; elements without a readable `le` are ignored.
fn quantiles(q: f64, elements: Vec<Element>) -> Vec<Element> {
    let mut groups: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
    for element in elements {
        let mut labels = without_name(element.labels);
        let Some(le) = labels.remove("le") else {
            continue;
        };
        let Ok(bound) = parse_bucket_bound(&le) else {
            continue;
        };
        groups
            .entry(labels)
            .or_default()
            .push((bound, element.value));
    }
    groups
        .into_iter()
        .map(|(labels, mut buckets)| Element {
            value: histogram_quantile(q, &mut buckets),
            labels,
        })
        .collect()
}

fn apply(operator: BinaryOperator, left: f64, right: f64) -> Option<f64> {
    let truth = |holds: bool| Some(if holds { 1.0 } else { 0.0 });
    match operator {
        BinaryOperator::Add => Some(left + right),
        BinaryOperator::Subtract => Some(left - right),
        BinaryOperator::Multiply => Some(left * right),
        BinaryOperator::Divide => Some(left / right),
        BinaryOperator::Equal => truth(left == right),
        BinaryOperator::NotEqual => truth(left != right),
        BinaryOperator::Less => truth(left < right),
        BinaryOperator::LessOrEqual => truth(left <= right),
        BinaryOperator::Greater => truth(left > right),
        BinaryOperator::GreaterOrEqual => truth(left >= right),
        BinaryOperator::And | BinaryOperator::Or | BinaryOperator::Unless => None,
    }
}

fn binary(
    operator: BinaryOperator,
    left: Value,
    right: Value,
    matching: &Matching,
    return_bool: bool,
) -> Result<Value, EvaluationError> {
    let comparison = operator.is_comparison();
    // The result of a comparison (filtering) keeps the metric name;
    // arithmetic and `bool` comparisons drop it.
    let drops_name = !comparison || return_bool;
    let result = |kept: f64, computed: f64| {
        if comparison && !return_bool {
            (computed == 1.0).then_some(kept)
        } else {
            Some(computed)
        }
    };
    match (left, right) {
        (Value::Scalar(left), Value::Scalar(right)) => {
            if operator.is_set() {
                return Err(error(format!(
                    "'{}' needs vectors on both sides",
                    operator.symbol()
                )));
            }
            if comparison && !return_bool {
                return Err(error("comparisons between scalars need 'bool'"));
            }
            Ok(Value::Scalar(
                apply(operator, left, right).expect("not a set operator"),
            ))
        }
        (Value::Vector(elements), Value::Scalar(scalar))
        | (Value::Scalar(scalar), Value::Vector(elements))
            if operator.is_set() =>
        {
            let _ = (elements, scalar);
            Err(error(format!(
                "'{}' needs vectors on both sides",
                operator.symbol()
            )))
        }
        (Value::Vector(elements), Value::Scalar(scalar)) => Ok(Value::Vector(
            elements
                .into_iter()
                .filter_map(|element| {
                    let computed = apply(operator, element.value, scalar)?;
                    let value = result(element.value, computed)?;
                    let labels = if drops_name {
                        without_name(element.labels)
                    } else {
                        element.labels
                    };
                    Some(Element { labels, value })
                })
                .collect(),
        )),
        (Value::Scalar(scalar), Value::Vector(elements)) => Ok(Value::Vector(
            elements
                .into_iter()
                .filter_map(|element| {
                    let computed = apply(operator, scalar, element.value)?;
                    let value = result(element.value, computed)?;
                    let labels = if drops_name {
                        without_name(element.labels)
                    } else {
                        element.labels
                    };
                    Some(Element { labels, value })
                })
                .collect(),
        )),
        (Value::Vector(left), Value::Vector(right)) => {
            if operator.is_set() {
                return Ok(Value::Vector(set_operation(
                    operator, left, right, matching,
                )));
            }
            let mut by_signature: HashMap<Labels, Element> = HashMap::new();
            for element in right {
                let signature = signature(&element.labels, matching);
                if by_signature.insert(signature, element).is_some() {
                    return Err(error(
                        "many-to-many matching not allowed: the right side has duplicate label sets",
                    ));
                }
            }
            let mut seen = std::collections::HashSet::new();
            let mut output = Vec::new();
            for element in left {
                let signature = signature(&element.labels, matching);
                let Some(other) = by_signature.get(&signature) else {
                    continue;
                };
                if !seen.insert(signature.clone()) {
                    return Err(error(
                        "many-to-one matching must be explicit (group_left/group_right)",
                    ));
                }
                let Some(computed) = apply(operator, element.value, other.value) else {
                    continue;
                };
                let Some(value) = result(element.value, computed) else {
                    continue;
                };
                let mut labels = if drops_name {
                    without_name(element.labels)
                } else {
                    element.labels
                };
                match matching {
                    Matching::AllLabels => {}
                    Matching::On(names) => labels.retain(|name, _| names.contains(name)),
                    Matching::Ignoring(names) => labels.retain(|name, _| !names.contains(name)),
                }
                output.push(Element { labels, value });
            }
            Ok(Value::Vector(output))
        }
    }
}

/// The labels two elements are paired on.
fn signature(labels: &Labels, matching: &Matching) -> Labels {
    labels
        .iter()
        .filter(|(name, _)| match matching {
            Matching::AllLabels => name.as_str() != "__name__",
            Matching::On(names) => names.contains(name),
            Matching::Ignoring(names) => name.as_str() != "__name__" && !names.contains(name),
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

fn set_operation(
    operator: BinaryOperator,
    left: Vec<Element>,
    right: Vec<Element>,
    matching: &Matching,
) -> Vec<Element> {
    let right_signatures: std::collections::HashSet<Labels> = right
        .iter()
        .map(|element| signature(&element.labels, matching))
        .collect();
    match operator {
        BinaryOperator::And => left
            .into_iter()
            .filter(|element| right_signatures.contains(&signature(&element.labels, matching)))
            .collect(),
        BinaryOperator::Unless => left
            .into_iter()
            .filter(|element| !right_signatures.contains(&signature(&element.labels, matching)))
            .collect(),
        _ => {
            let left_signatures: std::collections::HashSet<Labels> = left
                .iter()
                .map(|element| signature(&element.labels, matching))
                .collect();
            let mut output = left;
            output.extend(right.into_iter().filter(|element| {
                !left_signatures.contains(&signature(&element.labels, matching))
            }));
            output
        }
    }
}
