//! The hosts of `sandbox.network` when it is a list: what an entry may be,
//! which hosts it matches, how two lists narrow each other, and which
//! addresses are refused unless listed.
//!
//! An entry is a host name (`static.crates.io`), a wildcard for the
//! subdomains of a name (`*.npmjs.org`: `registry.npmjs.org` and
//! `a.b.npmjs.org`, not `npmjs.org` itself), or an IP address literal
//! (`203.0.113.7`, `::1`; brackets are accepted and dropped). Entries name
//! hosts on every port. Names are compared without case and without a
//! trailing dot.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The entry as wf compares it (lower case, no trailing dot, no brackets),
/// or why it is not one.
pub fn normalize(entry: &str) -> Result<String, crate::HostError> {
    let trimmed = entry.trim();
    let unbracketed = trimmed
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(trimmed);
    if let Ok(ip) = unbracketed.parse::<IpAddr>() {
        return Ok(ip.to_string());
    }
    let lower = trimmed.to_ascii_lowercase();
    let lower = lower.strip_suffix('.').unwrap_or(&lower);
    let name = lower.strip_prefix("*.").unwrap_or(lower);
    let why = |what: &str| {
        Err(crate::HostError(format!(
            "`{entry}` is not a host name, `*.` and a name, or an IP address: {what}"
        )))
    };
    if name.is_empty() {
        return why("it is empty");
    }
    if name.contains('*') {
        return why("`*` may only stand first, as `*.`");
    }
    if name.contains(':') || name.contains('/') {
        return why("give the host alone (no scheme, port or path)");
    }
    if name.len() > 253 {
        return why("longer than 253 characters");
    }
    for label in name.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return why(&format!("`{label}` is not a valid label"));
        }
    }
    if lower.starts_with("*.") && !name.contains('.') {
        return why("a wildcard needs a name with a dot under it (`*.example.org`)");
    }
    Ok(lower.to_string())
}

