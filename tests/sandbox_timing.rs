//! The sandbox's timing over real HTTP on loopback: task durations drawn from a distribution,
//! the scaled clock, the per-key rate limit on submits, and what the sandbox observed
//! (`Sandbox::stats`, `Sandbox::observations`). No test asserts on speed: each waits for
//! states, with deadlines far beyond what the states need.
#![cfg(feature = "sandbox")]

mod common;

use std::time::{Duration, Instant};

use common::{plain_http, seed_example};
use happyhorse::{
    sandbox::{Sandbox, SandboxConfig, TaskSeconds},
    Provider,
};
use serde_json::Value;

/// How long a test waits for a state before it fails: far beyond what any state here needs.
const DEADLINE: Duration = Duration::from_secs(60);

/// A provider's submit and poll, as its seed pages' curl examples send them.
struct Api {
    provider: Provider,
    base: String,
}

impl Api {
    fn new(sandbox: &Sandbox, provider: Provider) -> Self {
        Api {
            provider,
            base: sandbox.base_url(provider),
        }
    }

    fn all(sandbox: &Sandbox) -> Vec<Api> {
        Provider::ALL
            .into_iter()
            .map(|provider| Api::new(sandbox, provider))
            .collect()
    }

    /// A key for this provider: its prefix and `name`.
    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.provider.key_prefix())
    }

    fn authorized(&self, request: reqwest::RequestBuilder, key: &str) -> reqwest::RequestBuilder {
        match self.provider {
            Provider::Apiframe => request.header("x-api-key", key),
            _ => request.bearer_auth(key),
        }
    }

    fn body(&self) -> Value {
        match self.provider {
            Provider::HiApi => seed_example(Provider::HiApi, "t2v-minimal.json"),
            Provider::Reapi => seed_example(Provider::Reapi, "t2v-curl.json"),
            Provider::Apiframe => seed_example(Provider::Apiframe, "quick-start.json"),
        }
    }

    fn submit_url(&self) -> String {
        match self.provider {
            Provider::HiApi => format!("{}/tasks", self.base),
            Provider::Reapi => format!("{}/videos/generations", self.base),
            Provider::Apiframe => format!("{}/v2/videos/generate", self.base),
        }
    }

    fn poll_url(&self, id: &str) -> String {
        match self.provider {
            Provider::Apiframe => format!("{}/v2/jobs/{id}", self.base),
            _ => format!("{}/tasks/{id}", self.base),
        }
    }

    /// Submits `body` with `key`: the answer's status, `Retry-After` and body.
    async fn submit_raw(&self, key: &str, body: &Value) -> (u16, Option<String>, Value) {
        let answer = self
            .authorized(plain_http().post(self.submit_url()), key)
            .json(body)
            .send()
            .await
            .expect("the sandbox answers");
        let status = answer.status().as_u16();
        let retry_after = answer
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().expect("ASCII").to_owned());
        let body = answer.json().await.expect("a JSON body");
        (status, retry_after, body)
    }

    /// Submits the seed example with `key` and returns the new task's id.
    async fn submit(&self, key: &str) -> String {
        let (status, _, body) = self.submit_raw(key, &self.body()).await;
        assert!(
            (200..300).contains(&status),
            "{}: {status} {body}",
            self.provider
        );
        let id = match self.provider {
            Provider::HiApi => &body["data"]["taskId"],
            Provider::Reapi => &body["id"],
            Provider::Apiframe => &body["jobId"],
        };
        id.as_str().expect("a task id").to_owned()
    }

    /// Polls the task: the answer's status and the task object.
    async fn poll_raw(&self, id: &str, key: &str) -> (u16, Value) {
        let answer = self
            .authorized(plain_http().get(self.poll_url(id)), key)
            .send()
            .await
            .expect("the sandbox answers");
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.expect("a JSON body");
        let task = match self.provider {
            Provider::HiApi => body["data"].clone(),
            _ => body,
        };
        (status, task)
    }

    /// Polls the task with `key`, the key it was submitted with (a task belongs to that key),
    /// and it must be found: its task object.
    async fn poll(&self, id: &str, key: &str) -> Value {
        let (status, task) = self.poll_raw(id, key).await;
        assert_eq!(status, 200, "{} {id}: {task}", self.provider);
        task
    }

    /// Whether a task object shows its task ended (succeeded or failed).
    fn terminal(&self, task: &Value) -> bool {
        let statuses = self.provider.facts().statuses;
        let status = task["status"].as_str().expect("a status");
        status == statuses.succeeded || status == statuses.failed
    }

    /// The output URL of a succeeded task object.
    fn output_url(&self, task: &Value) -> String {
        let url = match self.provider {
            Provider::HiApi => &task["output"][0]["url"],
            Provider::Reapi => &task["output"]["video_urls"][0],
            Provider::Apiframe => &task["result"]["urls"][0],
        };
        url.as_str().expect("an output URL").to_owned()
    }
}

