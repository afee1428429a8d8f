//! Prometheus metrics (jkgate.ini `MetricsPath` / `MetricsListen`), made with the
//! `prometheus-client` crate: in the OpenMetrics text format for a scraper that asks for it
//! (`Accept: application/openmetrics-text`, as Prometheus does), else in Prometheus' classic
//! text exposition format (what `curl` and `promtool check metrics` read).
//!
//! Nothing is collected for the metrics on the request path: the numbers are those the
//! status worker shows (the balancer's member counters, each pool's atomics) plus a few
//! atomics of their own (pool waits, the response-time histogram), and they are read and
//! rendered when the endpoint is scraped, by a [`Collector`] over the workers of the
//! gateway serving the scrape. docs/metrics.md lists every family.
//!
//! Every family is per lb worker (`worker` label) or per member (`worker` and `member`);
//! state, activation and health are state sets: one series per possible value, 1 for the
//! current one.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::Ordering;

use crate::backend::AjpWorker;
use crate::backend::dispatch::{Target, Workers};
use crate::backend::lb::LoadBalancer;
use crate::balancer::{Activation, Health, LbStatus, MemberState, MemberStatus};

/// The two text formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposition {
    /// OpenMetrics 1.0 text (counter families named without `_total`, `# EOF` at the end).
    OpenMetrics,
    /// Prometheus' text exposition format 0.0.4 (families named as their samples).
    Text,
}

impl Exposition {
    /// The format a scraper's `Accept` header asks for: OpenMetrics when it names it.
    pub fn from_accept(accept: Option<&str>) -> Exposition {
        match accept {
            Some(accept) if accept.contains("application/openmetrics-text") => {
                Exposition::OpenMetrics
            }
            _ => Exposition::Text,
        }
    }

    /// The `Content-Type` of the answer.
    pub fn content_type(self) -> &'static str {
        match self {
            Exposition::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Exposition::Text => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// Every mod_jk state, for the state set.
const STATES: [MemberState; 7] = [
    MemberState::Idle,
    MemberState::Ok,
    MemberState::Recovering,
    MemberState::ForcedRecovery,
    MemberState::Busy,
    MemberState::Error,
    MemberState::Probing,
];
/// Every activation.
const ACTIVATIONS: [Activation; 3] = [
    Activation::Active,
    Activation::Disabled,
    Activation::Stopped,
];
/// Every health verdict.
const HEALTHS: [Health; 3] = [Health::Unchecked, Health::Up, Health::Down];

/// One lb as read at the scrape.
#[derive(Debug)]
struct LbReading {
    name: String,
    status: LbStatus,
    members: Vec<std::sync::Arc<AjpWorker>>,
}

/// The workers of one gateway, read when a scrape encodes them.
#[derive(Debug)]
struct GatewayCollector {
    lbs: Vec<LbReading>,
}

impl GatewayCollector {
    fn new(workers: &Workers) -> Self {
        let mut lbs: Vec<LbReading> = workers
            .iter()
            .filter_map(|(name, target)| match target {
                Target::Balanced(lb) => Some(read_lb(name, lb)),
                Target::Ajp(_) => None,
            })
            .collect();
        lbs.sort_by(|a, b| a.name.cmp(&b.name));
        GatewayCollector { lbs }
    }

    /// Each member with its lb name, status and worker.
    fn members(&self) -> impl Iterator<Item = (&str, &MemberStatus, &AjpWorker)> {
        self.lbs.iter().flat_map(|lb| {
            lb.status
                .members
                .iter()
                .zip(&lb.members)
                .map(move |(status, worker)| (lb.name.as_str(), status, worker.as_ref()))
        })
    }
}

fn read_lb(name: &str, lb: &LoadBalancer) -> LbReading {
    LbReading {
        name: name.to_owned(),
        status: lb.balancer().status(),
        members: lb.members().to_vec(),
    }
}

/// The text of the metrics of `workers`, now, in `format`.
pub fn render(workers: &Workers, format: Exposition) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(GatewayCollector::new(workers)));
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
    match format {
        Exposition::OpenMetrics => out,
        Exposition::Text => classic_text(&out),
    }
}

