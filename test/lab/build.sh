#!/bin/sh
# build.sh VARIANT - build the real-Xen lab for one Xen build into the cache,
# $XENPIPE_LAB_CACHE/VARIANT (default /var/cache/xenpipe-lab), from Debian
# packages only (apt-get, debootstrap).  Rebuilt only when missing or when
# this script or dom0-init.sh changed (the stamp is their hash).
#   4177: xen-hypervisor-4.17-amd64 from bookworm-security (no shadow paging:
#         PVH guests only), tools from bookworm-security
#   4175: xen-hypervisor-4.17-amd64=4.17.5+72-g01140da4e8-1, the bookworm
#         point release (shadow paging: PV save and live migration), tools
#         from bookworm main
# Result: xen (uncompressed multiboot ELF), vmlinuz, dom0.zst, versions,
# guest-modules/ (the guest's xen-blkfront and xen-netfront from the same
# kernel, and "order": their names in insmod order; mkguest.sh copies them).
# Exit 0 built or up to date, 1 failed, 77 no network (apt-get update failed).
set -eu
V=$1
LAB=$(cd "$(dirname "$0")" && pwd)
CACHE=${XENPIPE_LAB_CACHE:-/var/cache/xenpipe-lab}
C=$CACHE/$V
STAMP=$(cat "$LAB/build.sh" "$LAB/dom0-init.sh" | sha256sum | cut -c1-16)
XEN4175=4.17.5+72-g01140da4e8-1
HOSTPKGS="qemu-system-x86 debootstrap busybox-static cpio zstd kmod gcc libc6-dev libxen-dev"
# openssh-*, vblade, aoetools: the two-host lab (two/): ssh between the
# dom0s, the shared disk over AoE
DOM0PKGS="xen-utils-4.17 xenstore-utils bats python3 liblz4-1 libyajl2 iputils-ping openssh-server openssh-client vblade aoetools"
# dom0's modules (dom0-init.sh modprobes them): bridge (+ stp, llc) and loop
# for the guest's vif and disk (LAB_DEVICES); none is built into Debian's 6.1;
# virtio_net (the two-host lab's link between the QEMUs) and aoe (its
# shared disk) too; tls: kernel TLS, for the transport pair (58-tls), with
# the AEADs it asks the crypto API for (loaded on demand, so no dependency
# of tls.ko's: without them each key was refused)
MODS="xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-blkback xen-netback 9p 9pnet_virtio virtio_pci bridge loop virtio_net aoe tls gcm ghash-generic ctr aesni-intel chacha20poly1305"
# the guest's (guest-init.sh insmods them in the order of guest-modules/order)
GUESTMODS="xen-blkfront xen-netfront"

case $V in
4177|4175) ;;
*) echo "build.sh: unknown variant $V (4177 or 4175)" >&2; exit 100;;
esac
if [ -f "$C/stamp" ] && [ "$(cat "$C/stamp")" = "$STAMP" ]; then
	echo "lab $V: up to date in $C"
	exit 0
fi
echo "lab $V: building in $C (stamp $STAMP)"
apt-get update -q >/dev/null 2>&1 || { echo "lab $V: apt-get update failed (no network?)" >&2; exit 77; }
missing=$(for p in $HOSTPKGS; do dpkg-query -W -f='${Status}\n' $p 2>/dev/null |
    grep -q 'ok installed' || echo $p; done)