/// Polls every 50 ms, with `key`, until the task shows terminal: the terminal task object, and
/// how many polls that took.
async fn poll_until_terminal(api: &Api, id: &str, key: &str) -> (Value, u64) {
    let deadline = Instant::now() + DEADLINE;
    let mut polls = 0;
    loop {
        let task = api.poll(id, key).await;
        polls += 1;
        if api.terminal(&task) {
            return (task, polls);
        }
        assert!(
            Instant::now() < deadline,
            "{} {id} still not terminal: {task}",
            api.provider
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn task_seconds_parse_the_three_forms_and_refuse_bad_input_with_clear_messages() {
    assert_eq!("180".parse(), Ok(TaskSeconds::Fixed(180.0)));
    let uniform = TaskSeconds::Uniform {
        mean: 180.0,
        spread: 20.0,
    };
    assert_eq!("180±20".parse(), Ok(uniform));
    assert_eq!("180+-20".parse(), Ok(uniform));
    let lognormal = TaskSeconds::LogNormal {
        median: 180.0,
        sigma: 0.1,
    };
    assert_eq!("lognormal:180,0.1".parse(), Ok(lognormal));
    for form in [TaskSeconds::Fixed(2.5), uniform, lognormal] {
        assert_eq!(form.to_string().parse(), Ok(form), "{form}");
    }
    assert_eq!(uniform.to_string(), "180±20");
    assert_eq!(TaskSeconds::from(3.0), TaskSeconds::Fixed(3.0));
    let config = SandboxConfig::default().with_task_seconds(3.0);
    assert_eq!(config.task_seconds, TaskSeconds::Fixed(3.0));

    for (text, wanted) in [
        ("soon", "MEAN±SPREAD"),
        ("NaN", "from 0 to 31536000"),
        ("-3", "from 0 to 31536000"),
        ("inf", "from 0 to 31536000"),
        ("180±200", "must not exceed the mean"),
        ("180±x", "the spread in"),
        ("lognormal:180", "lognormal:MEDIAN,SIGMA"),
        ("lognormal:180,-1", "sigma in"),
        ("lognormal:NaN,0.1", "the median in"),
    ] {
        let err = text.parse::<TaskSeconds>().unwrap_err().to_string();
        assert!(err.contains(wanted), "{text}: {err}");
    }
}

#[tokio::test]
async fn on_a_scaled_clock_a_task_is_unfinished_before_its_duration_and_done_after() {
    // 1800 simulated seconds at 600 × real time: 3 real seconds; the output expires 3600
    // simulated seconds (6 real ones) after that.
    let sandbox = Sandbox::start(
        SandboxConfig::default()
            .with_task_seconds(1800.0)
            .with_time_scale(600.0)
            .with_output_ttl(Duration::from_secs(3600)),
    )
    .await
    .unwrap();
    assert_eq!(sandbox.config().time_scale, 600.0);
    let apis = Api::all(&sandbox);
    // The three providers at once, each its own task.
    futures_util::future::join_all(apis.iter().map(|api| one_scaled_task(&sandbox, api))).await;
    sandbox.shutdown().await;
}

/// Submits a task to a sandbox of 1800 s tasks at 600 × real time whose outputs expire 3600
/// simulated seconds after they complete, and follows it to its output's expiry.
async fn one_scaled_task(sandbox: &Sandbox, api: &Api) {
    let key = api.key("scaled");
    let id = api.submit(&key).await;
    let first = api.poll(&id, &key).await;
    assert!(!api.terminal(&first), "{}: {first}", api.provider);
    let (done, polls) = poll_until_terminal(api, &id, &key).await;
    let statuses = api.provider.facts().statuses;
    assert_eq!(done["status"], statuses.succeeded, "{}", api.provider);

    // The answers' timestamps are on the simulated clock: completed = created + 1800 s.
    match api.provider {
        Provider::HiApi => {
            let created = done["created"].as_u64().unwrap();
            assert_eq!(done["completed"].as_u64(), Some(created + 1800));
            assert_eq!(
                done["output"][0]["expireAt"].as_u64(),
                Some(created + 1800 + 3600)
            );
        }
        Provider::Apiframe => {
            let at = |field: &str| {
                chrono::DateTime::parse_from_rfc3339(done[field].as_str().unwrap()).unwrap()
            };
            assert_eq!((at("completedAt") - at("createdAt")).num_seconds(), 1800);
            assert_eq!(done["expired"], false);
        }
        Provider::Reapi => {}
    }

    let observed = sandbox
        .observations()
        .into_iter()
        .find(|o| o.id == id)
        .expect("an observation of the task");
    assert_eq!(observed.provider, api.provider);
    assert_eq!(observed.duration, Duration::from_secs(1800));
    assert_eq!(observed.polls, polls + 1);
    let after = observed.first_terminal_poll_after.expect("a terminal poll");
    assert!(after >= Duration::from_secs(1800), "{after:?}");

    // The output expires on the simulated clock too: served now, gone later.
    let url = api.output_url(&done);
    let deadline = Instant::now() + DEADLINE;
    let mut statuses_seen = Vec::new();
    loop {
        let status = plain_http()
            .get(&url)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if statuses_seen.last() != Some(&status) {
            statuses_seen.push(status);
        }
        if status == 410 {
            break;
        }
        assert!(Instant::now() < deadline, "{url}: {statuses_seen:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(statuses_seen.first(), Some(&200), "{statuses_seen:?}");
    if api.provider == Provider::Apiframe {
        assert_eq!(api.poll(&id, &key).await["expired"], true);
    }
}

#[tokio::test]
async fn each_task_draws_its_own_duration_from_the_distribution() {
    let uniform = TaskSeconds::Uniform {
        mean: 180.0,
        spread: 20.0,
    };
    let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(uniform))
        .await
        .unwrap();
    let apis = Api::all(&sandbox);
    let mut ids = Vec::new();
    for n in 0..200 {
        let api = &apis[n % apis.len()];
        ids.push(api.submit(&api.key("many")).await);
    }
    let observed = sandbox.observations();
    assert_eq!(
        observed.iter().map(|o| o.id.clone()).collect::<Vec<_>>(),
        ids,
        "in the order of creation"
    );
    let durations: Vec<f64> = observed.iter().map(|o| o.duration.as_secs_f64()).collect();
    for duration in &durations {
        assert!((160.0..=200.0).contains(duration), "{duration}");
    }
    let (low, high) = durations
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), d| (lo.min(*d), hi.max(*d)));
    assert!(high > low, "all 200 durations equal: {low}");
    // The first status shows each task in its own phase: queued, with three minutes to go.
    let first = apis[0].poll(&ids[0], &apis[0].key("many")).await;
    assert_eq!(first["status"], Provider::HiApi.facts().statuses.queued);
    sandbox.shutdown().await;

    let lognormal = TaskSeconds::LogNormal {
        median: 180.0,
        sigma: 0.1,
    };
    let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(lognormal))
        .await
        .unwrap();
    let api = Api::new(&sandbox, Provider::Reapi);
    for _ in 0..50 {
        api.submit(&api.key("lognormal")).await;
    }
    let durations: Vec<f64> = sandbox
        .observations()
        .iter()
        .map(|o| o.duration.as_secs_f64())
        .collect();
    assert_eq!(durations.len(), 50);
    assert!(durations
        .iter()
        .all(|d| *d > 0.0 && *d <= lognormal.max_seconds()));
    assert!(durations.iter().any(|d| *d != durations[0]));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_rate_limit_refuses_submits_per_key_in_each_providers_429_shape() {
    // One submit per 100 s: the bucket holds one token and takes 100 s to refill, so the
    // second submit is refused however slowly the test runs.
    let sandbox = Sandbox::start(
        SandboxConfig::default()
            .with_rate_limit(0.01)
            .with_output_ttl(Duration::from_secs(3600)),
    )
    .await
    .unwrap();
    for api in Api::all(&sandbox) {
        let key = api.key("limited");
        let id = api.submit(&key).await;
        let (status, retry_after, body) = api.submit_raw(&key, &api.body()).await;
        assert_eq!(status, 429, "{}: {body}", api.provider);
        let retry_after: u64 = retry_after
            .expect("a Retry-After header")
            .parse()
            .expect("whole seconds");
        assert!((1..=100).contains(&retry_after), "{retry_after}");
        match api.provider {
            Provider::HiApi => {
                assert_eq!(body["code"], 429);
                assert_eq!(body["error_code"], "RATE_LIMITED");
            }
            Provider::Reapi => assert_eq!(body["error"]["code"], 50001),
            Provider::Apiframe => assert!(body["error"].is_string(), "{body}"),
        }
        // Refused before anything else: the same as with an injected fault's header.
        let refused = api
            .authorized(plain_http().post(api.submit_url()), &key)
            .header("x-sandbox-fault", "server_error")
            .json(&api.body())
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 429);

        // Another key is not limited, and neither are polls and downloads of the first.
        api.submit(&api.key("another")).await;
        for _ in 0..5 {
            let (status, task) = api.poll_raw(&id, &key).await;
            assert_eq!(status, 200, "{task}");
            let url = api.output_url(&task);
            let download = plain_http().get(&url).send().await.unwrap();
            assert_eq!(download.status(), 200);
        }

        // Any submit spends a token, whatever its body.
        let careless = api.key("careless");
        let (status, _, body) = api
            .submit_raw(&careless, &serde_json::json!({"no": "such body"}))
            .await;
        // (HiAPI answers this one with HTTP 200 carrying code 400, as its T2V page warns.)
        let code = body["code"].as_u64().map_or(status, |code| code as u16);
        assert_eq!(code, 400, "{status} {body}");
        let (status, _, _) = api.submit_raw(&careless, &api.body()).await;
        assert_eq!(status, 429);

        // A request without an acceptable key is refused for that, and spends nothing.
        let (status, _, _) = api.submit_raw("wrong-key", &api.body()).await;
        assert_eq!(status, 401);
    }
    let stats = sandbox.stats();
    for provider in Provider::ALL {
        assert_eq!(stats.rate_limited.get(provider), 3, "{provider}");
        assert_eq!(stats.submits.get(provider), 7, "{provider}");
        assert_eq!(stats.tasks_created.get(provider), 2, "{provider}");
        assert_eq!(stats.polls.get(provider), 5, "{provider}");
    }
    assert_eq!(stats.rate_limited.total(), 9);
    assert_eq!(stats.downloads, 15);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn observations_count_status_polls_and_the_first_terminal_one() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let hiapi = Api::new(&sandbox, Provider::HiApi);
    let reapi = Api::new(&sandbox, Provider::Reapi);
    let key = hiapi.key("obs");
    let instant = hiapi.submit(&key).await;
    let never_polled = reapi.submit(&reapi.key("obs")).await;
    for _ in 0..3 {
        let task = hiapi.poll(&instant, &key).await;
        assert!(hiapi.terminal(&task));
    }
    // Not polls of the task: its id on another provider's route, another key's poll (a task
    // belongs to its key), a refused key, the list.
    let (status, _) = reapi.poll_raw(&instant, &reapi.key("obs")).await;
    assert_eq!(status, 404);
    let (status, _) = hiapi.poll_raw(&instant, &hiapi.key("someone-else")).await;
    assert_eq!(status, 404);
    let (status, _) = hiapi.poll_raw(&instant, "rk_wrong").await;
    assert_eq!(status, 401);
    let listed = hiapi
        .authorized(plain_http().get(format!("{}/tasks", hiapi.base)), "sk-list")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    // A download, whole and in part.
    let url = hiapi.output_url(&hiapi.poll(&instant, &key).await);
    assert_eq!(plain_http().get(&url).send().await.unwrap().status(), 200);
    let part = plain_http()
        .get(&url)
        .header("range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);

    let observed = sandbox.observations();
    assert_eq!(observed.len(), 2);
    assert_eq!(observed[0].id, instant);
    assert_eq!(observed[0].provider, Provider::HiApi);
    assert_eq!(observed[0].duration, Duration::ZERO);
    assert_eq!(observed[0].polls, 4);
    assert!(observed[0].first_terminal_poll_after.is_some());
    assert_eq!(observed[1].id, never_polled);
    assert_eq!(observed[1].polls, 0);
    assert_eq!(observed[1].first_terminal_poll_after, None);

    let stats = sandbox.stats();
    assert_eq!(stats.submits.get(Provider::HiApi), 1);
    assert_eq!(stats.submits.total(), 2);
    assert_eq!(stats.tasks_created.total(), 2);
    assert_eq!(stats.polls.get(Provider::HiApi), 4);
    assert_eq!(stats.polls.total(), 4);
    assert_eq!(stats.rate_limited.total(), 0);
    assert_eq!(stats.downloads, 2);
    sandbox.shutdown().await;

    // A task that is still running when polled has no terminal poll.
    let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(3600.0))
        .await
        .unwrap();
    let apiframe = Api::new(&sandbox, Provider::Apiframe);
    let key = apiframe.key("obs");
    let id = apiframe.submit(&key).await;
    assert!(!apiframe.terminal(&apiframe.poll(&id, &key).await));
    assert!(!apiframe.terminal(&apiframe.poll(&id, &key).await));
    let observed = sandbox.observations();
    assert_eq!(observed[0].polls, 2);
    assert_eq!(observed[0].duration, Duration::from_secs(3600));
    assert_eq!(observed[0].first_terminal_poll_after, None);
    sandbox.shutdown().await;
}
