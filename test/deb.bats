#!/usr/bin/env bats
# make deb: the package installs and removes cleanly on this Debian 12
# machine, with its programs, man pages and bash completion, and lintian
# finds no error or warning in it.  Runs once (with the plain build's
# suite), as root, and only where no xenpipe package is installed already.

setup_file() {
	REPO=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	export REPO
}

setup() {
	[[ "$(command -v dom-list)" == */build/dom-list ]] ||
	    skip "the package is tested once, with the plain build's suite"
	command -v dpkg-deb >/dev/null || skip "no dpkg-deb: not a Debian system"
	DEB=$(ls "$REPO"/build-deb/xenpipe_*.deb 2>/dev/null | head -n 1)
}

# a test that installed the package and failed: take it away again
teardown() {
	[ ! -e "$BATS_TEST_TMPDIR/installed" ] || dpkg --purge xenpipe >/dev/null 2>&1 || true
}

build_deb() {
	make -s -C "$REPO" deb >/dev/null
	DEB=$(ls "$REPO"/build-deb/xenpipe_*.deb | head -n 1)
	[ -f "$DEB" ]
}

@test "deb: make deb builds a package: its Depends come from the libraries the programs link, its files are the programs, man pages and completion" {
	build_deb
	dpkg-deb -f "$DEB" Package Version Depends
	dpkg-deb -f "$DEB" Depends | grep -q 'libyajl2'
	dpkg-deb -f "$DEB" Depends | grep -q 'liblz4-1'
	dpkg-deb -f "$DEB" Depends | grep -q 'libxenstore'
	dpkg-deb -f "$DEB" Depends | grep -q 'libc6'
	run dpkg-deb -c "$DEB"
	for f in dom-suspend dom-resume mem-dump dirty-track dom-migrate stream-send stream-recv stream-info dom-list; do
		[[ "$output" == *"./usr/bin/$f"* ]]
		[[ "$output" == *"./usr/share/man/man1/$f.1.gz"* ]]
		[[ "$output" == *"./usr/share/bash-completion/completions/$f"* ]]
	done
	[[ "$output" == *"./usr/share/man/man5/xenpipe-policy.5.gz"* ]]
	[[ "$output" == *"./usr/share/doc/xenpipe/copyright"* ]]
}

@test "deb: lintian finds no error and no warning" {
	command -v lintian >/dev/null || skip "lintian is not installed (apt-get install lintian)"
	[ -f "$DEB" ] || build_deb
	run lintian "$DEB"
	echo "$output"
	[[ "$output" != *"E: "* ]]
	[[ "$output" != *"W: "* ]]
}

@test "deb: it installs and removes cleanly on this machine; completion offers options and domain names" {
	[ "$(id -u)" -eq 0 ] || skip "installing a package needs root"
	! dpkg -s xenpipe >/dev/null 2>&1 || skip "a xenpipe package is installed here already: left alone"
	[ -f "$DEB" ] || build_deb
	touch "$BATS_TEST_TMPDIR/installed"
	dpkg -i "$DEB"
	[ "$(/usr/bin/dom-list --version)" = "dom-list (xenpipe) $(dpkg-deb -f "$DEB" Version)" ]
	[ "$(/usr/bin/dom-migrate --version)" = "dom-migrate (xenpipe) $(dpkg-deb -f "$DEB" Version)" ]
	[ -f /usr/share/man/man1/dom-suspend.1.gz ]
	# the completion, as bash-completion would load it for dom-suspend
	run bash -c '
		export XENPIPE_BACKEND=sim XENPIPE_SIM_DIR=$1 PATH=/usr/bin:$PATH
		simdom create web1 --memory 16M >/dev/null
		. /usr/share/bash-completion/completions/dom-suspend
		COMP_WORDS=(dom-suspend we); COMP_CWORD=1; _xenpipe dom-suspend we dom-suspend
		echo "names: ${COMPREPLY[*]}"
		COMP_WORDS=(dom-suspend --ch); COMP_CWORD=1; _xenpipe dom-suspend --ch dom-suspend
		echo "options: ${COMPREPLY[*]}"
		simdom destroy web1' bash "$BATS_TEST_TMPDIR/sim"
	echo "$output"
	[[ "$output" == *"names: web1"* ]]
	[[ "$output" == *"options: --checkpoint"* ]]
	files=$(dpkg -L xenpipe | while read -r f; do
		[ -d "$f" ] && [ ! -L "$f" ] || echo "$f"; done)
	[ "$(echo "$files" | wc -l)" -ge 30 ]
	dpkg --purge xenpipe
	rm "$BATS_TEST_TMPDIR/installed"
	for f in $files; do
		[ ! -e "$f" ] || { echo "left behind: $f"; false; }
	done
	! dpkg -s xenpipe >/dev/null 2>&1 || false
}
