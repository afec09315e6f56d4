# The lab itself: Xen 4.17 boots with a Debian dom0, a guest runs on it.
load lib

@test "lab: Xen 4.17 runs with dom0 and its daemons" {
	run xl info
	[ "$status" -eq 0 ]
	v=$(xl info | awk '$1 == "xen_version" { print $3 }')
	case $v in 4.17.*) ;; *) false;; esac
	fig "xen_version $v, xen_caps $(xl info | awk '$1 == "xen_caps" { $1 = $2 = ""; print }'), dom0 uptime $(cut -d' ' -f1 /proc/uptime)s"
	xl list | grep -q '^Domain-0 '
}

@test "lab: a $LAB_GUEST guest boots, xl list shows it, its counter advances" {
	xl destroy $G 2>/dev/null || true
	t=$(now)
	create_guest
	fig "xl create ($LAB_GUEST, $GUEST_MEM MiB): $(since $t)s"
	xl list | awk -v g=$G '$1 == g { f = 1 } END { exit !f }'
	c1=$(wait_above counter 0 180)
	fig "first counter ($c1) $(since $t)s after xl create started"
	c2=$(wait_above counter $((c1 + 1)) 30)
	fig "counter $c1 -> $c2, boot_id $(xsr boot_id)"
	[ "$(xl domid $G)" = "$(domid)" ]
}

@test "lab: memguard runs in the guest and finds its memory intact" {
	ensure_guest
	w=$(mg writes)
	p=$(wait_above memguard/passes 0 120)
	[ "$(mg writes)" -gt "${w:-0}" ]
	fig "memguard: $(mg pages) pages, writes $(mg writes), checks $(mg checks)," \
	    "passes $p, max pause $(mg max_pause_ms) ms"
	guest_intact
}
