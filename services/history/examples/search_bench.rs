//! Message search latency: p50/p99 of searches over a large stored history, for one user
//! in a few of its rooms (what `GET /api/search/messages` asks history for).
//!
//! Fills a fresh database (the real migrations) with `--messages` messages spread over
//! `--rooms` rooms, each a dozen words drawn from a vocabulary with a skewed (Zipf-like)
//! frequency, so some words are in a large share of messages and others in a few. Then a
//! user in `--member-of` random rooms runs each kind of query `--runs` times through the
//! service's own search (`Store::search`), a page of 20 each, and the latencies are
//! printed per kind and overall.
//!
//! ```text
//! cargo run --release -p chat-history --example search_bench -- --messages 1000000
//! ```

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chat_history::search::{DEFAULT_LIMIT, SearchQuery};
use chat_history::store::Store;
use clap::Parser;
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::seq::SliceRandom as _;
use rand::{Rng as _, SeedableRng as _};
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

#[derive(Parser, Debug)]
struct Args {
    /// Messages stored.
    #[arg(long, default_value_t = 1_000_000)]
    messages: u64,
    /// Rooms they are spread over.
    #[arg(long, default_value_t = 1000)]
    rooms: usize,
    /// Rooms the searching user is a member of.
    #[arg(long, default_value_t = 50)]
    member_of: usize,
    /// Searches of each kind.
    #[arg(long, default_value_t = 200)]
    runs: u32,
    /// Words in the vocabulary.
    #[arg(long, default_value_t = 5000)]
    vocabulary: usize,
    /// PostgreSQL server; the benchmark creates (and drops) its own database on it.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    postgres: String,
    /// Keep the database afterwards (to look at plans).
    #[arg(long)]
    keep: bool,
}

/// Words per message.
const WORDS: usize = 12;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let name = format!("chat_history_search_bench_{}", Uuid::now_v7().simple());
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&format!("{}/postgres", args.postgres))
        .await
        .context("cannot connect to PostgreSQL")?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await?;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(&format!("{}/{name}", args.postgres))
        .await?;
    chat_history::MIGRATOR.run(&pool).await?;

    let mut rng = StdRng::seed_from_u64(7);
    let vocabulary = vocabulary(args.vocabulary, &mut rng);
    let rooms: Vec<Uuid> = (0..args.rooms).map(|_| Uuid::now_v7()).collect();
    println!(
        "search_bench: {} messages in {} rooms, {} words each from {} (skewed), a user in {} rooms",
        args.messages, args.rooms, WORDS, args.vocabulary, args.member_of
    );
    let started = Instant::now();
    fill(&pool, &args, &rooms, &vocabulary, &mut rng).await?;
    sqlx::query("VACUUM ANALYZE messages")
        .execute(&pool)
        .await?;
    println!("filled in {:.1} s", started.elapsed().as_secs_f64());

    let store = Store::new(pool.clone());
    let mine: Vec<Uuid> = rooms
        .choose_multiple(&mut rng, args.member_of)
        .copied()
        .collect();
    // Words by rank: the most common, one in the middle, a rare one.
    let kinds = [
        ("common word", vocabulary[2].clone()),
        ("mid word", vocabulary[200].clone()),
        ("rare word", vocabulary[args.vocabulary - 10].clone()),
        (
            "two words",
            format!("{} {}", vocabulary[20], vocabulary[60]),
        ),
        ("phrase", format!("\"{} {}\"", vocabulary[1], vocabulary[3])),
        (
            "exclusion",
            format!("{} -{}", vocabulary[30], vocabulary[2]),
        ),
    ];
    let mut all = Histogram::<u64>::new(3)?;
    println!(
        "{:<12} {:>9} {:>9} {:>9} {:>7}",
        "query", "p50 ms", "p99 ms", "max ms", "hits"
    );
    for (kind, text) in &kinds {
        let mut histogram = Histogram::<u64>::new(3)?;
        let mut hits = 0;
        for _ in 0..args.runs {
            let query = SearchQuery {
                text: text.clone(),
                rooms: mine.clone(),
                sender: None,
                before: None,
                after: None,
                older_than: None,
                limit: DEFAULT_LIMIT,
            };
            let at = Instant::now();
            let (found, _) = store.search(&query).await?;
            let took = at.elapsed();
            hits = found.len();
            histogram.record(micros(took))?;
            all.record(micros(took))?;
        }
        println!(
            "{kind:<12} {:>9.2} {:>9.2} {:>9.2} {hits:>7}",
            ms(histogram.value_at_quantile(0.5)),
            ms(histogram.value_at_quantile(0.99)),
            ms(histogram.max()),
        );
    }
    println!(
        "search over {} messages, user in {} of {} rooms: p50 {:.2} ms, p99 {:.2} ms",
        args.messages,
        args.member_of,
        args.rooms,
        ms(all.value_at_quantile(0.5)),
        ms(all.value_at_quantile(0.99)),
    );

    pool.close().await;
    if !args.keep {
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&admin)
            .await?;
    }
    Ok(())
}

