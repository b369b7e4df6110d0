//! The report as one self-contained HTML page: tables and inline SVG charts (latency
//! and throughput per second), no scripts, no external resources, so it opens anywhere
//! and can be attached to an issue as it is.

use std::fmt::Write;

use super::Report;
use crate::metrics::Summary;

const WIDTH: f64 = 920.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 30.0;

/// A moment marked across a chart (a fault starting), in seconds from the run's start.
pub struct Mark<'a> {
    pub second: f64,
    pub label: &'a str,
}

/// One line of a chart.
pub struct Series<'a> {
    pub name: &'a str,
    pub color: &'a str,
    pub values: Vec<f64>,
}

/// The whole page.
pub fn render(report: &Report) -> String {
    let mut page = String::new();
    let title = format!("Load test {} — {}", report.run, report.scenario.name);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    let _ = writeln!(
        page,
        "<p class=\"meta\">{} · started {} · {:.0} s · {} users, peak {} connected · {} process(es)</p>",
        escape(&report.url),
        escape(&report.started_at),
        report.duration,
        report.users,
        report.peak_connected,
        report.processes
    );
    checks(&mut page, report);
    latencies(&mut page, report);
    delivery(&mut page, report);

    faults(&mut page, report);
    let marks: Vec<Mark<'_>> = report
        .verdict
        .faults
        .iter()
        .filter_map(|tally| tally.fault.as_ref())
        .map(|fault| Mark {
            second: report.second_of(fault.started_at),
            label: &fault.name,
        })
        .collect();
    let seconds = &report.seconds;
    let column = |f: fn(&super::SecondRow) -> f64| seconds.iter().map(f).collect::<Vec<f64>>();
    page.push_str("<h2>Latency over time</h2>\n");
    page.push_str(&line_chart(
        "Latency per second",
        "ms",
        &[
            Series {
                name: "e2e p50",
                color: "#2b7bb9",
                values: column(|s| s.e2e_p50),
            },
            Series {
                name: "e2e p99",
                color: "#d9534f",
                values: column(|s| s.e2e_p99),
            },
            Series {
                name: "ack p99",
                color: "#8e6c8a",
                values: column(|s| s.ack_p99),
            },
        ],
        &marks,
    ));
    page.push_str("<h2>Throughput</h2>\n");
    page.push_str(&line_chart(
        "Deliveries per second",
        "/s",
        &[Series {
            name: "deliveries",
            color: "#2e8b57",
            values: column(|s| s.deliveries as f64),
        }],
        &marks,
    ));
    page.push_str(&line_chart(
        "Sends, acks and errors per second",
        "/s",
        &[
            Series {
                name: "sends",
                color: "#2b7bb9",
                values: column(|s| s.sends as f64),
            },
            Series {
                name: "acks",
                color: "#f0ad4e",
                values: column(|s| s.acks as f64),
            },
            Series {
                name: "errors",
                color: "#d9534f",
                values: column(|s| s.errors as f64),
            },
        ],
        &marks,
    ));
    page.push_str(&line_chart(
        "Users connected",
        "users",
        &[Series {
            name: "connected",
            color: "#555555",
            values: column(|s| s.users as f64),
        }],
        &marks,
    ));
    stack(&mut page, report);
    page.push_str("</body></html>\n");
    page
}

fn checks(page: &mut String, report: &Report) {
    if report.checks.is_empty() {
        return;
    }
    page.push_str("<h2>Thresholds</h2>\n<table><tr><th></th><th>check</th><th>actual</th><th>limit</th></tr>\n");
    for check in &report.checks {
        let _ = writeln!(
            page,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{:.3}</td><td>{}</td></tr>",
            if check.passed { "pass" } else { "fail" },
            if check.passed { "PASS" } else { "FAIL" },
            escape(&check.name),
            check.actual,
            check.limit
        );
    }
    page.push_str("</table>\n");
}

