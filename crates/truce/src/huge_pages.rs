//! Transparent huge pages for the batch commands, when their inputs are large.
//!
//! `assess`, `report` and `export` hold every report in arrays of a hundred megabytes or more
//! (for a million reports) and visit them in scattered orders: the corroboration grid's order,
//! id order, an incident's members. With 4 KiB pages nearly each of those visits misses the
//! processor's address-translation cache, and the kernel zeroes the fresh memory one small
//! page fault at a time. With 2 MiB pages much of both goes.
//!
//! What a fresh 2 MiB page costs depends on the machine, though. On the virtual machines the
//! benchmarks run on, clearing fresh memory takes a quarter or more of a run's CPU after a
//! pause between runs (perhaps because the VM hands free 2 MiB blocks back to its host, and
//! touching them again waits for the host), and there a million reports took about 14 % less
//! time with small pages (as our CSV, and 6 % less as JSON Lines), three million the same
//! either way, ten million 17 % more
//! (docs/benchmarks.md, "Fresh memory on this VM, huge pages only for large inputs"). So huge
//! pages are asked for when the inputs together hold at least [`HUGE_PAGES_FROM_BYTES`].
//!
//! Linux gives huge pages to ordinary heap memory only where the program asks for them (the
//! `madvise` setting of `/sys/kernel/mm/transparent_hugepage/enabled`, the default of most
//! distributions). glibc's allocator asks when its tunable `glibc.malloc.hugetlb=1` is set,
//! and it reads tunables only when a process starts. So a batch command started without the
//! tunable starts the same binary once more, with the same arguments and the tunable added to
//! `GLIBC_TUNABLES`; the second process does the work. The tunable changes where memory comes
//! from, never what the program computes.
//!
//! `TRUCE_HUGE_PAGES=1` asks for huge pages whatever the inputs' size, `TRUCE_HUGE_PAGES=0`
//! never. A `GLIBC_TUNABLES` that already sets `glibc.malloc.hugetlb` is left as it is.
//! Elsewhere than Linux with glibc this does nothing.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

/// The inputs' total size from which huge pages are asked for (unless `TRUCE_HUGE_PAGES`
/// says otherwise): above the 279 MB of a million simulated reports as JSON Lines, faster
/// and smaller with small pages (1.37 against 1.46 s, 367 against 379 MiB), and the 500 MB of
/// three million as our CSV, the same either way; below the 1.66 GB of ten million, faster
/// with huge pages.
pub const HUGE_PAGES_FROM_BYTES: u64 = 512 << 20;

/// The tunable that makes glibc's allocator ask for transparent huge pages.
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
const TUNABLE: &str = "glibc.malloc.hugetlb=1";

/// The `GLIBC_TUNABLES` value for the second process of a batch command whose inputs hold
/// `input_bytes`, or `None` when this process should do the work itself: small inputs,
/// turned off, or the tunable already decided.
fn tunables_to_set(
    input_bytes: u64,
    switch: Option<&OsStr>,
    tunables: Option<&OsStr>,
) -> Option<OsString> {
    let wanted = match switch.and_then(OsStr::to_str) {
        Some("0") => false,
        Some("1") => true,
        _ => input_bytes >= HUGE_PAGES_FROM_BYTES,
    };
    if !wanted {
        return None;
    }
    match tunables {
        None => Some(TUNABLE.into()),
        Some(existing) if existing.is_empty() => Some(TUNABLE.into()),
        Some(existing) => {
            if existing.to_string_lossy().contains("glibc.malloc.hugetlb") {
                return None;
            }
            let mut value = existing.to_os_string();
            value.push(":");
            value.push(TUNABLE);
            Some(value)
        }
    }
}

/// The total size of the files at `paths`, and of the files under those that are
/// directories (a `--data` directory), counted only up to [`HUGE_PAGES_FROM_BYTES`]: the
/// count stops there, and after [`MAX_FILES_COUNTED`] files, so that a directory of many
/// small files is not walked to the end before the command starts. Paths that cannot be read
/// count nothing: the command itself reports them.
pub fn input_bytes(paths: &[PathBuf]) -> u64 {
    let mut tally = Tally::default();
    for path in paths {
        tally.add(path, 0);
    }
    tally.bytes
}

/// How many files [`input_bytes`] looks at, at most.
const MAX_FILES_COUNTED: usize = 10_000;

/// What [`input_bytes`] has counted so far.
#[derive(Debug, Default)]
struct Tally {
    bytes: u64,
    files: usize,
}

impl Tally {
    fn done(&self) -> bool {
        self.bytes >= HUGE_PAGES_FROM_BYTES || self.files >= MAX_FILES_COUNTED
    }