[ -z "$missing" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends $missing >/dev/null

rm -rf "$C"
mkdir -p "$C/debs" "$C/x"
cd "$C"
# the exact kernel: apt-get download linux-image-6.1.0-*-amd64 would pull dozens
KV=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{sub("linux-image-", "", $2); print $2; exit}')
[ -n "$KV" ] || { echo "lab $V: no kernel behind linux-image-amd64" >&2; exit 1; }
case $V in
4177) XPKG=xen-hypervisor-4.17-amd64;;
4175) XPKG=xen-hypervisor-4.17-amd64=$XEN4175;;
esac
(cd debs && apt-get download -q -o APT::Sandbox::User=root linux-image-$KV $XPKG >/dev/null)
for d in debs/*.deb; do dpkg-deb -x $d x; done
zcat x/boot/xen-4.17-amd64.gz > xen	# QEMU -kernel takes the plain ELF
cp x/boot/vmlinuz-$KV vmlinuz
shadow=$(grep -c '^CONFIG_SHADOW_PAGING=y' x/boot/xen-4.17-amd64.config || true)
/sbin/depmod -b x $KV			# the .deb has no modules.dep

# dom0 root: debootstrap minbase + the Xen tools, in the mirror apt uses here
SRC=/etc/apt/sources.list.d/debian.sources
if [ -f $SRC ]; then
	MIRROR=$(awk '/^URIs:/{print $2; exit}' $SRC)
	SECURITY=$(awk '/^URIs:/{u=$2} /^Suites:.*security/{print u; exit}' $SRC)
else
	MIRROR=http://deb.debian.org/debian
	SECURITY=http://deb.debian.org/debian-security
fi
R=$C/root
debootstrap --variant=minbase --include=kmod,procps,iproute2,busybox \
    bookworm $R $MIRROR > debootstrap.log 2>&1 ||
    { tail -20 debootstrap.log >&2; exit 1; }
{ echo "deb $MIRROR bookworm main"
  echo "deb $MIRROR bookworm-updates main"
  [ $V = 4175 ] || echo "deb $SECURITY bookworm-security main"; } > $R/etc/apt/sources.list
printf '#!/bin/sh\nexit 101\n' > $R/usr/sbin/policy-rc.d	# no daemons in the chroot
chmod +x $R/usr/sbin/policy-rc.d
chroot $R apt-get update -q > apt.log 2>&1
[ $V = 4175 ] && DOM0PKGS=$(echo $DOM0PKGS | sed "s/xen-utils-4.17/xen-utils-4.17=$XEN4175/")
DEBIAN_FRONTEND=noninteractive chroot $R apt-get install -y -q \
    --no-install-recommends $DOM0PKGS >> apt.log 2>&1 || { tail -20 apt.log >&2; exit 1; }
chroot $R dpkg-query -W xen-utils-4.17 libxenmisc4.17 libxenstore4 libyajl2 liblz4-1 \
    bats python3 openssh-server vblade aoetools > dom0-packages
rm -f $R/usr/sbin/policy-rc.d
rm -rf $R/var/lib/apt/lists/* $R/var/cache/apt/* $R/usr/share/doc \
    $R/usr/share/man $R/usr/share/info $R/usr/share/locale

# the kernel modules dom0 needs, with their dependencies
mkdir -p $R/lib/modules/$KV
cp x/lib/modules/$KV/modules.builtin* x/lib/modules/$KV/modules.order $R/lib/modules/$KV/
for m in $MODS; do /sbin/modprobe -d x -S $KV --show-depends $m; done |
    awk '$1 == "insmod" {print $2}' | sort -u | while read -r f; do
	rel=${f#$C/x/}
	mkdir -p "$R/$(dirname "$rel")"
	cp $f $R/$rel
done
/sbin/depmod -b $R $KV
mkdir -p guest-modules
for m in $GUESTMODS; do /sbin/modprobe -d x -S $KV --show-depends $m; done |
    awk '$1 == "insmod" && !seen[$2]++ {print $2}' | while read -r f; do
	b=$(basename $f .ko)
	cp $f guest-modules/$b.ko
	echo $b >> guest-modules/order
done
mkdir -p $R/mnt/host $R/var/log/xen/console $R/var/lib/xen $R/run
cp "$LAB/dom0-init.sh" $R/init
chmod +x $R/init
echo xenlab-dom0 > $R/etc/hostname
printf '127.0.0.1\tlocalhost xenlab-dom0\n::1\tlocalhost ip6-localhost\n' > $R/etc/hosts
(cd $R && find . -print0 | cpio -o -0 -H newc --quiet | zstd -T0 -9 -q) > dom0.zst
rm -rf $R x/lib/modules

{ echo "kernel linux-image-$KV"
  echo "xen $(dpkg-deb -f debs/xen-hypervisor-*.deb Version) shadow_paging=$shadow"
  echo "guest modules: $(tr '\n' ' ' < guest-modules/order)"
  cat dom0-packages; } > versions
echo "$STAMP" > stamp
echo "lab $V: built"
cat versions
