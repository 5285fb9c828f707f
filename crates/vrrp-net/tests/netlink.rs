//! Interfaces, VIPs, leases, leftovers, VMACs and sysctls (needs root).

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use common::{addr_entry, ifindex, in_ns, rt, within};
use vrrp_net::netlink::{MacvlanMode, VmacFamily, VRRPD_ADDR_PROTO};
use vrrp_net::sysctl;
use vrrp_net::{Error, Netlink, VipSpec};
use vrrp_netns::{require_root, wait_until, Lab};

fn lab() -> Lab {
    require_root();
    Lab::builder().router("r1").build().expect("lab")
}

#[test]
fn interface_lookup_reports_index_mac_flags_and_addresses() {
    let lab = lab();
    let r1 = lab.host("r1");
    let rt = rt();
    let nl = in_ns(r1, &rt, || Netlink::new().unwrap());
    let info = rt
        .block_on(within(5, "lookup", nl.interface_by_name("eth0")))
        .unwrap();
    assert_eq!(info.index, ifindex(r1));
    assert_eq!(info.name, "eth0");
    assert_eq!(info.mac, Some(r1.mac));
    assert!(info.up && info.lower_up && info.is_usable());
    assert_eq!(info.primary_ipv4, Some((r1.ipv4, r1.prefix4)));
    assert_eq!(info.ipv6_link_local, Some(r1.link_local));
    let by_index = rt.block_on(nl.interface_by_index(info.index)).unwrap();
    assert_eq!(by_index, info);

    let err = rt.block_on(nl.interface_by_name("eth7")).unwrap_err();
    assert!(
        matches!(err, Error::InterfaceNotFound(ref n) if n == "eth7"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "interface eth7 not found");

    // Several at once (one address dump): the same answers; missing names are left out.
    let many = rt
        .block_on(within(
            5,
            "lookups",
            nl.interfaces_by_name(&["eth0", "eth7", "lo"]),
        ))
        .unwrap();
    assert_eq!(many.get("eth0"), Some(&info));
    assert!(!many.contains_key("eth7"), "{many:?}");
    let lo = rt.block_on(nl.interface_by_name("lo")).unwrap();
    assert_eq!(many.get("lo"), Some(&lo));
    assert_eq!(many.len(), 2);
}

#[test]
fn our_vips_are_never_taken_as_the_interface_source_address() {
    // A virtual link-local left by a killed daemon must not become the restarted daemon's
    // advert source (it is removed right after, and the tie-break would use a shared address).
    let lab = lab();
    let r1 = lab.host("r1");
    let rt = rt();
    let nl = in_ns(r1, &rt, || Netlink::new().unwrap());
    let idx = ifindex(r1);
    let vll: IpAddr = "fe80::100".parse().unwrap();
    rt.block_on(async {
        // Removing the host's own link-local leaves only the VIP as a link-local address.
        r1.exec_ok(
            "ip",
            &[
                "addr",
                "del",
                &format!("{}/64", r1.link_local),
                "dev",
                "eth0",
            ],
        )
        .unwrap();
        nl.add_address(idx, &VipSpec::new(vll, 64)).await.unwrap();
        let info = nl.interface_by_name("eth0").await.unwrap();
        assert_eq!(
            info.ipv6_link_local, None,
            "the VIP is not the interface's address"
        );
        r1.exec_ok(
            "ip",
            &[
                "addr",
                "add",
                &format!("{}/64", r1.link_local),
                "dev",
                "eth0",
                "nodad",
            ],
        )
        .unwrap();
        let info = nl.interface_by_name("eth0").await.unwrap();
        assert_eq!(info.ipv6_link_local, Some(r1.link_local));
    });
}

#[test]
fn vip_add_list_remove_with_label_and_typed_errors() {
    let lab = lab();
    let r1 = lab.host("r1");
    let rt = rt();
    let nl = in_ns(r1, &rt, || Netlink::new().unwrap());
    let idx = ifindex(r1);
    let vip = VipSpec::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200)), 24)
        .with_label("eth0:vi1")
        .with_auto_broadcast();
    rt.block_on(async {
        nl.add_address(idx, &vip).await.unwrap();
        let list = nl.list_addresses(idx).await.unwrap();
        let a = list
            .iter()
            .find(|a| a.addr == vip.addr)
            .expect("VIP listed");
        assert_eq!(a.label.as_deref(), Some("eth0:vi1"));
        assert_eq!(a.proto, Some(VRRPD_ADDR_PROTO));
        assert!(
            a.is_secondary(),
            "second address in 192.0.2.0/24 is secondary"
        );
        assert_eq!(a.valid_lft, None);

        let err = nl.add_address(idx, &vip).await.unwrap_err();
        assert!(matches!(err, Error::AddressExists { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "adding 192.0.2.200/24 to eth0: address already present"
        );
    });
    let e = addr_entry(r1, "eth0", "192.0.2.200").expect("in ip -j addr");
    assert_eq!(e["label"], "eth0:vi1");
    assert_eq!(e["broadcast"], "192.0.2.255");
    rt.block_on(async {
        nl.del_address(idx, vip.addr, 24).await.unwrap();
        assert!(!nl
            .list_addresses(idx)
            .await
            .unwrap()
            .iter()
            .any(|a| a.addr == vip.addr));
        let err = nl.del_address(idx, vip.addr, 24).await.unwrap_err();
        assert!(matches!(err, Error::AddressNotFound { .. }), "{err:?}");
        let err = nl.add_address(999, &vip).await.unwrap_err();
        assert!(matches!(err, Error::InterfaceNotFound(_)), "{err:?}");
        assert!(err.to_string().contains("ifindex 999"), "{err}");
    });
    assert!(addr_entry(r1, "eth0", "192.0.2.200").is_none());
}

#[test]
fn ipv6_vip_is_nodad_and_usable_at_once() {
    let lab = lab();
    let r1 = lab.host("r1");
    let rt = rt();
    let nl = in_ns(r1, &rt, || Netlink::new().unwrap());
    let idx = ifindex(r1);
    let addr: Ipv6Addr = "2001:db8:1::200".parse().unwrap();
    rt.block_on(nl.add_address(idx, &VipSpec::new(IpAddr::V6(addr), 64)))
        .unwrap();
    let list = rt.block_on(nl.list_addresses(idx)).unwrap();
    let a = list.iter().find(|a| a.addr == IpAddr::V6(addr)).unwrap();
    assert!(!a.is_tentative());
    assert_eq!(a.proto, Some(VRRPD_ADDR_PROTO));
    let e = addr_entry(r1, "eth0", "2001:db8:1::200").unwrap();
    assert_eq!(e["nodad"], true);
}

#[test]
fn vip_lease_is_visible_renewable_and_expires_in_the_kernel() {
    let lab = lab();
    let r1 = lab.host("r1");
    let rt = rt();
    let nl = in_ns(r1, &rt, || Netlink::new().unwrap());
    let idx = ifindex(r1);
    let renewed = VipSpec::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 202)), 24).with_lifetime(3, 3);
    let short = VipSpec::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 201)), 24).with_lifetime(2, 1);
    rt.block_on(async {
        nl.add_address(idx, &short).await.unwrap();
        nl.add_address(idx, &renewed).await.unwrap();
        nl.renew_address(idx, &renewed.clone().with_lifetime(600, 300))
            .await
            .unwrap();
    });
    let e = addr_entry(r1, "eth0", "192.0.2.201").expect("lease present");
    assert!(e["valid_life_time"].as_u64().unwrap() <= 2, "{e}");
    let e = addr_entry(r1, "eth0", "192.0.2.202").unwrap();
    assert!(e["valid_life_time"].as_u64().unwrap() > 100, "renewed: {e}");
    assert!(
        wait_until(Duration::from_secs(20), || addr_entry(
            r1,
            "eth0",
            "192.0.2.201"
        )
        .is_none()),
        "the kernel removes an expired lease"
    );
    assert!(
        addr_entry(r1, "eth0", "192.0.2.202").is_some(),
        "the renewed lease is still there"
    );
}

