//! The stack's own view: its Prometheus metrics (`--metrics-url`, repeatable), scraped
//! at the start, every few seconds during the run and at the end, reported as changes
//! (counters) and peaks (gauges such as `chat_gateway_connections`).
//!
//! A URL that does not answer is reported as unreachable; the run goes on.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Series kept: the chat services' own and the process figures (CPU, memory).
fn wanted(name: &str) -> bool {
    (name.starts_with("chat_") || name.starts_with("process_")) && !name.contains("_bucket")
}

/// Reads the Prometheus text format: series (name and labels) -> value.
pub fn parse(text: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // `name{labels} value [timestamp]`; label values may hold spaces.
        let value_start = match line.rfind('}') {
            Some(brace) => brace + 1,
            None => line.find(' ').unwrap_or(line.len()),
        };
        let (series, rest) = line.split_at(value_start);
        let Some(value) = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        else {
            continue;
        };
        if wanted(series) {
            samples.insert(series.trim().to_owned(), value);
        }
    }
    samples
}

/// How one series moved during the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub start: f64,
    pub end: f64,
    pub delta: f64,
    /// Highest value seen at any scrape.
    pub peak: f64,
}

/// One metrics endpoint's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scraped {
    pub url: String,
    pub reachable: bool,
    pub series: BTreeMap<String, Change>,
}

impl Scraped {
    /// The change of the series with exactly this name and labels.
    pub fn get(&self, series: &str) -> Option<Change> {
        self.series.get(series).copied()
    }

    /// Sum of the deltas of every series of metric `name` (all label sets).
    pub fn delta_of(&self, name: &str) -> Option<f64> {
        let mut found = false;
        let mut sum = 0.0;
        for (series, change) in &self.series {
            if series == name || series.starts_with(&format!("{name}{{")) {
                found = true;
                sum += change.delta;
            }
        }
        found.then_some(sum)
    }
}

#[derive(Default)]
struct Tracker {
    first: Option<HashMap<String, f64>>,
    last: HashMap<String, f64>,
    peak: HashMap<String, f64>,
}

impl Tracker {
    fn observe(&mut self, samples: HashMap<String, f64>) {
        for (series, value) in &samples {
            let peak = self.peak.entry(series.clone()).or_insert(*value);
            *peak = peak.max(*value);
        }
        if self.first.is_none() {
            self.first = Some(samples.clone());
        }
        self.last = samples;
    }

    fn finish(self, url: String) -> Scraped {
        let Some(first) = self.first else {
            return Scraped {
                url,
                reachable: false,
                series: BTreeMap::new(),
            };
        };
        let series = self
            .last
            .iter()
            .map(|(series, end)| {
                let start = first.get(series).copied().unwrap_or(0.0);
                let change = Change {
                    start,
                    end: *end,
                    delta: end - start,
                    peak: self.peak.get(series).copied().unwrap_or(*end),
                };
                (series.clone(), change)
            })
            .collect();
        Scraped {
            url,
            reachable: true,
            series,
        }
    }
}

/// Scrapes the endpoints in the background until [`Watcher::finish`].
pub struct Watcher {
    stop: watch::Sender<bool>,
    task: JoinHandle<Vec<Scraped>>,
}

impl Watcher {
    /// Starts scraping `urls` every `every` (the first scrape happens at once).
    pub fn start(urls: Vec<String>, every: Duration) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default();
            let mut trackers: Vec<Tracker> = urls.iter().map(|_| Tracker::default()).collect();
            loop {
                for (url, tracker) in urls.iter().zip(&mut trackers) {
                    if let Ok(text) = scrape(&client, url).await {
                        tracker.observe(parse(&text));
                    }
                }
                if *stopped.borrow() {
                    break;
                }
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    _ = stopped.changed() => {}
                }
            }
            urls.into_iter()
                .zip(trackers)
                .map(|(url, tracker)| tracker.finish(url))
                .collect()
        });
        Self { stop, task }
    }

    /// Scrapes a last time and returns what moved.
    pub async fn finish(self) -> Vec<Scraped> {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_default()
    }
}

async fn scrape(client: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    Ok(client
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP chat_gateway_connections Open sockets
# TYPE chat_gateway_connections gauge
chat_gateway_connections 12
chat_gateway_messages_sent_total{outcome="ok"} 100
chat_gateway_messages_sent_total{outcome="a b"} 3 1700000000000
chat_gateway_send_duration_seconds_bucket{le="0.1"} 5
http_server_requests_total{route="/api"} 9
process_cpu_seconds_total 1.5
"#;

    #[test]
    fn the_text_format_is_read_keeping_chat_and_process_series() {
        let samples = parse(TEXT);

        assert_eq!(samples["chat_gateway_connections"], 12.0);
        assert_eq!(
            samples[r#"chat_gateway_messages_sent_total{outcome="ok"}"#],
            100.0
        );
        assert_eq!(
            samples[r#"chat_gateway_messages_sent_total{outcome="a b"}"#],
            3.0
        );
        assert_eq!(samples["process_cpu_seconds_total"], 1.5);
        assert_eq!(samples.len(), 4, "buckets and other series are left out");
    }

    #[test]
    fn changes_and_peaks_are_tracked_between_scrapes() {
        let mut tracker = Tracker::default();
        tracker.observe(parse(
            "chat_gateway_connections 0\nchat_gateway_deliveries_total 10",
        ));
        tracker.observe(parse(
            "chat_gateway_connections 500\nchat_gateway_deliveries_total 400",
        ));
        tracker.observe(parse(
            "chat_gateway_connections 3\nchat_gateway_deliveries_total 1010",
        ));

        let scraped = tracker.finish("http://gw/metrics".to_owned());

        assert!(scraped.reachable);
        let connections = scraped.get("chat_gateway_connections").expect("series");
        assert_eq!(
            (connections.start, connections.end, connections.peak),
            (0.0, 3.0, 500.0)
        );
        assert_eq!(
            scraped.delta_of("chat_gateway_deliveries_total"),
            Some(1000.0)
        );
        assert_eq!(scraped.delta_of("chat_missing"), None);
    }

    #[test]
    fn an_endpoint_never_reached_is_reported_as_such() {
        let scraped = Tracker::default().finish("http://nowhere/metrics".to_owned());
        assert!(!scraped.reachable);
    }
}
