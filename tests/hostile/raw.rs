//! Hostile answers that break HTTP itself, written byte by byte on a raw TCP socket
//! (127.0.0.1 only): whatever the request, after reading its head and body the server does
//! one [`Raw`] thing and closes the connection.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One way of breaking an HTTP response.
#[derive(Debug, Clone, Copy)]
pub enum Raw {
    /// The status line, then one header byte every 200 ms, forever.
    SlowHeaders,
    /// Headers promising 1 MB, then one body byte every 200 ms.
    SlowBody,
    /// `Content-Length: 2147483648`, then zeros as fast as the client takes them.
    HugeDeclared,
    /// Chunked zeros as fast as the client takes them, without end.
    HugeChunked,
    /// A chunked body that sends a small chunk every 100 ms and never ends.
    EndlessTrickle,
    /// 10,000 header lines.
    ManyHeaders,
    /// One header line of 1 MB.
    HugeHeader,
    /// `100 Continue` and `103 Early Hints` interim responses, one after another, forever.
    InterimStorm,
    /// `Transfer-Encoding: chunked` with a chunk size that is not hexadecimal.
    BadChunkSize,
    /// A chunk longer than its size says.
    OverlongChunk,
    /// `Content-Length: 1000`, 100 bytes, then a TCP reset.
    ResetMidBody,
    /// A status line that is not HTTP.
    GarbageStatus,
    /// `Content-Length` and `Transfer-Encoding: chunked` together, disagreeing.
    LengthAndChunked,
    /// Two different `Content-Length` headers.
    TwoLengths,
}

/// Starts a raw server on a free loopback port; returns its origin.
pub async fn start(raw: Raw) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = serve(socket, raw).await;
            });
        }
    });
    base
}

/// Reads one request (head, and a body of the length it declares, up to 1 MB).
async fn read_request(socket: &mut TcpStream) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        let n = socket.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if head.len() > 64 * 1024 {
            return Ok(());
        }
    };
    let text = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
    let declared = text
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(1 << 20);
    let mut have = head.len() - end;
    while have < declared {
        let n = socket.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        have += n;
    }
    Ok(())
}

async fn serve(mut s: TcpStream, raw: Raw) -> std::io::Result<()> {
    read_request(&mut s).await?;
    let tick = |ms| tokio::time::sleep(Duration::from_millis(ms));
    match raw {
        Raw::SlowHeaders => {
            s.write_all(b"HTTP/1.1 200 OK\r\n").await?;
            loop {
                s.write_all(b"X").await?;
                tick(200).await;
            }
        }
        Raw::SlowBody => {
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{").await?;
            loop {
                s.write_all(b" ").await?;
                tick(200).await;
            }
        }
        Raw::HugeDeclared => {
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2147483648\r\n\r\n").await?;
            let zeros = vec![b'0'; 64 * 1024];
            for _ in 0..(2147483648 / zeros.len()) {
                s.write_all(&zeros).await?;
            }
        }
        Raw::HugeChunked => {
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").await?;
            let mut chunk = b"10000\r\n".to_vec();
            chunk.extend(vec![b'0'; 0x10000]);
            chunk.extend_from_slice(b"\r\n");
            loop {
                s.write_all(&chunk).await?;
            }
        }
        Raw::EndlessTrickle => {
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n[\r\n").await?;
            loop {
                tick(100).await;
                s.write_all(b"2\r\n0,\r\n").await?;
            }
        }
        Raw::ManyHeaders => {
            let mut r = b"HTTP/1.1 200 OK\r\n".to_vec();
            for i in 0..10_000 {
                r.extend(format!("X-Header-{i}: {i}\r\n").into_bytes());
            }
            r.extend_from_slice(b"Content-Length: 2\r\n\r\n{}");
            s.write_all(&r).await?;
        }
        Raw::HugeHeader => {
            let mut r = b"HTTP/1.1 200 OK\r\nX-Huge: ".to_vec();
            r.extend(vec![b'a'; 1 << 20]);
            r.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\n{}");
            s.write_all(&r).await?;
        }
        Raw::InterimStorm => loop {
            s.write_all(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n").await?;
            tick(1).await;
        },
        Raw::BadChunkSize => {
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n").await?;
        }
        Raw::OverlongChunk => {
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{\"a\":1}\r\n0\r\n\r\n").await?;
        }
        Raw::ResetMidBody => {
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n").await?;
            s.write_all(&[b' '; 100]).await?;
            s.flush().await?;
            tick(50).await;
            // Closing with a zero linger time sends RST instead of FIN (and so never blocks,
            // which is what the deprecation warns of).
            #[allow(deprecated)]
            s.set_linger(Some(Duration::ZERO))?;
            drop(s);
            return Ok(());
        }
        Raw::GarbageStatus => {
            s.write_all(b"SSH-2.0-OpenSSH_9.0\r\n\r\n").await?;
        }
        Raw::LengthAndChunked => {
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nZ\r\n").await?;
        }
        Raw::TwoLengths => {
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 20\r\n\r\n{}").await?;
        }
    }
    s.shutdown().await
}
