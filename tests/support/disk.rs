//! A small disk for the full-disk tests: a tmpfs of a given size mounted on
//! a scratch folder (needs root, as CI has), made larger to free space, and
//! unmounted when dropped.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::scratch_dir;

/// A mounted tmpfs.
#[derive(Debug)]
pub struct SmallDisk {
    /// Where it is mounted.
    pub path: PathBuf,
}

fn mount(args: &[&str]) -> Result<()> {
    let output = Command::new("mount").args(args).output().context("cannot run mount")?;
    if !output.status.success() {
        bail!("`mount {}` failed (the full-disk tests need root): {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

impl SmallDisk {
    /// A disk of `bytes` (rounded to pages) mounted on a new scratch folder.
    pub fn mount(label: &str, bytes: u64) -> Result<SmallDisk> {
        let path = scratch_dir(label)?;
        let target = path.to_string_lossy().into_owned();
        mount(&["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs", &target])?;
        Ok(SmallDisk { path })
    }

    /// Gives the disk `bytes` in all (frees space while everything stays).
    pub fn resize(&self, bytes: u64) -> Result<()> {
        mount(&["-o", &format!("remount,size={bytes}"), &self.path.to_string_lossy()])
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        let _ = std::fs::remove_dir(&self.path);
    }
}