#[test]
fn leftover_vips_are_found_by_marker_or_label() {
    let lab = lab();
    let r1 = lab.host("r1");
    let rt = rt();
    let nl = in_ns(r1, &rt, || Netlink::new().unwrap());
    let idx = ifindex(r1);
    // One address added by "someone else" with our label convention but without the marker.
    r1.exec_ok(
        "ip",
        &[
            "addr",
            "add",
            "192.0.2.211/24",
            "dev",
            "eth0",
            "label",
            "eth0:vrrp9",
        ],
    )
    .unwrap();
    r1.exec_ok(
        "ip",
        &[
            "addr",
            "add",
            "192.0.2.212/24",
            "dev",
            "eth0",
            "label",
            "eth0:other",
        ],
    )
    .unwrap();
    rt.block_on(nl.add_address(idx, &VipSpec::new("2001:db8:1::210".parse().unwrap(), 64)))
        .unwrap();
    let found = rt
        .block_on(nl.find_leftover_vips(idx, "eth0:vrrp"))
        .unwrap();
    let mut addrs: Vec<String> = found.iter().map(|a| a.addr.to_string()).collect();
    addrs.sort();
    assert_eq!(
        addrs,
        vec!["192.0.2.211".to_string(), "2001:db8:1::210".to_string()]
    );
}