/// OpenMetrics text as Prometheus' classic text format: a counter family `x` is named by its
/// samples, `x_total`, in its `# HELP` and `# TYPE` lines (the classic format has no family
/// name apart from the samples'), and the `# EOF` marker goes. Everything else (gauges,
/// histograms, labels, values) is written the same in both.
fn classic_text(open_metrics: &str) -> String {
    let mut out = String::with_capacity(open_metrics.len() + 512);
    let mut help: Option<&str> = None;
    for line in open_metrics.lines() {
        if line == "# EOF" {
            continue;
        }
        if line.starts_with("# HELP ") {
            // Held until the TYPE line says whether the family is a counter.
            if let Some(previous) = help.replace(line) {
                out.push_str(previous);
                out.push('\n');
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let counter = rest
                .split_once(' ')
                .filter(|(_, kind)| *kind == "counter")
                .map(|(name, _)| name);
            if let Some(held) = help.take() {
                match counter {
                    Some(name) => {
                        let text = held.strip_prefix("# HELP ").unwrap_or(held);
                        let text = text.strip_prefix(name).unwrap_or(text);
                        out.push_str(&format!("# HELP {name}_total{text}\n"));
                    }
                    None => {
                        out.push_str(held);
                        out.push('\n');
                    }
                }
            }
            match counter {
                Some(name) => out.push_str(&format!("# TYPE {name}_total counter\n")),
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

type Labels<'a> = [(&'static str, &'a str); 2];

/// Writes one family of counters or gauges, one series per row.
fn family<'a, I>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: MetricType,
    rows: I,
) -> Result<(), std::fmt::Error>
where
    I: IntoIterator<Item = (Vec<(&'static str, &'a str)>, f64)>,
{
    let mut family = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in rows {
        let series = family.encode_family(&labels)?;
        match kind {
            MetricType::Counter => ConstCounter::new(value).encode(series)?,
            _ => ConstGauge::new(value).encode(series)?,
        }
    }
    Ok(())
}

fn member_labels<'a>(lb: &'a str, member: &'a MemberStatus) -> Labels<'a> {
    [("worker", lb), ("member", member.name.as_str())]
}

impl Collector for GatewayCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        use MetricType::{Counter, Gauge};
        let lb_rows = |value: fn(&LbReading) -> f64| {
            self.lbs
                .iter()
                .map(move |lb| (vec![("worker", lb.name.as_str())], value(lb)))
                .collect::<Vec<_>>()
        };
        family(
            &mut encoder,
            "jkgate_lb_busy",
            "Requests in flight on the lb.",
            Gauge,
            lb_rows(|lb| lb.status.busy as f64),
        )?;
        family(
            &mut encoder,
            "jkgate_lb_max_busy",
            "Most requests in flight on the lb at once since the last reset.",
            Gauge,
            lb_rows(|lb| lb.status.max_busy as f64),
        )?;
        family(
            &mut encoder,
            "jkgate_lb_members",
            "Members of the lb.",
            Gauge,
            lb_rows(|lb| lb.status.members.len() as f64),
        )?;

        let rows = |value: fn(&MemberStatus, &AjpWorker) -> f64| {
            self.members()
                .map(move |(lb, m, w)| (member_labels(lb, m).to_vec(), value(m, w)))
                .collect::<Vec<_>>()
        };
        family(
            &mut encoder,
            "jkgate_member_requests",
            "Attempts the lb started on the member (mod_jk's elected).",
            Counter,
            rows(|m, _| m.elected as f64),
        )?;
        family(
            &mut encoder,
            "jkgate_member_sessions",
            "Requests without a session id the member took (mod_jk's sessions).",
            Counter,
            rows(|m, _| m.sessions as f64),
        )?;
        family(
            &mut encoder,
            "jkgate_member_errors",
            "Failed attempts counted against the member (mod_jk's errors).",
            Counter,
            rows(|m, _| m.errors as f64),
        )?;
        family(
            &mut encoder,
            "jkgate_member_client_errors",
            "Attempts that failed because of the client.",
            Counter,
            rows(|m, _| m.client_errors as f64),
        )?;
        family(
            &mut encoder,
            "jkgate_member_reply_timeouts",
            "Requests on the member that ended in a reply timeout.",
            Counter,
            rows(|_, w| w.pool().stats.reply_timeouts.load(Ordering::Relaxed) as f64),
        )?;
        family(
            &mut encoder,
            "jkgate_member_sent_bytes",
            "AJP bytes sent to the member (mod_jk's transferred).",
            Counter,
            rows(|_, w| w.pool().stats.bytes_sent.load(Ordering::Relaxed) as f64),
        )?;
        family(
            &mut encoder,
            "jkgate_member_received_bytes",
            "AJP bytes read from the member (mod_jk's read).",
            Counter,
            rows(|_, w| w.pool().stats.bytes_received.load(Ordering::Relaxed) as f64),
        )?;
        family(
            &mut encoder,
            "jkgate_member_busy",
            "Requests in flight on the member.",
            Gauge,
            rows(|m, _| m.busy as f64),
        )?;
        family(
            &mut encoder,
            "jkgate_member_max_busy",
            "Most requests in flight on the member at once since the last reset.",
            Gauge,
            rows(|m, _| m.max_busy as f64),
        )?;
        family(
            &mut encoder,
            "jkgate_member_connections",
            "Open AJP connections to the member (idle and in use).",
            Gauge,
            rows(|_, w| w.pool().connected() as f64),
        )?;
        family(
            &mut encoder,
            "jkgate_member_max_connections",
            "Most open AJP connections to the member at once since the last reset.",
            Gauge,
            rows(|_, w| w.pool().stats.max_connected.load(Ordering::Relaxed) as f64),
        )?;
        family(
            &mut encoder,
            "jkgate_member_lb_value",
            "The member's load value (mod_jk's lbvalue).",
            Gauge,
            rows(|m, _| m.lb_value as f64),
        )?;
        family(
            &mut encoder,
            "jkgate_member_failovers",
            "Failed attempts on the member after which the request was tried again.",
            Counter,
            rows(|m, _| m.failovers as f64),
        )?;
        family(
            &mut encoder,
            "jkgate_member_refused_replays",
            "Failed attempts on the member not tried again because the request may not be sent twice.",
            Counter,
            rows(|m, _| m.refused_replays as f64),
        )?;
        family(
            &mut encoder,
            "jkgate_member_pool_waits",
            "Requests that found every connection slot of the member taken and waited.",
            Counter,
            rows(|_, w| w.pool().stats.waits.load(Ordering::Relaxed) as f64),
        )?;
        family(
            &mut encoder,
            "jkgate_member_pool_wait_seconds",
            "Time requests waited for a connection slot of the member.",
            Counter,
            rows(|_, w| w.pool().stats.wait_micros.load(Ordering::Relaxed) as f64 / 1e6),
        )?;
        family(
            &mut encoder,
            "jkgate_member_pool_wait_timeouts",
            "Waits for a connection slot that ended without one.",
            Counter,
            rows(|_, w| w.pool().stats.wait_timeouts.load(Ordering::Relaxed) as f64),
        )?;
        family(
            &mut encoder,
            "jkgate_member_pool_waiting",
            "Requests waiting for a connection slot of the member now.",
            Gauge,
            rows(|_, w| w.pool().stats.waiting.load(Ordering::Relaxed) as f64),
        )?;

        let state_rows = self.members().flat_map(|(lb, m, _)| {
            STATES.iter().map(move |s| {
                let mut labels = member_labels(lb, m).to_vec();
                labels.push(("state", s.status_name()));
                (labels, f64::from(u8::from(m.state == *s)))
            })
        });
        family(
            &mut encoder,
            "jkgate_member_state",
            "The member's mod_jk state (1 for the current one).",
            Gauge,
            state_rows,
        )?;
        let activation_rows = self.members().flat_map(|(lb, m, _)| {
            ACTIVATIONS.iter().map(move |a| {
                let mut labels = member_labels(lb, m).to_vec();
                labels.push(("activation", a.status_name()));
                (labels, f64::from(u8::from(m.activation == *a)))
            })
        });
        family(
            &mut encoder,
            "jkgate_member_activation",
            "The member's activation (1 for the current one).",
            Gauge,
            activation_rows,
        )?;
        let health_rows = self.members().flat_map(|(lb, m, _)| {
            HEALTHS.iter().map(move |h| {
                let mut labels = member_labels(lb, m).to_vec();
                labels.push(("health", h.status_name()));
                (labels, f64::from(u8::from(m.health == *h)))
            })
        });
        family(
            &mut encoder,
            "jkgate_member_health",
            "The application health check's verdict (1 for the current one; N/A: no check).",
            Gauge,
            health_rows,
        )?;

        let mut histogram = encoder.encode_descriptor(
            "jkgate_member_response_seconds",
            "Response times of the requests the member served (each attempt, from its start, a wait for a connection included, to the end of the response).",
            None,
            MetricType::Histogram,
        )?;
        for (lb, m, w) in self.members() {
            let snapshot = w.pool().stats.latency.snapshot();
            let labels = member_labels(lb, m);
            histogram
                .encode_family(&labels)?
                .encode_histogram::<Vec<(String, String)>>(
                    snapshot.sum,
                    snapshot.count,
                    &snapshot.buckets,
                    None,
                )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_text_names_counter_families_by_their_samples() {
        let open = "# HELP a_requests Requests.\n# TYPE a_requests counter\na_requests_total{m=\"x\"} 3\n\
                    # HELP a_busy Busy.\n# TYPE a_busy gauge\na_busy 1.0\n\
                    # HELP a_seconds Times.\n# TYPE a_seconds histogram\na_seconds_sum 0.5\n# EOF\n";
        assert_eq!(
            classic_text(open),
            "# HELP a_requests_total Requests.\n# TYPE a_requests_total counter\na_requests_total{m=\"x\"} 3\n\
             # HELP a_busy Busy.\n# TYPE a_busy gauge\na_busy 1.0\n\
             # HELP a_seconds Times.\n# TYPE a_seconds histogram\na_seconds_sum 0.5\n"
        );
    }

    #[test]
    fn accept_picks_the_format() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(
            Exposition::from_accept(Some(prometheus)),
            Exposition::OpenMetrics
        );
        assert_eq!(Exposition::from_accept(Some("*/*")), Exposition::Text);
        assert_eq!(Exposition::from_accept(None), Exposition::Text);
    }
}
