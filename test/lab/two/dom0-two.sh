#!/bin/sh
# The two-host lab's dom0 run script (run2.sh shares it as lab/dom0-run.sh;
# dom0-init.sh runs it).  lab.role=a|b on dom0's command line.  Both hosts:
# the bridge xenbr0 holding the NIC (the link between the two QEMUs) with
# 192.0.2.1/24 (a) or 192.0.2.2/24 (b), sshd on that address with the host
# key and the client key run2.sh generated on the host for this run, the
# shared disk as /dev/xenpipe-shared: a's image (in its RAM) on a loop
# device, exported over AoE by vblade; b's /dev/etherd/e0.0.  Then a runs
# the suite (two/*.bats, bats --tap, TAP to out/tap, status to out/status);
# b serves until run2.sh drops "stop" in its share.  Both collect logs.
S=$LAB_SHARE
ROLE=${LAB_ROLE:-a}
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
for i in 0:stdin 1:stdout 2:stderr; do
	[ -e /dev/${i#*:} ] || ln -s /proc/self/fd/${i%:*} /dev/${i#*:}
done
export PATH=$S/bin:$PATH:/usr/lib/xen-4.17/bin
export PYTHONPATH=/usr/lib/xen-4.17/lib/python
export LAB_GUEST=${LAB_GUEST:-pvh}
export LAB_WORK=/tmp/lab
mkdir -p $LAB_WORK
cp $S/guest/vmlinuz $S/guest/initrd.gz $LAB_WORK/
cd $LAB_WORK || exit 1
ts() { cut -d' ' -f1 /proc/uptime; }
log() { echo "DOM0-TWO($ROLE): $* (uptime $(ts)s)"; }
case $ROLE in a) ME=192.0.2.1;; *) ME=192.0.2.2;; esac
hostname xenlab-$ROLE

# ---- the network: the NIC (no udev: eth0, or whatever is not lo) in xenbr0
nic=
for n in /sys/class/net/*; do
	[ -e $n/device ] && { nic=${n##*/}; break; }
done
[ -n "$nic" ] || log "no NIC"
ip link add xenbr0 type bridge stp_state 0 forward_delay 0
[ -n "$nic" ] && ip link set $nic master xenbr0 && ip link set $nic up
ip addr add $ME/24 dev xenbr0
ip link set xenbr0 up
log "xenbr0 $ME with $nic ($(cat /sys/class/net/$nic/address 2>/dev/null), mtu $(cat /sys/class/net/$nic/mtu 2>/dev/null))"
printf '127.0.0.1\tlocalhost\n192.0.2.1\txenlab-a\n192.0.2.2\txenlab-b\n' > /etc/hosts

# ---- ssh: the keys run2.sh made for this run (share/ssh/)
mkdir -p /root/.ssh /run/sshd
chmod 700 /root/.ssh
cp $S/ssh/host_$ROLE /etc/ssh/lab_host_key
cp $S/ssh/id /root/.ssh/id_lab
cp $S/ssh/id.pub /root/.ssh/authorized_keys
cp $S/ssh/known_hosts /root/.ssh/known_hosts
chmod 600 /etc/ssh/lab_host_key /root/.ssh/id_lab /root/.ssh/authorized_keys
# what a command run over ssh finds: the programs under test, xl's tools
printf 'PATH=%s\nPYTHONPATH=%s\nLAB_WORK=%s\nLAB_GUEST=%s\n' \
    "$PATH" "$PYTHONPATH" "$LAB_WORK" "$LAB_GUEST" > /root/.ssh/environment
