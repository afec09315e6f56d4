# TLS on a real kernel (issue 15): dom0's Debian kernel has kernel TLS
# (the tls module), which the machine that builds xenpipe may lack.  The
# transport pair moves a stream with a PSK through kTLS and through user
# space, and dom-migrate --tcp hands the guest over with its one-time key,
# live, while memguard writes.
load lib

SSH=$LAB_WORK/fakessh
OUT=$LAB_WORK/tls.out

setup() {
	command -v stream-send >/dev/null || skip "xenpipe not built"
	printf '#!/bin/sh\nexec sh -c "$2"\n' > $SSH
	chmod +x $SSH
	(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > $LAB_WORK/psk)
}

# xfer OPTIONS...: 64 MiB of half-compressible bytes through stream-send |
# TCP | stream-recv on loopback with OPTIONS on both sides; prints the
# receiver's -v lines, fails unless byte-exact
xfer() {
	local port=18200 t
	[ -f $LAB_WORK/tls.in ] || { head -c 32M /dev/urandom; head -c 32M /dev/zero; } > $LAB_WORK/tls.in
	stream-recv -v --listen 127.0.0.1:$port "$@" > $LAB_WORK/tls.got 2> $OUT &
	for _ in $(seq 100); do grep -q listening $OUT && break; sleep 0.05; done
	t=$(now)
	stream-send "$@" 127.0.0.1:$port < $LAB_WORK/tls.in
	wait $!
	fig "stream-send $*: $(since $t) s: $(grep -h -e TLS -e 'received as' $OUT | sed 's/^stream-recv: //' | tr '\n' ' ')"
	cmp $LAB_WORK/tls.in $LAB_WORK/tls.got
}

@test "tls: a PSK stream through dom0's kTLS and through user space, byte-exact" {
	modprobe tls 2>/dev/null || true
	fig "dom0: $(uname -r), tcp_available_ulp: $(cat /proc/sys/net/ipv4/tcp_available_ulp), tls module: $(grep -c '^tls ' /proc/modules), libssl: $(ls /usr/lib/x86_64-linux-gnu/libssl.so.* 2>/dev/null | tr '\n' ' ')"
	xfer --insecure
	xfer --psk $LAB_WORK/psk --no-ktls
	grep -q "PSK, user-space TLS (--no-ktls)" $OUT
	xfer --psk $LAB_WORK/psk
	if ! grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp; then
		skip "dom0's kernel offers no kTLS here (tcp_available_ulp: $(cat /proc/sys/net/ipv4/tcp_available_ulp))"
	fi
	# dom0's kernel offers it, Debian's OpenSSL 3.0 did not take it
	# (2026-12-03): open, said here rather than passed
	if grep -q "OpenSSL did not take it" $OUT; then
		skip "kTLS: the kernel offers it (tcp_available_ulp: $(cat /proc/sys/net/ipv4/tcp_available_ulp)) but OpenSSL (libssl3) did not take it"
	fi
	grep -q "PSK, kTLS$" $OUT
}

@test "tls: dom-migrate --tcp $G localhost with its one-time key, live: one $G, the same guest; no key on a command line" {
	ensure_guest
	( while :; do ps -eo args; sleep 0.05; done ) > $LAB_WORK/tls.ps 2>/dev/null &
	local pspid=$! st=0
	keep_running sh -c "dom-migrate --tcp 18201 --allow 127.0.0.1 --ssh-command $SSH $G localhost > $OUT 2>&1 3>/dev/null" || st=$?
	kill $pspid
	cat $OUT
	[ "$st" -eq 0 ]
	grep -q "TLSv1.3 TLS_AES_128_GCM_SHA256, PSK" $OUT
	fig "$(grep -h TLSv1.3 $OUT | head -1)"
	[ "$(xl list | awk 'NR > 1 && $1 != "Domain-0" { print $1 }')" = "$G" ]
	grep -q -- "--psk - " $LAB_WORK/tls.ps
	[ "$(grep -E -c '[0-9a-f]{32}' $LAB_WORK/tls.ps)" = 0 ]
}