/// The list normalized, sorted and deduplicated; the first bad entry is
/// an error.
pub fn normalize_all(entries: &[String]) -> Result<Vec<String>, crate::HostError> {
    let mut out = entries
        .iter()
        .map(|e| normalize(e))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// A host as asked for (a name or an address literal) in the form the
/// entries use, or `None` when it is neither.
pub fn host_key(host: &str) -> Option<String> {
    normalize(host).ok().filter(|h| !h.starts_with("*."))
}

/// Whether the normalized entry matches the normalized host.
pub fn entry_matches(entry: &str, host: &str) -> bool {
    match entry.strip_prefix("*.") {
        Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
        None => entry == host,
    }
}

/// Whether a normalized list allows the normalized host.
pub fn allows(list: &[String], host: &str) -> bool {
    list.iter().any(|e| entry_matches(e, host))
}

/// The hosts both normalized lists allow, as a list: an entry of either
/// list that the other allows whole (a name it matches, a wildcard under
/// one of its wildcards). Sorted, deduplicated.
pub fn intersect(a: &[String], b: &[String]) -> Vec<String> {
    let within = |entry: &str, other: &[String]| {
        other.iter().any(|o| {
            o == entry
                || match entry.strip_prefix("*.") {
                    // `*.a.b` is within `*.b`; a wildcard is never within
                    // a single name.
                    Some(suffix) => o
                        .strip_prefix("*.")
                        .is_some_and(|os| suffix == os || suffix.ends_with(&format!(".{os}"))),
                    None => entry_matches(o, entry),
                }
        })
    };
    let mut out: Vec<String> = a
        .iter()
        .filter(|e| within(e, b))
        .chain(b.iter().filter(|e| within(e, a)))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Entries of `asked` that `bound` does not allow whole.
pub fn not_within(asked: &[String], bound: &[String]) -> Vec<String> {
    let kept = intersect(asked, bound);
    asked
        .iter()
        .filter(|e| !kept.contains(e))
        .cloned()
        .collect()
}

/// What kind of special-purpose address `ip` is, when it is one: the
/// machine itself, a private network, a link-local network (cloud metadata
/// endpoints), and the unspecified, multicast, broadcast and reserved
/// ranges. wf's proxy refuses these unless the address is listed.
pub fn special(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64) {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if ip.is_multicast() || ip.is_broadcast() || o[0] >= 240 {
        Some("multicast or reserved")
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        Some("reserved")
    } else {
        None
    }
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return special_v4(v4);
    }
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return special_v4(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ));
    }
    if s[0] == 0x2002 {
        return special_v4(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if (s[0] & 0xfe00) == 0xfc00 {
        Some("private")
    } else if (s[0] & 0xffc0) == 0xfe80 {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast or reserved")
    } else if s[0..6] == [0, 0, 0, 0, 0, 0] {
        // IPv4-compatible (deprecated) addresses.
        Some("reserved")
    } else {
        None
    }
}

/// **For tests only.** Names under `.test` (reserved by RFC 6761: they
/// never resolve in the DNS) mapped to loopback addresses, read from this
/// variable of wf's environment as `name=address,name=address`. It can
/// only add such names: another name, or an address that is not loopback,
/// is ignored. The proxy's rules apply to these names as to any other (a
/// loopback address is refused unless listed), so tests of the proxy can
/// reach servers on this machine under names of their own without
/// touching `/etc/hosts`.
pub const TEST_RESOLVE_ENV: &str = "WF_TEST_RESOLVE";

/// The test-only mappings of [`TEST_RESOLVE_ENV`] in `value`.
pub fn test_mappings(value: &str) -> Vec<(String, IpAddr)> {
    value
        .split(',')
        .filter_map(|pair| {
            let (name, addr) = pair.split_once('=')?;
            let name = host_key(name)?;
            let addr: IpAddr = addr.trim().parse().ok()?;
            (name.ends_with(".test") && addr.is_loopback()).then_some((name, addr))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> Vec<String> {
        normalize_all(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn entries_are_names_wildcards_or_addresses() {
        assert_eq!(normalize("Static.Crates.IO.").unwrap(), "static.crates.io");
        assert_eq!(normalize("*.npmjs.org").unwrap(), "*.npmjs.org");
        assert_eq!(normalize("[::1]").unwrap(), "::1");
        assert_eq!(normalize("127.0.0.1").unwrap(), "127.0.0.1");
        for bad in [
            "",
            "*",
            "*.org",
            "a.*.org",
            "https://pypi.org",
            "pypi.org:443",
            "pypi.org/simple",
            "-a.org",
            "a..org",
        ] {
            assert!(normalize(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn wildcards_match_subdomains_only() {
        let l = list(&["*.npmjs.org", "pypi.org"]);
        assert!(allows(&l, "registry.npmjs.org"));
        assert!(allows(&l, "a.b.npmjs.org"));
        assert!(!allows(&l, "npmjs.org"));
        assert!(!allows(&l, "evilnpmjs.org"));
        assert!(allows(&l, "pypi.org"));
        assert!(!allows(&l, "files.pythonhosted.org"));
        assert!(!allows(&l, "pypi.org.evil.com"));
    }

    #[test]
    fn lists_narrow_each_other() {
        let task = list(&["*.npmjs.org", "pypi.org", "crates.io"]);
        let step = list(&[
            "registry.npmjs.org",
            "*.a.npmjs.org",
            "*.pypi.org",
            "evil.com",
        ]);
        assert_eq!(
            intersect(&step, &task),
            ["*.a.npmjs.org", "registry.npmjs.org"]
        );
        assert_eq!(intersect(&task, &step), intersect(&step, &task));
        assert_eq!(not_within(&step, &task), ["*.pypi.org", "evil.com"]);
        assert!(intersect(&list(&["a.org"]), &list(&["b.org"])).is_empty());
    }

    #[test]
    fn special_addresses_are_recognized() {
        for (ip, kind) in [
            ("127.0.0.1", Some("loopback")),
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("192.168.1.1", Some("private")),
            ("100.64.0.1", Some("private")),
            ("169.254.169.254", Some("link-local")),
            ("0.0.0.0", Some("unspecified")),
            ("224.0.0.1", Some("multicast or reserved")),
            ("::1", Some("loopback")),
            ("fd00::1", Some("private")),
            ("fe80::1", Some("link-local")),
            ("::ffff:169.254.169.254", Some("link-local")),
            ("64:ff9b::a00:1", Some("private")),
            ("2002:7f00:1::", Some("loopback")),
            ("151.101.0.223", None),
            ("2a04:4e42::223", None),
        ] {
            assert_eq!(special(ip.parse().unwrap()), kind, "{ip}");
        }
    }

    #[test]
    fn the_test_resolver_only_adds_test_names_on_loopback() {
        let m =
            test_mappings("a.test=127.0.0.1, pypi.org=127.0.0.1,b.test=10.0.0.1,c.test=::1,junk");
        assert_eq!(
            m,
            [
                ("a.test".to_string(), "127.0.0.1".parse().unwrap()),
                ("c.test".to_string(), "::1".parse().unwrap())
            ]
        );
    }
}
