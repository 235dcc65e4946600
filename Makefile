# vcpuctl - change the vCPUs of a running QEMU VM over QMP.
#
#   make                 build ./vcpuctl
#   make deps            install the Debian packages to build and test (root)
#   make check           unit, CLI (fake QMP server) and real-QEMU tests
#   make check-asan      the same under ASan + UBSan
#   make check-valgrind  CLI tests under valgrind
#   make check-hostvm    cgroup v2 tests inside a VM that is a v2 host
#   make demo            boot a throwaway guest and resize it
#   make check-fresh     demo and check on a new debootstrap root (root; CI)
#   make bench           timings against a bare client; bench-libvirt: against virsh
#   make install         PREFIX=/usr/local DESTDIR=

VERSION   := 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
DATADIR   ?= $(PREFIX)/share
BUILD     ?= build
CC        ?= cc
PKG_CONFIG ?= pkg-config

CFLAGS    ?= -O2 -g
WARNFLAGS := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
PKGS      := jansson libcgroup audit
# Probed on first use, once, not when make reads this file: on a fresh
# machine "make demo" reads it before "deps" has installed pkg-config and
# the compiler.  (VAR = $(eval VAR := ...)$(VAR) caches the first answer.)
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null))$(PKG_LIBS)
# glibc has argp; musl and the BSDs need argp-standalone's -largp.
ARGP_LIBS  = $(eval ARGP_LIBS := $(shell printf '\043include <argp.h>\nint main(int c,char**v){return argp_parse(0,c,v,0,0,0);}\n' | \
	$(CC) -x c - -o /dev/null >/dev/null 2>&1 || echo -largp))$(ARGP_LIBS)

