//! The summary printed when a run ends.

use std::fmt::Write;

use super::Report;
use crate::metrics::Summary;

/// The report as a plain-text table.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let v = &report.verdict;
    let c = &report.counts;
    let _ = writeln!(
        out,
        "\nrun {} · scenario {} · {} · {:.0} s · {} users (peak {} connected) · {} process(es)",
        report.run,
        report.scenario.name,
        report.url,
        report.duration,
        report.users,
        report.peak_connected,
        report.processes
    );
    let _ = writeln!(
        out,
        "\n{:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "latency", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "mean ms", "count"
    );
    for (name, summary) in [
        ("connect", &report.connect),
        ("ack", &report.ack),
        ("e2e", &report.e2e),
    ] {
        let _ = writeln!(out, "{}", latency_row(name, summary));
    }
    let r = &report.rates;
    let _ = writeln!(
        out,
        "\nrates      sends {:.1}/s (peak {}/s) · acks {:.1}/s · deliveries {:.1}/s (peak {}/s)",
        r.sends, r.peak_sends, r.acks, r.deliveries, r.peak_deliveries
    );
    if let Some(cpu) = report.client_cpu_seconds {
        let _ = writeln!(
            out,
            "client     {cpu:.1} CPU s ({:.0} deliveries per CPU s of the load tool)",
            report.counts.deliveries as f64 / cpu.max(0.001)
        );
    }
    let _ = writeln!(
        out,
        "delivery   {} acked messages · expected {} · delivered {} · lost {} · duplicated {} · out of order {}",
        v.acked_messages, v.expected, v.delivered, v.lost, v.duplicated, v.out_of_order
    );
    let _ = writeln!(
        out,
        "           replayed on resume {} · resyncs {} · skipped positions {} · stored twice {}",
        v.stats.replayed, v.stats.resyncs, v.stats.skipped, v.stored_twice
    );
    let _ = writeln!(
        out,
        "sockets    connects {} · failed {} · reconnects {} · rooms resumed {} · killed {}",
        c.connects, c.connect_failures, c.reconnects, c.resumes, c.kills
    );
    let _ = writeln!(
        out,
        "sends      {} · retried {} · deferred {} · ack timeouts {} · errors {} ({:.3}% of sends)",
        c.sends,
        c.retries,
        c.deferred,
        c.ack_timeouts,
        c.errors,
        report.error_rate * 100.0
    );
    if !report.errors.is_empty() {
        let _ = writeln!(out, "errors     {}", pairs(&report.errors));
    }
    if !report.close_codes.is_empty() {
        let _ = writeln!(out, "closes     {}", pairs(&report.close_codes));
    }
    for lost in v.lost_samples.iter().take(5) {
        let _ = writeln!(
            out,
            "  lost: user {} room {} position {}:{} (from user {} seq {})",
            lost.recipient,
            lost.room,
            lost.position.epoch,
            lost.position.seq,
            lost.sender,
            lost.seq
        );
    }
    faults(&mut out, report);
    let s = &report.stack;
    if !report.scraped.is_empty() {
        let reachable = report.scraped.iter().filter(|s| s.reachable).count();
        let figure =
            |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"));
        let _ = writeln!(
            out,
            "stack      {reachable}/{} metrics endpoints · most sockets on one gateway {} · gateway deliveries {} · messages {} · CPU s {}",
            report.scraped.len(),
            figure(s.most_connections_on_one_gateway),
            figure(s.gateway_deliveries),
            figure(s.gateway_messages),
            s.cpu_seconds
                .map_or_else(|| "-".to_owned(), |v| format!("{v:.1}")),
        );
    }
    if !report.checks.is_empty() {
        let _ = writeln!(out);
        for check in &report.checks {
            let _ = writeln!(
                out,
                "{} {:<14} {:>10.3} (limit {})",
                if check.passed { "PASS" } else { "FAIL" },
                check.name,
                check.actual,
                check.limit
            );
        }
    }
    out
}

/// One line per fault: when it started, how long until the stack served again, and
/// what its span saw; then the time between faults.
fn faults(out: &mut String, report: &Report) {
    if report.verdict.faults.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{:<34} {:>7} {:>10} {:>8} {:>6} {:>10} {:>12} {:>8}",
        "fault", "at s", "served s", "acked", "lost", "duplicated", "out of order", "resyncs"
    );
    for tally in &report.verdict.faults {
        let (name, at, served) = match &tally.fault {
            Some(fault) => (
                fault.name.as_str(),
                format!("{:.1}", report.second_of(fault.started_at)),
                fault.ended_at.map_or_else(
                    || "never".to_owned(),
                    |end| format!("{:.1}", (end - fault.started_at) as f64 / 1e9),
                ),
            ),
            None => ("between faults", String::new(), String::new()),
        };
        let _ = writeln!(
            out,
            "{name:<34} {at:>7} {served:>10} {:>8} {:>6} {:>10} {:>12} {:>8}",
            tally.acked, tally.lost, tally.duplicated, tally.out_of_order, tally.resyncs
        );
    }
}

fn latency_row(name: &str, s: &Summary) -> String {
    format!(
        "{name:<10} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>10}",
        s.p50, s.p90, s.p99, s.p999, s.max, s.mean, s.count
    )
}

fn pairs(map: &std::collections::BTreeMap<String, u64>) -> String {
    map.iter()
        .map(|(key, count)| format!("{key} {count}"))
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_latencies_delivery_and_checks() {
        let text = render(&super::super::tests::sample());

        assert!(text.contains("e2e"), "{text}");
        assert!(text.contains("lost 1"), "{text}");
        assert!(text.contains("FAIL lost"), "{text}");
        assert!(text.contains("PASS e2e p99"), "{text}");
        assert!(text.contains("rate_limited 1"), "{text}");
        let fault = text
            .lines()
            .find(|line| line.starts_with("Redis restarted"))
            .unwrap_or_else(|| panic!("a line for the fault: {text}"));
        let figures: Vec<&str> = fault.split_whitespace().skip(2).collect();
        assert_eq!(figures, ["-1.0", "2.0", "5", "1", "0", "0", "0"], "{fault}");
        assert!(text.contains("between faults"), "{text}");
    }
}
