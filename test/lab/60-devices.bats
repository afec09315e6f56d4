# A guest's devices survive save/restore and migration (issue 5): "devguest"
# has a disk (phy: on a loop device in dom0) and a vif on dom0's bridge
# xenbr0.  It reads its disk every 3 s with O_DIRECT and writes a record to
# it, and answers ping; after xl save + restore and xl migrate it must go on
# doing both against the new backends, same boot id, memory intact.
# disk_ok, net_ok, devices_ok (lib.bash) are what a later test calls after
# xenpipe's own save/restore or migration of devguest (G=devguest
# LAB_DEVICES=1; devguest_ensure creates it when missing).
G=devguest
LAB_DEVICES=1
load lib

teardown_file() {
	rm -f $SAVE	# xl save's file: dom0's /tmp is its RAM
}

# the guest's vif and vbd backends in dom0's xenstore: "vif:ID vbd:ID"
backends() {
	echo "vif:$(xenstore-list /local/domain/0/backend/vif 2>/dev/null | tr '\n' ' ')" \
	    "vbd:$(xenstore-list /local/domain/0/backend/vbd 2>/dev/null | tr '\n' ' ')"
}

@test "devices: dom0 has the bridge $LAB_BR and the guest's disk on a loop device" {
	lab_devices_setup
	fig "bridge $LAB_BR $(ip -4 -o addr show dev $LAB_BR | awk '{print $4}')," \
	    "disk $(cat $LAB_WORK/$G.loop) on $LAB_WORK/$G.img, first MiB md5 $(cat $LAB_WORK/$G.disksum)"
	[ -b "$(cat $LAB_WORK/$G.loop)" ]
	ip link show $LAB_BR | grep -q UP
}

@test "devices: $G boots with a disk and a vif, reads its disk, answers ping" {
	skip_pvh_devices "booting"
	xl destroy $G 2>/dev/null || true
	t=$(now)
	create_guest
	fig "xl create ($LAB_GUEST, disk + vif): $(since $t)s, $(backends)"
	c=$(wait_above counter 0 180)
	r=$(wait_above disk_reads 0 120)
	fig "first disk read $(since $t)s after xl create started; data/net: $(xsr net)"
	devices_ok
}

@test "devices: xl save + xl restore: $G goes on reading its disk and answering ping" {
	skip_pvh_devices "xl's save/migrate of"
	devguest_ensure
	d0=$(domid)
	keep_running xl_save_restore
	fig "domid $d0 -> $(domid), $(backends)"
	devices_ok
}

@test "devices: xl migrate -s '': $G goes on reading its disk and answering ping" {
	skip_pvh_devices "xl's save/migrate of"
	devguest_ensure
	d0=$(domid)
	keep_running xl_migrate
	fig "domid $d0 -> $(domid), $(backends)"
	devices_ok
}

@test "devices: $G destroyed, its backends gone, loop device freed" {
	xl destroy $G 2>/dev/null || true
	xl destroy $G--incoming 2>/dev/null || true
	xl destroy $G--migratedaway 2>/dev/null || true
	sleep 2
	fig "after destroy: $(backends)"
	lab_devices_teardown
	! xl domid $G 2>/dev/null || false
}
