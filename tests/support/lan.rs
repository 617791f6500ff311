//! A small LAN of network namespaces for fault tests: one namespace per
//! node, each with an address on a bridge of its own namespace, and
//! partitions made of iptables DROP rules (packets vanish, as on a cut
//! route: nobody is told, TCP connections stay open). Needs root, `ip` and
//! `iptables` (`scripts/test` installs them; CI runs as root).

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::nodes::Node;

/// The namespaces, deleted again when dropped.
#[derive(Debug)]
pub struct Lan {
    prefix: String,
    hosts: usize,
}

fn run(args: &[&str]) -> Result<()> {
    let output = Command::new(args[0]).args(&args[1..]).output().with_context(|| format!("cannot run {}", args[0]))?;
    if !output.status.success() {
        bail!("`{}` failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

impl Lan {
    /// `hosts` namespaces on one bridge, host `i` at 10.77.0.(i + 2).
    pub fn new(hosts: usize) -> Result<Lan> {
        let id = Command::new("id").arg("-u").output().context("cannot run id")?;
        if String::from_utf8_lossy(&id.stdout).trim() != "0" {
            bail!("the fault tests make network namespaces and need root (CI runs as root)");
        }
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let lan_number = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let prefix = format!("cs{}n{lan_number}", std::process::id() % 100_000);
        let lan = Lan { prefix, hosts };
        let bridge = lan.bridge();
        run(&["ip", "netns", "add", &bridge])?;
        run(&["ip", "-n", &bridge, "link", "add", "br0", "type", "bridge"])?;
        run(&["ip", "-n", &bridge, "link", "set", "br0", "up"])?;
        for host in 0..hosts {
            let ns = lan.namespace(host);
            let port = format!("p{host}");
            run(&["ip", "netns", "add", &ns])?;
            run(&["ip", "-n", &bridge, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns])?;
            run(&["ip", "-n", &bridge, "link", "set", &port, "master", "br0", "up"])?;
            run(&["ip", "-n", &ns, "addr", "add", &format!("{}/24", lan.address(host)), "dev", "eth0"])?;
            run(&["ip", "-n", &ns, "link", "set", "eth0", "up"])?;
            run(&["ip", "-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(lan)
    }

    fn bridge(&self) -> String {
        format!("{}-br", self.prefix)
    }

    /// Host `host`'s namespace.
    pub fn namespace(&self, host: usize) -> String {
        format!("{}-{host}", self.prefix)
    }

    /// Host `host`'s address.
    pub fn address(&self, host: usize) -> String {
        format!("10.77.0.{}", host + 2)
    }

    /// A new node with an identity, living on host `host`.
    pub fn node(&self, host: usize, name: &str, contact: &str) -> Result<Node> {
        Node::init_on(name, contact, Some((self.namespace(host), self.address(host))))
    }

    /// Cuts `host` off: everything in or out of its LAN interface is dropped.
    pub fn cut(&self, host: usize) -> Result<()> {
        let ns = self.namespace(host);
        run(&["ip", "netns", "exec", &ns, "iptables", "-A", "INPUT", "-i", "eth0", "-j", "DROP"])?;
        run(&["ip", "netns", "exec", &ns, "iptables", "-A", "OUTPUT", "-o", "eth0", "-j", "DROP"])
    }

    /// Gives `host` its route back.
    pub fn heal(&self, host: usize) -> Result<()> {
        run(&["ip", "netns", "exec", &self.namespace(host), "iptables", "-F"])
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for host in 0..self.hosts {
            let _ = run(&["ip", "netns", "del", &self.namespace(host)]);
        }
        let _ = run(&["ip", "netns", "del", &self.bridge()]);
    }
}
