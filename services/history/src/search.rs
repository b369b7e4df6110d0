//! Full-text search over stored messages: PostgreSQL's own, on the generated `search`
//! column (the `simple` configuration, so no language is favoured), with
//! `websearch_to_tsquery` syntax (words, `"a phrase"`, `-excluded`, `or`).
//!
//! A search covers the rooms the caller may read (the gateway names them). Each room is
//! read newest first and cut at the page's size, either as one range of the GIN index on
//! `(room_id, search)` (rare words) or by walking `(room_id, id DESC)` and testing each
//! message (words in a large share of messages): the planner weighs the words' frequency,
//! so each query is planned with its own words. The pages of all rooms are merged by
//! message id (UUID v7, so by time).
//! Keyset pagination by that id keeps pages stable while new messages arrive.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Error;
use crate::store::{COLUMNS, MessageRow, Store};

/// The most results one page holds.
pub const MAX_LIMIT: u32 = 50;
/// Results per page when the request names none.
pub const DEFAULT_LIMIT: u32 = 20;
/// The longest query taken, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// Messages up to this long come whole, marked; longer ones as the passages that match.
const WHOLE_UP_TO: usize = 280;

/// Marks ts_headline puts around matched words: private-use characters, which a message
/// is unlikely to hold and which are never shown (they are split on here).
const START: char = '\u{E000}';
const STOP: char = '\u{E001}';

/// What to look for, and where.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub text: String,
    pub rooms: Vec<Uuid>,
    pub sender: Option<Uuid>,
    pub before: Option<OffsetDateTime>,
    pub after: Option<OffsetDateTime>,
    /// Only messages older than this one (the last of the previous page).
    pub older_than: Option<Uuid>,
    pub limit: u32,
}

/// A matching message and its marked passage.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub message: MessageRow,
    /// The passage, as (text, matched) parts.
    pub snippet: Vec<(String, bool)>,
}

#[derive(sqlx::FromRow)]
struct HitRow {
    #[sqlx(flatten)]
    message: MessageRow,
    headline: String,
}

impl Store {
    /// The newest matches of `query` (at most `limit`), and whether older ones follow.
    #[tracing::instrument(skip(self, query), fields(rooms = query.rooms.len(), limit = query.limit))]
    pub async fn search(&self, query: &SearchQuery) -> Result<(Vec<SearchHit>, bool), Error> {
        if query.rooms.is_empty() {
            return Ok((Vec::new(), false));
        }
        let marks = format!("StartSel={START}, StopSel={STOP}");
        // Passages (fragments) for long messages; a short one comes whole, which
        // fragment mode would not do (it drops what lies outside its fragments).
        let passages = format!(
            "{marks}, MaxWords=24, MinWords=8, ShortWord=2, MaxFragments=2, \
             FragmentDelimiter=\" … \""
        );
        let whole = format!("{marks}, HighlightAll=true");
        let sql = format!(
            "SELECT {COLUMNS}, ts_headline('simple', content, websearch_to_tsquery('simple', $1),
                        CASE WHEN length(content) <= {WHOLE_UP_TO} THEN $9 ELSE $8 END)
                    AS headline
             FROM (
                 SELECT m.* FROM UNNEST($2::uuid[]) AS r (room_id)
                 CROSS JOIN LATERAL (
                     SELECT * FROM messages m
                     WHERE m.room_id = r.room_id
                       AND m.search @@ websearch_to_tsquery('simple', $1)
                       AND m.deleted_at IS NULL
                       AND ($3::uuid IS NULL OR m.sender_id = $3)
                       AND ($4::timestamptz IS NULL OR m.sent_at < $4)
                       AND ($5::timestamptz IS NULL OR m.sent_at > $5)
                       AND ($6::uuid IS NULL OR m.id < $6)
                     ORDER BY m.id DESC LIMIT $7
                 ) m
                 ORDER BY m.id DESC LIMIT $7
             ) AS messages
             ORDER BY id DESC"
        );
        let mut rows = sqlx::query_as::<_, HitRow>(&sql)
            .bind(&query.text)
            .bind(&query.rooms)
            .bind(query.sender)
            .bind(query.before)
            .bind(query.after)
            .bind(query.older_than)
            .bind(i64::from(query.limit) + 1)
            .bind(passages)
            .bind(whole)
            // Planned for each query's own words (an unnamed statement is planned with
            // its parameters), so the planner can weigh the words' frequencies.
            .persistent(false)
            .fetch_all(&self.pool)
            .await?;
        let more = rows.len() > query.limit as usize;
        rows.truncate(query.limit as usize);
        Ok((
            rows.into_iter()
                .map(|row| SearchHit {
                    snippet: snippet_parts(&row.headline),
                    message: row.message,
                })
                .collect(),
            more,
        ))
    }
}

/// A ts_headline passage split at its marks.
fn snippet_parts(headline: &str) -> Vec<(String, bool)> {
    let mut parts: Vec<(String, bool)> = Vec::new();
    let mut current = String::new();
    let mut matched = false;
    for c in headline.chars() {
        if c == START || c == STOP {
            if !current.is_empty() {
                parts.push((std::mem::take(&mut current), matched));
            }
            matched = c == START;
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        parts.push((current, matched));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_headline_splits_into_plain_and_matched_parts() {
        let headline = format!("the {START}lighthouse{STOP} at {START}nine{STOP}");
        assert_eq!(
            snippet_parts(&headline),
            vec![
                ("the ".to_owned(), false),
                ("lighthouse".to_owned(), true),
                (" at ".to_owned(), false),
                ("nine".to_owned(), true),
            ]
        );
        assert_eq!(snippet_parts(""), Vec::<(String, bool)>::new());
    }
}