    fn add(&mut self, path: &std::path::Path, depth: u32) {
        if self.done() {
            return;
        }
        let Ok(metadata) = std::fs::metadata(path) else {
            return;
        };
        if metadata.is_file() {
            self.bytes = self.bytes.saturating_add(metadata.len());
            self.files += 1;
        } else if metadata.is_dir()
            && depth < 4
            && let Ok(entries) = std::fs::read_dir(path)
        {
            for entry in entries.filter_map(Result::ok) {
                self.add(&entry.path(), depth + 1);
                if self.done() {
                    return;
                }
            }
        }
    }
}

/// For a batch command whose inputs hold `input_bytes`, replaces this process with the same
/// command under the tunable when huge pages pay (see the [module docs](self)). Returns only
/// when they do not or the start failed; the command then runs here, with ordinary pages.
pub fn restart_with_huge_pages(input_bytes: u64) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;

        let Some(tunables) = tunables_to_set(
            input_bytes,
            std::env::var_os("TRUCE_HUGE_PAGES").as_deref(),
            std::env::var_os("GLIBC_TUNABLES").as_deref(),
        ) else {
            return;
        };
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let args: Vec<OsString> = std::env::args_os().skip(1).collect();
        // `exec` returns only on failure; the command then goes on in this process.
        let _failed = std::process::Command::new(exe)
            .args(&args)
            .env("GLIBC_TUNABLES", tunables)
            .exec();
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = input_bytes;
}

#[cfg(test)]
mod tests {
    use super::*;

    const LARGE: u64 = HUGE_PAGES_FROM_BYTES;
    const SMALL: u64 = HUGE_PAGES_FROM_BYTES - 1;

    #[test]
    fn large_inputs_get_the_tunable_small_ones_do_not() {
        assert_eq!(
            tunables_to_set(LARGE, None, None),
            Some(OsString::from("glibc.malloc.hugetlb=1"))
        );
        assert_eq!(tunables_to_set(SMALL, None, None), None);
        assert_eq!(tunables_to_set(0, None, None), None);
    }

    #[test]
    fn the_switch_overrides_the_size() {
        assert_eq!(tunables_to_set(LARGE, Some(OsStr::new("0")), None), None);
        assert_eq!(
            tunables_to_set(SMALL, Some(OsStr::new("1")), None),
            Some(OsString::from("glibc.malloc.hugetlb=1"))
        );
        // Any other value leaves the choice to the size.
        assert_eq!(tunables_to_set(SMALL, Some(OsStr::new("yes")), None), None);
        assert!(tunables_to_set(LARGE, Some(OsStr::new("")), None).is_some());
    }

    #[test]
    fn existing_tunables_are_kept_and_a_choice_respected() {
        assert_eq!(
            tunables_to_set(LARGE, None, Some(OsStr::new("glibc.malloc.arena_max=2"))),
            Some(OsString::from(
                "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"
            ))
        );
        assert_eq!(
            tunables_to_set(LARGE, None, Some(OsStr::new("glibc.malloc.hugetlb=0"))),
            None,
            "a process started with the tunable set (by us or the user) does the work itself"
        );
        assert_eq!(
            tunables_to_set(LARGE, None, Some(OsStr::new(""))),
            Some(OsString::from("glibc.malloc.hugetlb=1"))
        );
    }

    #[test]
    fn input_bytes_adds_files_and_the_files_under_directories() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("reports.csv");
        std::fs::write(&file, vec![b'x'; 1000]).unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(data.join("blobs")).unwrap();
        std::fs::write(data.join("log"), vec![b'y'; 300]).unwrap();
        std::fs::write(data.join("blobs").join("b1"), vec![b'z'; 20]).unwrap();
        let missing = dir.path().join("absent.csv");
        assert_eq!(input_bytes(std::slice::from_ref(&file)), 1000);
        assert_eq!(input_bytes(&[file, data, missing]), 1320);
        assert_eq!(input_bytes(&[]), 0);
    }

    #[test]
    fn input_bytes_stops_counting_at_the_threshold_and_after_many_files() {
        let dir = tempfile::tempdir().unwrap();
        // A sparse file as large as the threshold: counted, and nothing after it.
        let large = dir.path().join("large.csv");
        std::fs::File::create(&large)
            .unwrap()
            .set_len(HUGE_PAGES_FROM_BYTES)
            .unwrap();
        let small = dir.path().join("small.csv");
        std::fs::write(&small, b"abc").unwrap();
        assert_eq!(
            input_bytes(&[large.clone(), small.clone()]),
            HUGE_PAGES_FROM_BYTES
        );
        assert_eq!(input_bytes(&[small, large]), HUGE_PAGES_FROM_BYTES + 3);
        // A directory of many one-byte files: counting stops after the cap.
        let many = dir.path().join("many");
        std::fs::create_dir(&many).unwrap();
        for i in 0..MAX_FILES_COUNTED + 5 {
            std::fs::write(many.join(format!("f{i}")), b"x").unwrap();
        }
        assert_eq!(input_bytes(&[many]), MAX_FILES_COUNTED as u64);
    }
}