ALL_CPPFLAGS := -Iinclude -D_GNU_SOURCE -DVCPUCTL_VERSION='"$(VERSION)"' $(CPPFLAGS)
ALL_CFLAGS    = -std=gnu11 $(WARNFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(SANFLAGS)
ALL_LDFLAGS  := $(LDFLAGS) $(SANFLAGS)
LIBS          = $(PKG_LIBS) $(ARGP_LIBS)

SRC     := $(wildcard src/*.c)
OBJ     := $(SRC:src/%.c=$(BUILD)/obj/%.o)
LIBOBJ  := $(filter-out $(BUILD)/obj/main.o,$(OBJ))
HDR     := $(wildcard include/vcpuctl/*.h)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)
UNIT_HELPERS := $(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c))
TOOLS_SRC := $(wildcard tests/fake/*.c tests/bench/*.c)
TOOLS_BIN := $(patsubst tests/%.c,$(BUILD)/tools/%,$(TOOLS_SRC))
# Fuzz harnesses: libFuzzer targets under "make fuzz" (clang), and plain
# programs that replay tests/fuzz/{corpus,regress}/NAME/ under "make check".
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/%.c=%)
FUZZ_REPLAY := $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
FUZZ_BIN   := $(FUZZ_NAMES:%=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 60

# The binary: ./vcpuctl for the default build, $(BUILD)/vcpuctl otherwise.
ifeq ($(BUILD),build)
PROG := vcpuctl
else
PROG := $(BUILD)/vcpuctl
endif

BATS ?= bats
# The CLI suite's files are independent (each test has its own fake QEMU,
# socket, lock directory and temporary files): they run CLI_JOBS at a time
# when GNU parallel is there (make deps installs it), a test file's own
# tests in order, under valgrind too (its time bounds leave room for it).
# The real-QEMU suites share VMs within a file and compete for the CPUs,
# so they run one at a time.
CLI_JOBS  ?= 2
CLI_BATS   = $(BATS)$(if $(filter-out 0 1,$(CLI_JOBS)),$(if $(shell command -v parallel 2>/dev/null), --jobs $(CLI_JOBS) --no-parallelize-within-files))
export VCPUCTL := $(abspath $(PROG))
export VCPUCTL_BUILD := $(abspath $(BUILD))

.PHONY: all deps check check-fresh pkgcheck check-unit check-cli check-e2e check-asan check-valgrind \
	check-fuzz fuzz fuzz-bins guest guest-ppc64 hostvm check-hostvm demo bench bench-libvirt install uninstall clean lint-man

all: $(PROG) $(TOOLS_BIN)

$(PROG): $(OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $(OBJ) $(LIBS)

# Once per make run: a clear word instead of a wall of missing headers.
pkgcheck:
	@$(PKG_CONFIG) --exists $(PKGS) 2>/dev/null || { \
		echo "make: $(PKG_CONFIG) does not find $(PKGS): run 'make deps' (as root) first" >&2; \
		exit 1; }

$(BUILD)/obj/%.o: src/%.c $(HDR) | pkgcheck
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/unit/%: tests/unit/%.c $(UNIT_HELPERS) $(LIBOBJ) $(HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Itests/unit $(ALL_CFLAGS) -o $@ $< $(UNIT_HELPERS) $(LIBOBJ) \
		$(ALL_LDFLAGS) $(LIBS) -lcmocka

$(BUILD)/tools/%: tests/%.c $(LIBOBJ) $(HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(LIBOBJ) $(ALL_LDFLAGS) $(LIBS)

$(BUILD)/fuzz/replay_%: tests/fuzz/%.c tests/fuzz/fuzz_main.h $(LIBOBJ) $(HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Itests/fuzz -DFUZZ_REPLAY $(ALL_CFLAGS) -o $@ $< $(LIBOBJ) \
		$(ALL_LDFLAGS) $(LIBS) -lpthread

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_main.h $(LIBOBJ) $(HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Itests/fuzz $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIBOBJ) \
		$(ALL_LDFLAGS) -fsanitize=fuzzer $(LIBS) -lpthread

deps:
	tests/deps.sh

check: deps
	$(MAKE) check-unit check-fuzz check-cli check-e2e check-hostvm

# Every corpus and regression input, once, without libFuzzer.
check-fuzz: $(FUZZ_REPLAY)
	@set -e; for t in $(FUZZ_NAMES); do \
		dirs=; for d in tests/fuzz/corpus/$$t tests/fuzz/regress/$$t; do \
			[ -d $$d ] && dirs="$$dirs $$d"; done; \
		echo "== $(BUILD)/fuzz/replay_$$t$$dirs"; \
		$(BUILD)/fuzz/replay_$$t $$dirs 2>$(BUILD)/fuzz/replay_$$t.log || \
			{ tail -n 30 $(BUILD)/fuzz/replay_$$t.log; exit 1; }; \
		tail -n 1 $(BUILD)/fuzz/replay_$$t.log; \
	done

# libFuzzer, each target for FUZZ_SECONDS (default 60), one at a time.
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang CFLAGS="-O1 -g -fno-omit-frame-pointer" \
		SANFLAGS="-fsanitize=address,undefined -fsanitize=fuzzer-no-link -fno-sanitize-recover=all" \
		fuzz-bins
	tests/fuzz/run.sh build-fuzz/fuzz $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-bins: $(FUZZ_BIN)

check-unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

check-cli: all
	$(CLI_BATS) tests/cli

guest:
	tests/guest/build.sh $(BUILD)/guest

# The pseries guest (tests/e2e/pseries.bats): ppc64el kernel and busybox.
guest-ppc64:
	tests/guest/build.sh --arch ppc64el $(BUILD)/guest-ppc64

check-e2e: all guest guest-ppc64
	VCPUCTL_GUEST=$(abspath $(BUILD))/guest VCPUCTL_GUEST_PPC64=$(abspath $(BUILD))/guest-ppc64 \
		$(BATS) tests/e2e

hostvm:
	tests/hostvm/build.sh $(BUILD)/hostvm

# This host's cpu and cpuset sit on cgroup v1; tests/hostvm/*.bats run in a
# VM booted with cgroup2 alone (tests/hostvm/run.sh).
check-hostvm: all hostvm
	tests/hostvm/run.sh --out $(abspath $(BUILD))/hostvm -- $(BATS) tests/hostvm

check-asan: deps
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fno-omit-frame-pointer" \
		SANFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" \
		check-unit check-fuzz check-cli check-e2e

# Exit 99 fails the test that ran vcpuctl; the per-process logs also catch
# a finding in a run whose status a test did not look at.  Mode 1777: some
# tests run vcpuctl as nobody.
VALGRIND_LOGS := $(abspath $(BUILD))/valgrind
check-valgrind: deps
	$(MAKE) all
	rm -rf $(VALGRIND_LOGS) && mkdir -p -m 1777 $(VALGRIND_LOGS)
	VCPUCTL_WRAP="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file=$(VALGRIND_LOGS)/%p.log" \
		$(CLI_BATS) tests/cli
	@bad=$$(find $(VALGRIND_LOGS) -name '*.log' -size +0); \
	if [ -n "$$bad" ]; then cat $$bad; echo "valgrind: findings in $$bad" >&2; exit 1; fi; \
	echo "valgrind: $$(ls $(VALGRIND_LOGS) | wc -l) runs, no findings"

# deps first, then a new make: one that reads this file after the packages
# are in place.
demo: deps
	$(MAKE) all guest
	tests/demo.sh $(abspath $(BUILD))/guest

bench: deps
	$(MAKE) all guest
	tests/bench/run.sh $(abspath $(BUILD))/guest

# README's two commands on a new Debian 12 root (debootstrap minbase plus
# make and git), from a clone of HEAD: tests/fresh/run.sh.  Root only.
check-fresh:
	tests/fresh/run.sh $(FRESH_STEPS)

# vcpuctl against libvirt's virsh setvcpus on the same QEMU (root; installs
# libvirt from Debian without touching QEMU, runs a private libvirtd).
bench-libvirt: deps
	$(MAKE) all guest
	tests/bench/libvirt.sh $(abspath $(BUILD))/guest

BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions

install: $(PROG)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(PROG) $(DESTDIR)$(BINDIR)/vcpuctl
	install -m 0644 man/vcpuctl.1 $(DESTDIR)$(MANDIR)/man1/vcpuctl.1
	install -m 0644 src/vcpuctl.bash $(DESTDIR)$(BASHCOMPDIR)/vcpuctl
	install -d $(DESTDIR)$(DATADIR)/vcpuctl/examples/systemd $(DESTDIR)$(DATADIR)/vcpuctl/examples/ansible
	install -m 0755 examples/autoscale.sh $(DESTDIR)$(DATADIR)/vcpuctl/examples/
	install -m 0644 examples/README.md $(DESTDIR)$(DATADIR)/vcpuctl/examples/
	install -m 0644 examples/systemd/*.service examples/systemd/*.timer $(DESTDIR)$(DATADIR)/vcpuctl/examples/systemd/
	install -m 0644 examples/ansible/*.yml examples/ansible/*.ini $(DESTDIR)$(DATADIR)/vcpuctl/examples/ansible/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vcpuctl $(DESTDIR)$(MANDIR)/man1/vcpuctl.1 \
		$(DESTDIR)$(BASHCOMPDIR)/vcpuctl
	rm -rf $(DESTDIR)$(DATADIR)/vcpuctl/examples

lint-man:
	mandoc -T lint -W warning man/vcpuctl.1

clean:
	rm -rf build build-asan build-fuzz vcpuctl
