//! Runs the fake on a free port for manual experiments: prints the base URL, then
//! every request as one JSON line on stdout. Stop it with Ctrl-C.

use std::time::Duration;

use fake_anthropic::FakeAnthropic;

#[tokio::main]
async fn main() {
    let fake = FakeAnthropic::start().await;
    println!("{}", fake.base_url());
    let mut seen = 0;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
        let log = fake.log();
        for request in &log[seen..] {
            let line = serde_json::json!({
                "method": request.method,
                "path": request.path,
                "kind": format!("{:?}", request.kind),
                "headers": request.headers,
                "body": request.body,
            });
            println!("{line}");
        }
        seen = log.len();
    }
    fake.shutdown().await;
}
