//! Reads for looking at a ledger rather than working it (the console): a page of jobs by
//! filter, the run's progress over time, and the errors grouped by cause. Each is one or two
//! statements that stay cheap on a 100,000-job ledger: pages go by `seq` (no OFFSET), counts
//! by the `state` index where a state is asked for.

use super::super::{
    engine::{Engine, Param},
    rows::{db_error, job_from_row, Columns},
    Job, JobState,
};
use crate::{Error, Provider};

/// Which jobs a page shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobFilter {
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// Only this provider's jobs.
    pub provider: Option<Provider>,
    /// Only jobs whose error contains this text (any case).
    pub error: Option<String>,
    /// Only jobs whose id or prompt contains this text (any case); never the rest of the body,
    /// whose URLs' queries are credentials a count of matches would give away.
    pub search: Option<String>,
    /// Only jobs saved (downloaded) with a file or object.
    pub saved: bool,
}

/// One page of jobs.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct JobPage {
    /// The jobs, in the order they were recorded.
    pub jobs: Vec<Job>,
    /// How many jobs match the filter in all.
    pub matching: u64,
    /// The cursor of the next page (`None`: this is the last).
    pub next: Option<i64>,
}

/// Transitions into each state in one time bucket of the run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ProgressPoint {
    /// The bucket's start, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The state jobs entered.
    pub state: JobState,
    /// How many entered it in the bucket.
    pub jobs: u64,
}

/// Jobs in one state with one error, told apart by its cause (the error's text with ids,
/// numbers and times left out).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ErrorGroup {
    /// The jobs' state.
    pub state: JobState,
    /// The cause: the error with the parts that differ per job (ids, numbers) as `…`.
    pub cause: String,
    /// How many jobs.
    pub jobs: u64,
    /// One of them, to look at.
    pub example: String,
}

/// `text` for a `LIKE` pattern that matches it anywhere, any case (`\` escapes).
fn contains(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The filter's `WHERE` clause (without the keyword; `TRUE` when empty) and its parameters,
/// numbered from `$1`.
fn clause(filter: &JobFilter) -> (String, Vec<Param>) {
    let mut terms: Vec<String> = Vec::new();
    let mut params: Vec<Param> = Vec::new();
    // Only generated `$N` placeholders are formatted in; every value is bound.
    fn bind(term: &str, value: Param, terms: &mut Vec<String>, params: &mut Vec<Param>) {
        params.push(value);
        terms.push(term.replace("$?", &format!("${}", params.len())));
    }
    if let Some(state) = filter.state {
        bind(
            "state = $?",
            Param::text(state.name()),
            &mut terms,
            &mut params,
        );
    }
    if let Some(provider) = filter.provider {
        bind(
            "provider = $?",
            Param::text(provider.name()),
            &mut terms,
            &mut params,
        );
    }
    if let Some(error) = filter.error.as_deref().filter(|e| !e.is_empty()) {
        bind(
            "LOWER(error) LIKE $? ESCAPE '\\'",
            Param::text(contains(error)),
            &mut terms,
            &mut params,
        );
    }
    if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        bind(
            "(LOWER(id) LIKE $? ESCAPE '\\' OR LOWER(prompt) LIKE $? ESCAPE '\\')",
            Param::text(contains(search)),
            &mut terms,
            &mut params,
        );
    }
    if filter.saved {
        terms.push("state = 'downloaded' AND file IS NOT NULL".to_owned());
    }
    if terms.is_empty() {
        ("TRUE".to_owned(), params)
    } else {
        (terms.join(" AND "), params)
    }
}

/// Up to `limit` jobs matching `filter` recorded after the cursor `after` (`seq`), and how
/// many match in all.
pub(crate) async fn page(
    engine: &dyn Engine,
    filter: &JobFilter,
    after: Option<i64>,
    limit: u32,
) -> Result<JobPage, Error> {
    let context = "reading a page of jobs";
    let (clause, mut params) = clause(filter);
    let count = format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM jobs WHERE {clause}");
    let matching = engine
        .read(&count, &params)
        .await
        .map_err(|e| db_error(context, e))?
        .first()
        .map(|row| row.unsigned("n"))
        .transpose()?
        .unwrap_or(0);
    let limit = limit.clamp(1, 500);
    params.push(Param::int(after.unwrap_or(0)));
    let cursor = params.len();
    params.push(Param::int(limit.saturating_add(1)));
    let sql = format!(
        "SELECT * FROM jobs WHERE {clause} AND seq > ${cursor} ORDER BY seq LIMIT ${}",
        params.len()
    );
    let rows = engine
        .read(&sql, &params)
        .await
        .map_err(|e| db_error(context, e))?;
    let mut jobs: Vec<Job> = rows
        .iter()
        .map(|row| job_from_row(&row))
        .collect::<Result<_, _>>()?;
    let next = if jobs.len() > limit as usize {
        jobs.truncate(limit as usize);
        jobs.last().map(|job| job.seq)
    } else {
        None
    };
    Ok(JobPage {
        jobs,
        matching,
        next,
    })
}