/// Pronounceable made-up words, the most frequent first.
fn vocabulary(size: usize, rng: &mut StdRng) -> Vec<String> {
    const CONSONANTS: &[u8] = b"bcdfghklmnprstvz";
    const VOWELS: &[u8] = b"aeiou";
    let mut words = std::collections::BTreeSet::new();
    let mut ordered = Vec::with_capacity(size);
    while ordered.len() < size {
        let syllables = rng.gen_range(2..=4);
        let word: String = (0..syllables)
            .flat_map(|_| {
                [
                    CONSONANTS[rng.gen_range(0..CONSONANTS.len())] as char,
                    VOWELS[rng.gen_range(0..VOWELS.len())] as char,
                ]
            })
            .collect();
        if words.insert(word.clone()) {
            ordered.push(word);
        }
    }
    ordered
}

/// Stores the messages with COPY, in chunks.
async fn fill(
    pool: &sqlx::PgPool,
    args: &Args,
    rooms: &[Uuid],
    vocabulary: &[String],
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    const CHUNK: u64 = 50_000;
    let start_ms: u64 = 1_760_000_000_000;
    let mut seqs = vec![0u64; rooms.len()];
    let mut written = 0;
    while written < args.messages {
        let count = CHUNK.min(args.messages - written);
        let mut data = String::with_capacity(count as usize * 160);
        for n in written..written + count {
            let room = rng.gen_range(0..rooms.len());
            seqs[room] += 1;
            let at_ms = start_ms + n * 1000;
            let id = Uuid::new_v7(uuid::Timestamp::from_unix(
                uuid::NoContext,
                at_ms / 1000,
                ((at_ms % 1000) * 1_000_000) as u32,
            ));
            let content: Vec<&str> = (0..WORDS)
                .map(|_| {
                    // Zipf-like: rank = size^u, so low ranks are far more frequent.
                    let u: f64 = rng.r#gen();
                    let rank = (vocabulary.len() as f64).powf(u) as usize - 1;
                    vocabulary[rank.min(vocabulary.len() - 1)].as_str()
                })
                .collect();
            let sent =
                time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)?;
            data.push_str(&format!(
                "{id}\t{}\t1\t{}\t{}\tc{n}\t{}\t1\t{}\n",
                rooms[room],
                seqs[room],
                Uuid::now_v7(),
                content.join(" "),
                sent.format(&time::format_description::well_known::Rfc3339)?,
            ));
        }
        let mut connection = pool.acquire().await?;
        let mut copy = connection
            .copy_in_raw(
                "COPY messages (id, room_id, epoch, seq, sender_id, client_msg_id, content, kind, sent_at) FROM STDIN",
            )
            .await?;
        copy.send(data.as_bytes()).await?;
        copy.finish().await?;
        written += count;
    }
    Ok(())
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}