/// The faults of the run, each with what its span saw (see `faults.rs`).
fn faults(page: &mut String, report: &Report) {
    if report.verdict.faults.is_empty() {
        return;
    }
    page.push_str(
        "<h2>Faults</h2>\n<table><tr><th>fault</th><th>at</th><th>served again after</th>\
         <th>acked</th><th>lost</th><th>duplicated</th><th>out of order</th><th>resyncs</th></tr>\n",
    );
    for tally in &report.verdict.faults {
        let (name, at, served) = match &tally.fault {
            Some(fault) => (
                escape(&fault.name),
                format!("{:.1} s", report.second_of(fault.started_at)),
                fault.ended_at.map_or_else(
                    || "never".to_owned(),
                    |end| format!("{:.1} s", (end - fault.started_at) as f64 / 1e9),
                ),
            ),
            None => ("between faults".to_owned(), String::new(), String::new()),
        };
        let clean = tally.lost == 0 && tally.duplicated == 0;
        let _ = writeln!(
            page,
            "<tr class=\"{}\"><th>{name}</th><td>{at}</td><td>{served}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            if clean { "pass" } else { "fail" },
            tally.acked,
            tally.lost,
            tally.duplicated,
            tally.out_of_order,
            tally.resyncs
        );
    }
    page.push_str("</table>\n");
}

fn latencies(page: &mut String, report: &Report) {
    page.push_str(
        "<h2>Latency (ms)</h2>\n<table><tr><th></th><th>p50</th><th>p90</th><th>p99</th>\
         <th>p99.9</th><th>max</th><th>mean</th><th>count</th></tr>\n",
    );
    let row = |name: &str, s: &Summary| {
        format!(
            "<tr><th>{name}</th><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td>\
             <td>{:.2}</td><td>{:.2}</td><td>{}</td></tr>\n",
            s.p50, s.p90, s.p99, s.p999, s.max, s.mean, s.count
        )
    };
    page.push_str(&row("connect", &report.connect));
    page.push_str(&row("ack", &report.ack));
    page.push_str(&row("end-to-end", &report.e2e));
    page.push_str("</table>\n");
}

fn delivery(page: &mut String, report: &Report) {
    let v = &report.verdict;
    let c = &report.counts;
    let r = &report.rates;
    let rows: Vec<(&str, String)> = vec![
        ("acked messages", v.acked_messages.to_string()),
        ("expected deliveries", v.expected.to_string()),
        ("delivered", v.delivered.to_string()),
        ("lost", v.lost.to_string()),
        ("duplicated", v.duplicated.to_string()),
        ("out of order", v.out_of_order.to_string()),
        ("replayed on resume", v.stats.replayed.to_string()),
        ("resyncs", v.stats.resyncs.to_string()),
        ("sends (retried)", format!("{} ({})", c.sends, c.retries)),
        ("sends deferred", c.deferred.to_string()),
        ("ack timeouts", c.ack_timeouts.to_string()),
        (
            "rates",
            format!(
                "sends {:.1}/s, deliveries {:.1}/s (peak {}/s)",
                r.sends, r.deliveries, r.peak_deliveries
            ),
        ),
        (
            "connects (failed)",
            format!("{} ({})", c.connects, c.connect_failures),
        ),
        ("reconnects", c.reconnects.to_string()),
        ("rooms resumed", c.resumes.to_string()),
        ("connections killed", c.kills.to_string()),
        (
            "load tool CPU",
            report
                .client_cpu_seconds
                .map_or_else(|| "-".to_owned(), |cpu| format!("{cpu:.1} s")),
        ),
        (
            "errors",
            format!("{} ({:.3}% of sends)", c.errors, report.error_rate * 100.0),
        ),
    ];
    page.push_str("<h2>Delivery</h2>\n<table>\n");
    for (name, value) in rows {
        let bad = matches!(name, "lost" | "duplicated") && value != "0";
        let _ = writeln!(
            page,
            "<tr{}><th>{name}</th><td>{}</td></tr>",
            if bad { " class=\"fail\"" } else { "" },
            escape(&value)
        );
    }
    page.push_str("</table>\n");
    for (title, map) in [
        ("Errors by code", &report.errors),
        ("Close codes", &report.close_codes),
    ] {
        if map.is_empty() {
            continue;
        }
        let _ = writeln!(page, "<h3>{title}</h3>\n<table>");
        for (code, count) in map {
            let _ = writeln!(page, "<tr><th>{}</th><td>{count}</td></tr>", escape(code));
        }
        page.push_str("</table>\n");
    }
    if !v.lost_samples.is_empty() {
        page.push_str("<h3>Lost deliveries (first few)</h3>\n<table><tr><th>recipient</th><th>room</th><th>position</th><th>sender</th><th>seq</th></tr>\n");
        for lost in &v.lost_samples {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}:{}</td><td>{}</td><td>{}</td></tr>",
                lost.recipient,
                lost.room,
                lost.position.epoch,
                lost.position.seq,
                lost.sender,
                lost.seq
            );
        }
        page.push_str("</table>\n");
    }
}

