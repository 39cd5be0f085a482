//! Transparent huge pages for the batch commands.
//!
//! `assess`, `report` and `export` hold every report in arrays of a hundred megabytes or more
//! (for a million reports) and visit them in scattered orders: the corroboration grid's order,
//! id order, an incident's members. With 4 KiB pages nearly each of those visits misses the
//! processor's address-translation cache, and the kernel zeroes the fresh memory one small
//! page fault at a time. With 2 MiB pages much of both goes: on the peer benchmark's million
//! reports a run took 3–18 % less time in alternating comparisons (docs/benchmarks.md,
//! "Huge pages and grid-order points").
//!
//! Linux gives huge pages to ordinary heap memory only where the program asks for them (the
//! `madvise` setting of `/sys/kernel/mm/transparent_hugepage/enabled`, the default of most
//! distributions). glibc's allocator asks when its tunable `glibc.malloc.hugetlb=1` is set,
//! and it reads tunables only when a process starts. So a batch command started without the
//! tunable starts the same binary once more, with the same arguments and the tunable added to
//! `GLIBC_TUNABLES`; the second process does the work. The tunable changes where memory comes
//! from, never what the program computes.
//!
//! `TRUCE_HUGE_PAGES=0` turns this off. A `GLIBC_TUNABLES` that already sets
//! `glibc.malloc.hugetlb` is left as it is. Elsewhere than Linux with glibc this does nothing.

/// The subcommands that benefit: they load whole report sets into memory.
const BATCH_COMMANDS: [&str; 3] = ["assess", "report", "export"];

/// The tunable that makes glibc's allocator ask for transparent huge pages.
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
const TUNABLE: &str = "glibc.malloc.hugetlb=1";

/// The `GLIBC_TUNABLES` value for the second process, or `None` when this process should do
/// the work itself: not a batch command, turned off, or the tunable already decided.
fn tunables_to_set(
    args: &[std::ffi::OsString],
    switch: Option<&std::ffi::OsStr>,
    tunables: Option<&std::ffi::OsStr>,
) -> Option<std::ffi::OsString> {
    let command = args.get(1)?.to_str()?;
    if !BATCH_COMMANDS.contains(&command) || switch.is_some_and(|value| value == "0") {
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

/// For a batch command, replaces this process with the same command under the tunable (see
/// the [module docs](self)). Returns only when it does not apply or the start failed; the
/// command then runs here, with ordinary pages.
pub fn restart_with_huge_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;

        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        let Some(tunables) = tunables_to_set(
            &args,
            std::env::var_os("TRUCE_HUGE_PAGES").as_deref(),
            std::env::var_os("GLIBC_TUNABLES").as_deref(),
        ) else {
            return;
        };
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        // `exec` returns only on failure; the command then goes on in this process.
        let _failed = std::process::Command::new(exe)
            .args(&args[1..])
            .env("GLIBC_TUNABLES", tunables)
            .exec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::{OsStr, OsString};

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn batch_commands_get_the_tunable() {
        for command in BATCH_COMMANDS {
            assert_eq!(
                tunables_to_set(&args(&["truce", command, "a.toml"]), None, None),
                Some(OsString::from("glibc.malloc.hugetlb=1"))
            );
        }
    }

    #[test]
    fn other_commands_and_the_switch_are_left_alone() {
        assert_eq!(
            tunables_to_set(&args(&["truce", "serve"]), None, None),
            None
        );
        assert_eq!(tunables_to_set(&args(&["truce"]), None, None), None);
        assert_eq!(
            tunables_to_set(&args(&["truce", "assess"]), Some(OsStr::new("0")), None),
            None
        );
        assert!(
            tunables_to_set(&args(&["truce", "assess"]), Some(OsStr::new("1")), None).is_some()
        );
    }

    #[test]
    fn existing_tunables_are_kept_and_a_choice_respected() {
        assert_eq!(
            tunables_to_set(
                &args(&["truce", "assess"]),
                None,
                Some(OsStr::new("glibc.malloc.arena_max=2"))
            ),
            Some(OsString::from(
                "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"
            ))
        );
        assert_eq!(
            tunables_to_set(
                &args(&["truce", "assess"]),
                None,
                Some(OsStr::new("glibc.malloc.hugetlb=0"))
            ),
            None,
            "a process started with the tunable set (by us or the user) does the work itself"
        );
        assert_eq!(
            tunables_to_set(&args(&["truce", "assess"]), None, Some(OsStr::new(""))),
            Some(OsString::from("glibc.malloc.hugetlb=1"))
        );
    }
}
