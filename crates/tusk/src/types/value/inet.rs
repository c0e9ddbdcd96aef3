//! `inet` and `cidr` from their binary form, printed as PostgreSQL prints
//! them (`network_out` and `pg_inet_net_ntop` in PostgreSQL's sources):
//! no `/32` or `/128` on a host `inet`, always a mask on a `cidr`, IPv6
//! with the longest run of two or more zero groups as `::`, and an IPv4
//! tail in dotted form after six zero groups or `::ffff:`.

/// PostgreSQL's family codes on the wire.
const PGSQL_AF_INET: u8 = 2;
const PGSQL_AF_INET6: u8 = 3;

/// The binary value did not have the inet layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InetError(&'static str);

impl std::fmt::Display for InetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed inet value: {}", self.0)
    }
}

impl std::error::Error for InetError {}

/// The text of a binary inet/cidr value (`cidr` says which type it is).
pub(crate) fn format(raw: &[u8], cidr: bool) -> Result<String, InetError> {
    let [family, bits, _is_cidr, len, addr @ ..] = raw else {
        return Err(InetError("shorter than its 4-byte header"));
    };
    if usize::from(*len) != addr.len() {
        return Err(InetError("address length does not match"));
    }
    let mut out = match (*family, addr) {
        (PGSQL_AF_INET, [a, b, c, d]) => {
            if *bits > 32 {
                return Err(InetError("IPv4 mask longer than 32 bits"));
            }
            let mut s = format!("{a}.{b}.{c}.{d}");
            if *bits != 32 {
                s.push_str(&format!("/{bits}"));
            }
            s
        }
        (PGSQL_AF_INET6, addr) if addr.len() == 16 => {
            if *bits > 128 {
                return Err(InetError("IPv6 mask longer than 128 bits"));
            }
            let mut s = ipv6(addr);
            if *bits != 128 {
                s.push_str(&format!("/{bits}"));
            }
            s
        }
        _ => return Err(InetError("unknown family or address length")),
    };
    if cidr && !out.contains('/') {
        out.push_str(&format!("/{bits}"));
    }
    Ok(out)
}

/// `inet_net_ntop_ipv6` without the mask.
fn ipv6(src: &[u8]) -> String {
    let words: Vec<u16> = src
        .chunks_exact(2)
        .map(|w| u16::from_be_bytes([w[0], w[1]]))
        .collect();
    // The longest run of zero words (the first of equal runs), if >= 2.
    let mut best: Option<(usize, usize)> = None;
    let mut cur: Option<(usize, usize)> = None;
    for (i, w) in words.iter().enumerate() {
        if *w == 0 {
            cur = Some(match cur {
                Some((base, len)) => (base, len + 1),
                None => (i, 1),
            });
        } else if let Some(run) = cur.take() {
            if best.is_none_or(|b| run.1 > b.1) {
                best = Some(run);
            }
        }
    }
    if let Some(run) = cur {
        if best.is_none_or(|b| run.1 > b.1) {
            best = Some(run);
        }
    }
    let best = best.filter(|b| b.1 >= 2);

    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if let Some((base, len)) = best {
            if i >= base && i < base + len {
                if i == base {
                    out.push(':');
                }
                continue;
            }
        }
        if i != 0 {
            out.push(':');
        }
        let ipv4_tail = i == 6
            && best.is_some_and(|(base, len)| {
                base == 0
                    && (len == 6 || (len == 7 && words[7] != 1) || (len == 5 && words[5] == 0xffff))
            });
        if ipv4_tail {
            out.push_str(&format!("{}.{}.{}.{}", src[12], src[13], src[14], src[15]));
            break;
        }
        out.push_str(&format!("{w:x}"));
    }
    if best.is_some_and(|(base, len)| base + len == 8) {
        out.push(':');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::format;

    fn v6(groups: [u16; 8], bits: u8, cidr: bool) -> String {
        let mut raw = vec![3, bits, u8::from(cidr), 16];
        for g in groups {
            raw.extend_from_slice(&g.to_be_bytes());
        }
        format(&raw, cidr).unwrap()
    }

    #[test]
    fn ipv4() {
        assert_eq!(
            format(&[2, 32, 0, 4, 192, 168, 0, 1], false).unwrap(),
            "192.168.0.1"
        );
        assert_eq!(
            format(&[2, 24, 0, 4, 192, 168, 0, 1], false).unwrap(),
            "192.168.0.1/24"
        );
        assert_eq!(
            format(&[2, 32, 1, 4, 10, 0, 0, 1], true).unwrap(),
            "10.0.0.1/32"
        );
        assert_eq!(
            format(&[2, 8, 1, 4, 10, 0, 0, 0], true).unwrap(),
            "10.0.0.0/8"
        );
    }

    #[test]
    fn ipv6_forms() {
        assert_eq!(v6([0, 0, 0, 0, 0, 0, 0, 1], 128, false), "::1");
        assert_eq!(v6([0; 8], 128, false), "::");
        assert_eq!(v6([0; 8], 0, true), "::/0");
        assert_eq!(
            v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], 64, false),
            "2001:db8::1/64"
        );
        assert_eq!(
            v6([0x2001, 0xdb8, 0, 1, 0, 0, 0, 1], 128, false),
            "2001:db8:0:1::1"
        );
        assert_eq!(
            v6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], 128, false),
            "2001:db8::1:0:0:1"
        );
        assert_eq!(v6([1, 0, 2, 0, 3, 0, 4, 0], 128, false), "1:0:2:0:3:0:4:0");
        assert_eq!(
            v6([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304], 128, false),
            "::ffff:1.2.3.4"
        );
        assert_eq!(
            v6([0, 0, 0, 0, 0, 0, 0x0102, 0x0304], 128, false),
            "::1.2.3.4"
        );
        assert_eq!(
            v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, true),
            "2001:db8::/32"
        );
        assert_eq!(v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 128, true), "fe80::/128");
    }

    #[test]
    fn malformed() {
        assert!(format(&[2, 32, 0], false).is_err());
        assert!(format(&[2, 33, 0, 4, 1, 2, 3, 4], false).is_err());
        assert!(format(&[9, 32, 0, 4, 1, 2, 3, 4], false).is_err());
        assert!(format(&[2, 32, 0, 5, 1, 2, 3, 4], false).is_err());
    }
}
