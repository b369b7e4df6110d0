//! `chat-ws`: the smallest useful client of the chat's WebSocket, for trying the protocol
//! by hand (what `websocat` would do, without needing it). Signs in (or takes a token),
//! opens `/ws`, sends `auth` (with `--resume` positions), then prints every server frame
//! as one JSON line on stdout. Each line typed on stdin is sent: plain text as a message
//! to `--room`, a line starting with `{` as a frame of its own (`{"type":"history",...}`).
//! Ctrl-D closes the socket.
//!
//! ```sh
//! chat-ws --login ada --password 'correct horse battery' --room <ROOM_ID>
//! chat-ws --token "$TOKEN" --resume <ROOM_ID>=<EPOCH>:<POSITION>
//! ```

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chat_loadtest::connection::urls;
use chat_protocol::client::{AuthFrame, SendFrame};
use chat_protocol::{ClientFrame, Position, RoomId};
use clap::Parser;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

/// A minimal WebSocket client of the chat: prints every frame, sends what you type.
#[derive(Debug, Parser)]
#[command(name = "chat-ws", version)]
struct Args {
    /// The stack (REST at /api, the socket at /ws).
    #[arg(long, env = "CHAT_URL", default_value = "http://127.0.0.1:8080")]
    url: String,

    /// An access token; without it, `--login` and `--password` sign in first.
    #[arg(long, env = "CHAT_TOKEN")]
    token: Option<String>,

    /// Username or email to sign in with.
    #[arg(long, requires = "password", conflicts_with = "token")]
    login: Option<String>,

    #[arg(long, env = "CHAT_PASSWORD")]
    password: Option<String>,

    /// The room plain lines are sent to.
    #[arg(long)]
    room: Option<RoomId>,

    /// Resume a room after a position: `ROOM=EPOCH:POSITION` (repeatable); the server
    /// sends every entry after it, then `resumed`.
    #[arg(long, value_parser = parse_resume)]
    resume: Vec<(RoomId, Position)>,
}

fn parse_resume(value: &str) -> Result<(RoomId, Position), String> {
    let (room, at) = value
        .split_once('=')
        .ok_or("expected ROOM=EPOCH:POSITION")?;
    let (epoch, seq) = at.split_once(':').ok_or("expected EPOCH:POSITION")?;
    let room = room.parse().map_err(|_| format!("not a room id: {room}"))?;
    let epoch = epoch
        .parse()
        .map_err(|_| format!("not an epoch: {epoch}"))?;
    let seq = seq.parse().map_err(|_| format!("not a position: {seq}"))?;
    Ok((room, Position::new(epoch, seq)))
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("chat-ws: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let (api, ws_url) = urls(&args.url)?;
    let token = match (&args.token, &args.login, &args.password) {
        (Some(token), _, _) => token.clone(),
        (None, Some(login), Some(password)) => sign_in(&api, login, password).await?,
        _ => bail!("give --token, or --login and --password"),
    };

    let (socket, _) = tokio_tungstenite::connect_async(ws_url.as_str())
        .await
        .with_context(|| format!("opening {ws_url}"))?;
    let (mut out, mut frames) = socket.split();
    let resume: HashMap<RoomId, Position> = args.resume.iter().copied().collect();
    let auth = ClientFrame::Auth(AuthFrame {
        token: Some(token),
        resume: (!resume.is_empty()).then_some(resume),
        ..AuthFrame::default()
    });
    out.send(Message::text(auth.to_text())).await?;
    eprintln!("connected to {ws_url}; type a line to send it, Ctrl-D to leave");

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut sent = 0u64;
    loop {
        tokio::select! {
            frame = frames.next() => match frame {
                Some(Ok(Message::Text(text))) => println!("{text}"),
                Some(Ok(Message::Close(close))) => {
                    if let Some(close) = close {
                        eprintln!("closed by the server: {} {}", close.code, close.reason);
                    }
                    return Ok(());
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => return Err(err).context("reading the socket"),
                None => return Ok(()),
            },
            line = lines.next_line() => {
                let Some(line) = line? else {
                    out.send(Message::Close(None)).await.ok();
                    return Ok(());
                };
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                let frame = if line.starts_with('{') {
                    line.to_owned()
                } else if let Some(room) = args.room {
                    sent += 1;
                    let id = format!("chat-ws-{}-{sent}", std::process::id());
                    ClientFrame::Send(SendFrame::new(room, id, line)).to_text()
                } else {
                    eprintln!("no --room to send to; type a JSON frame, or start with --room");
                    continue;
                };
                out.send(Message::text(frame)).await?;
            }
        }
    }
}

/// `POST /api/auth/login`; the access token.
async fn sign_in(api: &reqwest::Url, login: &str, password: &str) -> anyhow::Result<String> {
    let response = reqwest::Client::new()
        .post(api.join("api/auth/login")?)
        .json(&serde_json::json!({ "login": login, "password": password }))
        .send()
        .await
        .context("signing in")?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .context("reading the sign-in answer")?;
    if !status.is_success() {
        bail!("signing in: {status}: {}", body["error"]["message"]);
    }
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("the sign-in answer has no access_token")
}