#[test]
fn r39_vmac_macvlan_has_vmac_random_addrgenmode_and_is_deleted() {
    let lab = lab();
    let r1 = lab.host("r1");
    let rt = rt();
    let nl = in_ns(r1, &rt, || Netlink::new().unwrap());
    let parent = ifindex(r1);
    let idx = rt
        .block_on(nl.create_vmac(parent, "vrrp6.51", 51, VmacFamily::V6, MacvlanMode::Private))
        .unwrap();
    let out = r1
        .exec_ok("ip", &["-j", "-d", "link", "show", "dev", "vrrp6.51"])
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let l = &v[0];
    assert_eq!(l["address"], "00:00:5e:00:02:33");
    assert_eq!(l["ifindex"].as_u64().unwrap() as u32, idx);
    assert_eq!(l["linkinfo"]["info_kind"], "macvlan");
    assert_eq!(l["linkinfo"]["info_data"]["mode"], "private");
    assert_eq!(l["inet6_addr_gen_mode"], "random", "{l}");
    assert!(l["flags"].as_array().unwrap().iter().any(|f| f == "UP"));
    assert_eq!(rt.block_on(nl.addr_gen_mode(idx)).unwrap(), Some(3));
    // No EUI-64 link-local from the VMAC (fe80::200:5eff:fe00:233).
    let info = rt.block_on(nl.interface_by_index(idx)).unwrap();
    assert_eq!(info.parent, Some(parent));
    assert_eq!(info.kind.as_deref(), Some("macvlan"));
    if let Some(ll) = info.ipv6_link_local {
        assert_ne!(ll, "fe80::200:5eff:fe00:233".parse::<Ipv6Addr>().unwrap());
    }
    // Creating it twice is a typed error.
    let err = rt
        .block_on(nl.create_vmac(parent, "vrrp6.51", 51, VmacFamily::V6, MacvlanMode::Private))
        .unwrap_err();
    assert!(matches!(err, Error::LinkExists { .. }), "{err:?}");

    // keepalived's VMAC sysctls, applied and restored (per-netns /proc/sys/net).
    r1.run(|| {
        let before = sysctl::get(sysctl::Family::Ipv4, "eth0", "arp_ignore").unwrap();
        let prev = sysctl::apply(&sysctl::vmac_settings("vrrp6.51", "eth0")).unwrap();
        assert_eq!(
            sysctl::get(sysctl::Family::Ipv4, "vrrp6.51", "arp_ignore").unwrap(),
            "1"
        );
        assert_eq!(
            sysctl::get(sysctl::Family::Ipv4, "vrrp6.51", "accept_local").unwrap(),
            "1"
        );
        assert_eq!(
            sysctl::get(sysctl::Family::Ipv4, "eth0", "arp_filter").unwrap(),
            "1"
        );
        sysctl::restore(&prev);
        assert_eq!(
            sysctl::get(sysctl::Family::Ipv4, "eth0", "arp_ignore").unwrap(),
            before
        );
        assert!(matches!(
            sysctl::get(sysctl::Family::Ipv4, "eth7", "arp_ignore"),
            Err(Error::InterfaceNotFound(_))
        ));
    })
    .unwrap();

    rt.block_on(nl.delete_link(idx)).unwrap();
    assert!(!r1
        .netns
        .exec("ip", &["link", "show", "dev", "vrrp6.51"])
        .unwrap()
        .status
        .success());
}