/// Polls made of the jobs' current tasks, and how many jobs have a task.
pub(crate) async fn polls(engine: &dyn Engine) -> Result<(u64, u64), Error> {
    let rows = engine
        .read(
            "SELECT CAST(COALESCE(SUM(polls), 0) AS BIGINT) AS polls,
                CAST(COUNT(*) AS BIGINT) AS tasks FROM jobs WHERE task_id IS NOT NULL",
            &[],
        )
        .await
        .map_err(|e| db_error("counting polls", e))?;
    match rows.first() {
        Some(row) => Ok((row.unsigned("polls")?, row.unsigned("tasks")?)),
        None => Ok((0, 0)),
    }
}

/// Transitions into each state per `bucket_ms` of the run, oldest first.
pub(crate) async fn progress(
    engine: &dyn Engine,
    bucket_ms: i64,
) -> Result<Vec<ProgressPoint>, Error> {
    let bucket_ms = bucket_ms.max(1000);
    let rows = engine
        .read(
            "SELECT (at / $1) * $1 AS bucket, to_state, CAST(COUNT(*) AS BIGINT) AS n
             FROM job_events WHERE from_state IS NULL OR from_state <> to_state
             GROUP BY bucket, to_state ORDER BY bucket",
            &[Param::int(bucket_ms)],
        )
        .await
        .map_err(|e| db_error("reading the run's progress", e))?;
    rows.iter()
        .map(|row| {
            Ok(ProgressPoint {
                at_ms: row.int("bucket")?,
                state: row.state("to_state")?,
                jobs: row.unsigned("n")?,
            })
        })
        .collect()
}

/// The jobs that need attention (failed, expired, uncertain), grouped by state and cause,
/// largest group first (at most `limit` groups).
pub(crate) async fn error_groups(
    engine: &dyn Engine,
    limit: usize,
) -> Result<Vec<ErrorGroup>, Error> {
    let sql = format!(
        "SELECT state, error, CAST(COUNT(*) AS BIGINT) AS n, MIN(id) AS example FROM jobs
         WHERE state IN ({}) GROUP BY state, error",
        super::super::lifecycle::sql_states(|f| f.attention)
    );
    let rows = engine
        .read(&sql, &[])
        .await
        .map_err(|e| db_error("grouping the jobs' errors", e))?;
    let mut groups: Vec<ErrorGroup> = Vec::new();
    for row in rows.iter() {
        let state = row.state("state")?;
        let cause = cause(
            row.opt_text("error")?
                .as_deref()
                .unwrap_or("(no error recorded)"),
        );
        let jobs = row.unsigned("n")?;
        let example = row.text("example")?;
        match groups
            .iter_mut()
            .find(|g| g.state == state && g.cause == cause)
        {
            Some(group) => {
                group.jobs = group.jobs.saturating_add(jobs);
                if example < group.example {
                    group.example = example;
                }
            }
            None => groups.push(ErrorGroup {
                state,
                cause,
                jobs,
                example,
            }),
        }
    }
    groups.sort_by(|a, b| b.jobs.cmp(&a.jobs).then_with(|| a.cause.cmp(&b.cause)));
    groups.truncate(limit);
    Ok(groups)
}

/// An error's cause: its words, with every word holding a digit (ids, numbers, times) as `…`.
pub(crate) fn cause(error: &str) -> String {
    let words: Vec<&str> = error
        .split_whitespace()
        .map(|word| {
            if word.chars().any(|c| c.is_ascii_digit()) {
                "…"
            } else {
                word
            }
        })
        .collect();
    let mut cause = words.join(" ");
    if cause.chars().count() > 300 {
        cause = cause.chars().take(300).collect::<String>() + "…";
    }
    cause
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_leave_out_what_differs_per_job() {
        assert_eq!(
            cause("the output of hiapi task t-123 expired at 2026-12-03T10:00:00Z before it was saved"),
            "the output of hiapi task … expired at … before it was saved"
        );
        assert_eq!(
            cause("moderation refused the prompt"),
            "moderation refused the prompt"
        );
    }

    #[test]
    fn patterns_match_the_text_literally() {
        assert_eq!(contains("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(contains("Horse"), "%horse%");
    }
}
