# xenpipe - Xen save, restore and migration as Unix filters.
# make            build everything into build/
# make check      build, then run the tests (test/*.bats), then again under ASan+UBSan
# make demo       save, restore and check a simulated domain, saying what happens
# make install    PREFIX=/usr/local DESTDIR=
# make deps       install the Debian packages the build and tests need
# make fuzz       the libFuzzer harnesses of fuzz/ into build-fuzz/
# make fuzz-run   run each for FUZZ_SECONDS (60), fail on any crash

PREFIX	?= /usr/local
DESTDIR	?=
BINDIR	= $(DESTDIR)$(PREFIX)/bin
MANDIR	= $(DESTDIR)$(PREFIX)/share/man

CC	?= cc
CFLAGS	?= -O2 -g
WARN	= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	  -Wpointer-arith -Wformat=2 -Wno-format-nonliteral
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) $(CFLAGS) -Icommon
LDLIBS	= -lyajl -llz4 -lssl -lcrypto -lxenguest -lxenctrl -lxenforeignmemory -lxenstore -lxentoollog -lpthread

# SAN=1 builds with the sanitizers into build-san/
ifeq ($(SAN),1)
B	= build-san
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS	+= -fsanitize=address,undefined
else
B	= build
endif

DEB_PKGS = build-essential libxen-dev liblz4-dev lz4 libyajl-dev libssl-dev openssl bats python3 iproute2 time mandoc bsdextrautils lintian

