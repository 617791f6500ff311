//! Which local user is on the other end of a loopback connection.
//!
//! The token and the session cookie keep web sites out, but a secret that
//! leaks (a cookie is sent to every port of 127.0.0.1, so a server another
//! user runs there can collect it) would let another user of this machine
//! in. On Linux the kernel says who owns each TCP socket
//! (`/proc/net/tcp`): the API answers only connections from processes of
//! the user who runs the node. Elsewhere this check is not available and
//! the token and cookie are the protection.

use std::net::SocketAddr;

/// Whether the connection from `client` to our `port` comes from this
/// process's user. `None` when the system cannot tell.
pub(super) fn same_user(client: SocketAddr, port: u16) -> Option<bool> {
    let me = my_uid()?;
    let tables = if client.is_ipv4() { ["/proc/net/tcp", "/proc/net/tcp6"] } else { ["/proc/net/tcp6", "/proc/net/tcp"] };
    for table in tables {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        if let Some(owner) = owner_of(&text, client.port(), port) {
            return Some(owner == me);
        }
    }
    // The socket is gone already (the client hung up) or is not listed.
    Some(false)
}

#[cfg(target_os = "linux")]
fn my_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

#[cfg(not(target_os = "linux"))]
fn my_uid() -> Option<u32> {
    None
}

/// The uid owning the socket whose local port is `client_port` and remote
/// port is `server_port`, in a `/proc/net/tcp` table.
fn owner_of(table: &str, client_port: u16, server_port: u16) -> Option<u32> {
    table.lines().skip(1).find_map(|line| {
        let columns: Vec<&str> = line.split_whitespace().collect();
        let port = |address: &str| address.rsplit_once(':').and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
        let (local, remote, uid) = (columns.get(1)?, columns.get(2)?, columns.get(7)?);
        (port(local)? == client_port && port(remote)? == server_port).then(|| uid.parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:A0D1 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1001        0 12345 1 0000000000000000 20 4 30 10 -1
   1: 0100007F:1F90 0100007F:A0D1 01 00000000:00000000 00:00000000 00000000     0        0 12346 1 0000000000000000 20 4 30 10 -1";

    #[test]
    fn the_clients_socket_owner_is_found() {
        // Client port 0xA0D1 = 41169 talking to our port 0x1F90 = 8080.
        assert_eq!(owner_of(TABLE, 41169, 8080), Some(1001));
        assert_eq!(owner_of(TABLE, 8080, 41169), Some(0), "the server's own side");
        assert_eq!(owner_of(TABLE, 5555, 8080), None);
    }

    #[test]
    fn a_connection_from_this_process_is_this_user() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let answer = same_user(client.local_addr().unwrap(), port);
        assert!(answer.is_none_or(|same| same), "{answer:?}");
    }
}
