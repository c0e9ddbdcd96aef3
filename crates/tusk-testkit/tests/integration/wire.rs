//! A minimal raw wire-protocol client, to watch the proxy's byte stream.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Connects as postgres to database postgres (trust) and reads up to the
/// first ReadyForQuery.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut body = Vec::new();
    body.extend_from_slice(&196_608i32.to_be_bytes());
    for part in ["user", "postgres", "database", "postgres", ""] {
        body.extend_from_slice(part.as_bytes());
        body.push(0);
    }
    let mut msg = (i32::try_from(body.len()).unwrap() + 4)
        .to_be_bytes()
        .to_vec();
    msg.extend_from_slice(&body);
    stream.write_all(&msg).unwrap();
    read_until_ready(&mut stream);
    stream
}

/// Sends a simple Query.
pub fn send_query(stream: &mut TcpStream, sql: &str) {
    let mut msg = vec![b'Q'];
    msg.extend_from_slice(&(i32::try_from(sql.len()).unwrap() + 5).to_be_bytes());
    msg.extend_from_slice(sql.as_bytes());
    msg.push(0);
    stream.write_all(&msg).unwrap();
}

/// Reads whole messages until ReadyForQuery; returns their type bytes.
pub fn read_until_ready(stream: &mut TcpStream) -> Vec<u8> {
    let mut types = Vec::new();
    loop {
        let mut header = [0u8; 5];
        stream.read_exact(&mut header).unwrap();
        let len = i32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        let mut rest = vec![0u8; usize::try_from(len - 4).unwrap()];
        stream.read_exact(&mut rest).unwrap();
        types.push(header[0]);
        if header[0] == b'Z' {
            return types;
        }
    }
}