fn stack(page: &mut String, report: &Report) {
    if report.scraped.is_empty() {
        return;
    }
    page.push_str("<h2>Stack metrics</h2>\n");
    for scraped in &report.scraped {
        let _ = writeln!(page, "<h3>{}</h3>", escape(&scraped.url));
        if !scraped.reachable {
            page.push_str("<p>unreachable</p>\n");
            continue;
        }
        page.push_str("<table><tr><th>series</th><th>start</th><th>end</th><th>change</th><th>peak</th></tr>\n");
        for (series, change) in &scraped.series {
            let _ = writeln!(
                page,
                "<tr><td class=\"series\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(series),
                number(change.start),
                number(change.end),
                number(change.delta),
                number(change.peak)
            );
        }
        page.push_str("</table>\n");
    }
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.3}")
    }
}

/// An SVG line chart of per-second series (x: seconds since the start).
pub fn line_chart(title: &str, unit: &str, series: &[Series<'_>], marks: &[Mark<'_>]) -> String {
    let points = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    let top = nice_ceiling(
        series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0, f64::max),
    );
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| LEFT + plot_width * i as f64 / (points.max(2) - 1) as f64;
    let y = |v: f64| TOP + plot_height * (1.0 - v / top);

    let mut svg = String::new();
    let _ = write!(
        svg,
        "<figure><svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <text x=\"{LEFT}\" y=\"18\" class=\"title\">{}</text>",
        escape(title),
        escape(title)
    );
    // Horizontal grid and y labels.
    for step in 0..=4 {
        let value = top * f64::from(step) / 4.0;
        let at = y(value);
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{at:.1}\" x2=\"{:.1}\" y2=\"{at:.1}\" class=\"grid\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"end\">{} {}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            at + 4.0,
            short(value),
            escape(unit)
        );
    }
    // X labels: about ten.
    let every = (points / 10).max(1);
    for i in (0..points).step_by(every) {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"middle\">{i}s</text>",
            x(i),
            HEIGHT - 10.0
        );
    }
    for mark in marks {
        if points < 2 || mark.second < 0.0 || mark.second > (points - 1) as f64 {
            continue;
        }
        let at = LEFT + plot_width * mark.second / (points - 1) as f64;
        let _ = write!(
            svg,
            "<line x1=\"{at:.1}\" y1=\"{TOP}\" x2=\"{at:.1}\" y2=\"{:.1}\" class=\"mark\">\
             <title>{}</title></line><text x=\"{:.1}\" y=\"{:.1}\" class=\"mark-label\">{}</text>",
            HEIGHT - BOTTOM,
            escape(mark.label),
            at + 3.0,
            TOP + 10.0,
            escape(mark.label)
        );
    }
    for (n, s) in series.iter().enumerate() {
        if s.values.is_empty() {
            continue;
        }
        let path: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            svg,
            "<polyline class=\"line\" stroke=\"{}\" points=\"{}\"><title>{}</title></polyline>",
            s.color,
            path.join(" "),
            escape(s.name)
        );
        // Points with their values on hover, while there are few enough.
        if s.values.len() <= 400 {
            for (i, v) in s.values.iter().enumerate() {
                let _ = write!(
                    svg,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"{}\"><title>{} at {i}s: {} {}</title></circle>",
                    x(i),
                    y(*v),
                    s.color,
                    escape(s.name),
                    short(*v),
                    escape(unit)
                );
            }
        }
        let legend_x = WIDTH - RIGHT - 120.0 * (series.len() - n) as f64;
        let _ = write!(
            svg,
            "<rect x=\"{legend_x:.1}\" y=\"9\" width=\"12\" height=\"4\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"15\" class=\"axis\">{}</text>",
            s.color,
            legend_x + 16.0,
            escape(s.name)
        );
    }
    svg.push_str("</svg></figure>\n");
    svg
}

