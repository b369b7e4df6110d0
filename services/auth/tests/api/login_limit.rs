use std::time::Duration;

use tonic::Code;

use crate::helpers::{PASSWORD, TestEnv};

fn assert_limited(result: Result<chat_proto::v1::AuthResponse, chat_runtime::status::RemoteError>) {
    let error = result.expect_err("the login should be limited");
    assert_eq!(error.code, Code::ResourceExhausted);
    assert_eq!(error.reason, "too_many_attempts");
    let retry_after = error.retry_after.expect("a retry delay");
    assert!(
        retry_after > Duration::ZERO && retry_after <= Duration::from_secs(15 * 60),
        "{retry_after:?}"
    );
}

#[tokio::test]
async fn failed_logins_lock_out_their_address_not_the_owner() {
    let env = TestEnv::new();
    let replicas = [env.start(&[]).await, env.start(&[]).await];
    replicas[0].register("alice").await;

    // Five failures from one address spread over both replicas, by username and email.
    for attempt in 0..5 {
        let replica = &replicas[attempt % 2];
        let login = if attempt % 3 == 0 {
            "alice@example.com"
        } else {
            "alice"
        };
        let failure = replica
            .login(login, "wrong password", "198.51.100.66")
            .await
            .unwrap_err();
        assert_eq!(failure.reason, "invalid_credentials", "attempt {attempt}");
    }

    // That address is refused even the right password, on either replica...
    assert_limited(replicas[1].login("alice", PASSWORD, "198.51.100.66").await);
    assert_limited(
        replicas[0]
            .login("ALICE@example.com", PASSWORD, "198.51.100.66")
            .await,
    );
    // ...but the owner, elsewhere, is not locked out.
    replicas[0]
        .login("alice", PASSWORD, "203.0.113.10")
        .await
        .expect("the owner signs in from their own address");
}

#[tokio::test]
async fn guessing_from_many_addresses_slows_the_account_down_without_locking_it() {
    let env = TestEnv::new();
    let app = env
        .start(&["--login-delay-after-account-failures", "3"])
        .await;
    app.register("alice").await;

    // Every address stays under its own limit; together they pass the account's threshold.
    for attempt in 0..6 {
        let failure = app
            .login("alice", "wrong password", &format!("198.51.100.{attempt}"))
            .await
            .unwrap_err();
        assert_eq!(failure.reason, "invalid_credentials", "attempt {attempt}");
    }

    let started = std::time::Instant::now();
    app.login("alice", PASSWORD, "203.0.113.10")
        .await
        .expect("the owner is slowed down, never refused");
    assert!(
        started.elapsed() >= Duration::from_millis(750),
        "an attempt past the threshold waits: {:?}",
        started.elapsed()
    );
    // Signing in cleared the account's failures: the next attempt does not wait.
    app.login("alice", PASSWORD, "203.0.113.10").await.unwrap();
}

#[tokio::test]
async fn a_successful_login_clears_the_failures() {
    let env = TestEnv::new();
    let app = env.start(&["--login-max-account-failures", "3"]).await;
    app.register("alice").await;

    for _ in 0..2 {
        app.login("alice", "wrong password", "198.51.100.1")
            .await
            .unwrap_err();
    }
    app.login("alice", PASSWORD, "198.51.100.1").await.unwrap();
    // Three more failures are allowed again, then nothing.
    for _ in 0..3 {
        let failure = app
            .login("alice", "wrong password", "198.51.100.1")
            .await
            .unwrap_err();
        assert_eq!(failure.reason, "invalid_credentials");
    }

    assert_limited(app.login("alice", PASSWORD, "198.51.100.1").await);
}

#[tokio::test]
async fn unknown_accounts_are_limited_like_known_ones() {
    let env = TestEnv::new();
    let app = env.start(&["--login-max-account-failures", "2"]).await;

    for _ in 0..2 {
        let failure = app
            .login("nobody", "wrong password", "198.51.100.1")
            .await
            .unwrap_err();
        assert_eq!(failure.reason, "invalid_credentials");
    }

    assert_limited(app.login("NOBODY", "wrong password", "198.51.100.1").await);
}

#[tokio::test]
async fn attempts_per_address_are_limited_across_replicas() {
    let env = TestEnv::new();
    let flags = ["--login-max-address-attempts", "3"];
    let replicas = [env.start(&flags).await, env.start(&flags).await];
    replicas[0].register("alice").await;
    replicas[0].register("bob").await;

    // Successful logins count for the address too.
    replicas[0]
        .login("alice", PASSWORD, "2001:db8:1:2::1")
        .await
        .unwrap();
    replicas[1]
        .login("bob", "wrong password", "2001:db8:1:2::2")
        .await
        .unwrap_err();
    replicas[0]
        .login("carol", "wrong password", "2001:db8:1:2::3")
        .await
        .unwrap_err();

    // Same /64, another replica, another account.
    assert_limited(replicas[1].login("bob", PASSWORD, "2001:db8:1:2::4").await);
    // Another address is not affected.
    assert!(
        replicas[1]
            .login("bob", PASSWORD, "198.51.100.1")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_limit_is_shared_only_within_one_key_prefix() {
    let limited = TestEnv::new();
    let app = limited.start(&["--login-max-account-failures", "1"]).await;
    app.register("alice").await;
    app.login("alice", "wrong password", "198.51.100.1")
        .await
        .unwrap_err();
    assert_limited(app.login("alice", PASSWORD, "198.51.100.1").await);

    let other = limited.with_key_prefix(format!("{}other:", limited.key_prefix));
    let separate = other.start(&["--login-max-account-failures", "1"]).await;

    assert!(
        separate
            .login("alice", PASSWORD, "198.51.100.1")
            .await
            .is_ok()
    );
}