# lab.ssh_cipher=C: the client's cipher (the ssh investigation, README)
{
	echo "Host 192.0.2.* xenlab-*"
	echo "  IdentityFile /root/.ssh/id_lab"
	echo "  UserKnownHostsFile /root/.ssh/known_hosts"
	echo "  StrictHostKeyChecking yes"
	echo "  BatchMode yes"
	echo "  ConnectTimeout 30"
	echo "  ServerAliveInterval 15"
	echo "  ServerAliveCountMax 8"
	[ -n "${LAB_SSH_CIPHER:-}" ] && echo "  Ciphers $LAB_SSH_CIPHER"
} > /root/.ssh/config
/usr/sbin/sshd -E /var/log/sshd.log -h /etc/ssh/lab_host_key \
    -o ListenAddress=$ME -o PermitRootLogin=prohibit-password \
    -o PermitUserEnvironment=yes -o UseDNS=no -o PasswordAuthentication=no \
    -o MaxSessions=50 -o MaxStartups=50 -o ClientAliveInterval=0 &&
    log "sshd on $ME:22" || log "sshd FAILED"

# ---- the shared disk, /dev/xenpipe-shared on both hosts
if [ $ROLE = a ]; then
	img=$LAB_WORK/shared.img
	awk 'BEGIN { printf "xenpipe-lab-disk shared\n"
		for (i = 0; i < 40000; i++) printf "xenpipe lab disk, line %06d\n", i }' > $img
	truncate -s 1M $img
	truncate -s 16M $img
	loop=$(losetup -f --show $img)
	ln -sf $loop /dev/xenpipe-shared
	# vblade reads and writes the image file itself: the loop device
	# reads the same file's page cache, so both see each other's writes
	setsid vblade 0 0 xenbr0 $img > /var/log/vblade.log 2>&1 < /dev/null &
	log "shared disk: $img on $loop, AoE e0.0 on xenbr0 (vblade)"
else
	aoe-interfaces xenbr0 2>/dev/null || echo xenbr0 > /sys/module/aoe/parameters/aoe_iflist
	i=0
	while [ $i -lt 300 ] && [ ! -b /dev/etherd/e0.0 ]; do
		aoe-discover 2>/dev/null
		sleep 2; i=$((i + 2))
	done
	if [ -b /dev/etherd/e0.0 ]; then
		ln -sf /dev/etherd/e0.0 /dev/xenpipe-shared
		log "shared disk: /dev/etherd/e0.0 after ${i}s ($(cat /sys/block/etherd!e0.0/size 2>/dev/null) sectors)"
	else
		log "no /dev/etherd/e0.0 after ${i}s: $(aoe-stat 2>&1 | tr '\n' ' ')"
	fi
fi
echo "$(ts)" > $S/out/ready
log "ready"

# every 30 s a line on the console
(
	while sleep 30; do
		echo "DOM0-MON($ROLE): up $(ts)s load $(cut -d' ' -f1-3 /proc/loadavg)," \
		    "mem free $(awk '/MemAvailable/{print int($2/1024)}' /proc/meminfo) MiB," \
		    "$(xl list 2>/dev/null | awk 'NR > 1 { printf "%s/%s/%s ", $1, $2, $5 }')"
		ps -eo etimes=,args= --sort=start_time | grep -v -e 'sleep 30' -e 'ps -eo' |
		    tail -n 3 | cut -c1-120 | sed "s/^/DOM0-MON($ROLE):   /"
	done
) &
MON=$!

if [ $ROLE = a ]; then
	timeout -k 5 $(( ${LAB_TIMEOUT:-1800} - 150 )) bats --tap --timing $S/lab/*.bats > $S/out/tap 2>&1
	echo $? > $S/out/status
else
	end=$(( $(date +%s) + ${LAB_TIMEOUT:-1800} - 120 ))
	while [ ! -e $S/stop ] && [ "$(date +%s)" -lt $end ]; do sleep 1; done
	echo 0 > $S/out/status
fi
kill $MON
xl list > $S/out/xl-list.txt 2>&1
xl dmesg > $S/out/xl-dmesg.txt 2>&1
dmesg > $S/out/dom0-dmesg.txt 2>&1
cp /var/log/xen/console/* /var/log/xen/*.log /var/log/sshd.log /var/log/vblade.log \
    $S/out/ 2>/dev/null
[ $ROLE = a ] && sed 's/^/DOM0-TAP: /' $S/out/tap
log "status $(cat $S/out/status)"