/// A round number at or above `value` (1, 2, 2.5 or 5 times a power of ten).
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|candidate| *candidate >= value)
        .unwrap_or(10.0 * magnitude)
}

fn short(value: f64) -> String {
    if value >= 10_000.0 {
        format!("{:.0}k", value / 1000.0)
    } else if value >= 100.0 || value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:960px;color:#222}\
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}h3{font-size:15px}\
.meta{color:#666}table{border-collapse:collapse;margin:8px 0}th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}\
th{text-align:left;font-weight:600}td.series{text-align:left;font-family:monospace;font-size:12px}\
tr.fail td,tr.fail th{color:#b52b27;font-weight:600}tr.pass td:first-child{color:#2e7d32}\
figure{margin:12px 0}svg.chart{width:100%;height:auto;background:#fcfcfc;border:1px solid #eee}\
.grid{stroke:#e5e5e5}.mark{stroke:#b52b27;stroke-dasharray:4 3}.mark-label{font-size:10px;fill:#b52b27}.axis{font-size:11px;fill:#666}.title{font-size:13px;font-weight:600;fill:#333}\
.line{fill:none;stroke-width:1.8}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_self_contained_and_has_the_charts() {
        let report = super::super::tests::sample();
        let page = render(&report);

        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("Latency per second"));
        assert!(page.contains("Deliveries per second"));
        assert!(page.contains("Users connected"));
        assert_eq!(page.matches("<svg").count(), 4, "four charts");
        assert!(page.contains("<polyline"));
        assert!(page.contains("e2e p99"));
        assert!(page.contains("FAIL"), "the missed threshold shows");
        assert!(page.contains("<h2>Faults</h2>") && page.contains("<th>Redis restarted</th>"));
        assert!(!page.contains("<script src"), "no external scripts");
        assert!(
            !page.contains("http://cdn") && !page.contains("https://"),
            "no external resources"
        );
    }

    #[test]
    fn charts_scale_to_round_numbers_and_escape_names() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.3), 10.0);
        assert_eq!(nice_ceiling(18.0), 20.0);
        assert_eq!(nice_ceiling(2100.0), 2500.0);
        let chart = line_chart(
            "a <b>",
            "ms",
            &[Series {
                name: "x&y",
                color: "#000",
                values: vec![1.0, 3.0, 2.0],
            }],
            &[
                Mark {
                    second: 1.0,
                    label: "Redis <restarted>",
                },
                Mark {
                    second: 9.0,
                    label: "past the end",
                },
            ],
        );
        assert!(chart.contains("a &lt;b&gt;") && chart.contains("x&amp;y"));
        assert_eq!(chart.matches("class=\"mark\"").count(), 1, "{chart}");
        assert!(chart.contains("Redis &lt;restarted&gt;"));
        assert_eq!(chart.matches("<circle").count(), 3);
    }
}