# common/: the library, which never prints or exits; ui/: the programs'
# side of it (messages, exit statuses, the progress line), which does.
COMMON_SRC = $(wildcard common/*.c)
COMMON_OBJ = $(COMMON_SRC:common/%.c=$(B)/obj/%.o)
UI_SRC	= $(wildcard ui/*.c)
UI_OBJ	= $(UI_SRC:ui/%.c=$(B)/obj-ui/%.o)
PROGS	= $(patsubst bin/%.c,%,$(wildcard bin/*.c))
SCRIPTS	= $(patsubst bin/%.sh,%,$(wildcard bin/*.sh))
BINS	= $(PROGS:%=$(B)/%) $(SCRIPTS:%=$(B)/%)
HDRS	= $(wildcard common/*.h ui/*.h)
VERSION	:= $(shell sed -n 's/^\#define XENPIPE_VERSION[^"]*"\(.*\)"/\1/p' common/version.h)

all: $(BINS)

$(B)/obj/%.o: common/%.c $(HDRS) | $(B)/obj
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/obj-ui/%.o: ui/%.c $(HDRS) | $(B)/obj-ui
	$(CC) $(ALL_CFLAGS) -Iui -c -o $@ $<

$(B)/libxenpipe.a: $(COMMON_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/libxenpipe-ui.a: $(UI_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/%: bin/%.c $(B)/libxenpipe-ui.a $(B)/libxenpipe.a $(HDRS)
	$(CC) $(ALL_CFLAGS) -Iui $(LDFLAGS) -o $@ $< $(B)/libxenpipe-ui.a \
	    $(B)/libxenpipe.a $(LDLIBS)

$(B)/%: bin/%.sh common/version.h
	sed 's/@VERSION@/$(VERSION)/' $< > $@.tmp && chmod 755 $@.tmp && mv $@.tmp $@

# Unit tests of pure modules, run by test/*.bats; never installed.
UNITS	= $(patsubst test/unit/%.c,$(B)/test-%,$(wildcard test/unit/*.c))
units: $(UNITS)

$(B)/test-%: test/unit/%.c $(B)/libxenpipe.a $(HDRS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libxenpipe.a $(LDLIBS)

$(B)/obj $(B)/obj-ui:
	mkdir -p $@

# The verifier comes from Debian's xen-utils-4.17, unpacked, not installed:
# installing it would pull in the whole Xen toolstack and systemd.
XENUTILS = $(CURDIR)/build/xen-utils
VERIFY	= $(XENUTILS)/usr/lib/xen-4.17/bin/verify-stream-v2

$(VERIFY):
	mkdir -p build/xen-utils.deb
	cd build/xen-utils.deb && apt-get download xen-utils-4.17
	dpkg-deb -x build/xen-utils.deb/xen-utils-4.17_*.deb $(XENUTILS)
	test -x $@

verifier: $(VERIFY)

# $(call install_missing,PACKAGES): as root, apt-get install the ones that
# are not installed; otherwise print the apt-get line and fail.
define install_missing
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	else \
		echo "as root: apt-get install -y --no-install-recommends $$missing"; exit 1; \
	fi
endef

deps:
	$(call install_missing,$(DEB_PKGS))

# The suites run twice: with the plain build, then with every program built
# under ASan+UBSan (the sim backend makes both possible without Xen).
check: deps
	$(MAKE) all units
	$(MAKE) SAN=1 all units
	$(MAKE) $(VERIFY)
	XENPIPE_VERIFY=$(VERIFY) ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 test/run build build-san

demo: deps
	$(MAKE) all
	PATH=$(CURDIR)/build:$$PATH sh test/demo.sh

install: all
	install -d $(BINDIR) $(MANDIR)/man1 $(MANDIR)/man5
	install -m 755 $(BINS) $(BINDIR)
	for m in man/*.1; do install -m 644 $$m $(MANDIR)/man1; done
	for m in man/*.5; do [ -e $$m ] && install -m 644 $$m $(MANDIR)/man5 || true; done

# A binary package with dpkg-deb from make install (pkg/mkdeb): no debian/
# directory at the top.  lintian: see the README.
# Built apart, in build-deb/, with Debian's hardening flags.
DEB_CFLAGS = -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection -fcf-protection
DEB_LDFLAGS = -Wl,-z,relro -Wl,-z,now
deb:
	$(MAKE) B=build-deb CFLAGS="$(DEB_CFLAGS)" LDFLAGS="$(DEB_LDFLAGS)" all
	sh pkg/mkdeb build-deb $(VERSION) build-deb/xenpipe_$(VERSION)_$$(dpkg --print-architecture).deb

clean:
	rm -rf build build-san build-fuzz build-deb

.PHONY: all units check demo install clean deps verifier deb
.SECONDARY:

# Benchmarks: figures, not pass/fail tests (see README for the last table).
bench: all
	PATH=$(CURDIR)/build:$$PATH bench/live $(BENCH_SIZE)
	PATH=$(CURDIR)/build:$$PATH bench/transport
	PATH=$(CURDIR)/build:$$PATH bench/passthrough $(BENCH_SIZE)

.PHONY: bench

# Fuzzing: every fuzz/NAME.c is a libFuzzer harness, built into
# build-fuzz/NAME with clang against common/ compiled with the same
# instrumentation (fuzzer coverage, ASan, UBSan).  Corpora: fuzz/corpus/NAME/
# (seeds, committed), fuzz/regress/NAME/ (inputs that crashed once, also
# replayed by test/fuzz-regress.bats); what a run finds goes to build-fuzz/.
FUZZ_PKGS = clang libclang-rt-dev
FUZZ_CC	= clang
FUZZ_SECONDS = 60
FUZZ_CFLAGS = -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) -O1 -g \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -fno-omit-frame-pointer -Icommon
FUZZ_OBJ = $(COMMON_SRC:common/%.c=build-fuzz/obj/%.o)
FUZZ_BINS = $(patsubst fuzz/%.c,build-fuzz/%,$(wildcard fuzz/*.c))

fuzz-deps:
	$(call install_missing,$(FUZZ_PKGS))

fuzz: fuzz-deps
	$(MAKE) $(FUZZ_BINS)

build-fuzz/obj/%.o: common/%.c $(HDRS) | build-fuzz/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

# clang warns on void-pointer arithmetic inside xenctrl.h's
# set_xen_guest_handle macro, which gcc does not; only there
build-fuzz/obj/xen_save.o: FUZZ_CFLAGS += -Wno-pointer-arith

build-fuzz/libxenpipe.a: $(FUZZ_OBJ)
	rm -f $@
	ar rcs $@ $^

build-fuzz/%: fuzz/%.c fuzz/fuzz.h build-fuzz/libxenpipe.a $(HDRS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< build-fuzz/libxenpipe.a $(LDLIBS)

build-fuzz/obj:
	mkdir -p $@

fuzz-run: fuzz
	fuzz/run build-fuzz $(FUZZ_SECONDS)

.PHONY: fuzz fuzz-deps fuzz-run

include test/lab/lab.mk
