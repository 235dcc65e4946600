# vcpuctl - change the vCPUs of a running QEMU VM over QMP.
#
#   make                 build ./vcpuctl
#   make deps            install the Debian packages to build and test (root)
#   make check           unit, CLI (fake QMP server) and real-QEMU tests
#   make check-asan      the same under ASan + UBSan
#   make check-valgrind  CLI tests under valgrind
#   make demo            boot a throwaway guest and resize it
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
PKGS      := jansson libcgroup
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS  := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
# glibc has argp; musl and the BSDs need argp-standalone's -largp.
ARGP_LIBS := $(shell printf '\043include <argp.h>\nint main(int c,char**v){return argp_parse(0,c,v,0,0,0);}\n' | \
	$(CC) -x c - -o /dev/null >/dev/null 2>&1 || echo -largp)

ALL_CPPFLAGS := -Iinclude -D_GNU_SOURCE -DVCPUCTL_VERSION='"$(VERSION)"' $(CPPFLAGS)
ALL_CFLAGS   := -std=gnu11 $(WARNFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(SANFLAGS)
ALL_LDFLAGS  := $(LDFLAGS) $(SANFLAGS)
LIBS         := $(PKG_LIBS) $(ARGP_LIBS)

SRC     := $(wildcard src/*.c)
OBJ     := $(SRC:src/%.c=$(BUILD)/obj/%.o)
LIBOBJ  := $(filter-out $(BUILD)/obj/main.o,$(OBJ))
HDR     := $(wildcard include/vcpuctl/*.h)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)
UNIT_HELPERS := $(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c))
TOOLS_SRC := $(wildcard tests/fake/*.c tests/bench/*.c)
TOOLS_BIN := $(patsubst tests/%.c,$(BUILD)/tools/%,$(TOOLS_SRC))

# The binary: ./vcpuctl for the default build, $(BUILD)/vcpuctl otherwise.
ifeq ($(BUILD),build)
PROG := vcpuctl
else
PROG := $(BUILD)/vcpuctl
endif

BATS ?= bats
export VCPUCTL := $(abspath $(PROG))
export VCPUCTL_BUILD := $(abspath $(BUILD))

.PHONY: all deps check check-unit check-cli check-e2e check-asan check-valgrind \
	guest demo bench fuzz install uninstall clean lint-man

all: $(PROG) $(TOOLS_BIN)

$(PROG): $(OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $(OBJ) $(LIBS)

$(BUILD)/obj/%.o: src/%.c $(HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/unit/%: tests/unit/%.c $(UNIT_HELPERS) $(LIBOBJ) $(HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -Itests/unit $(ALL_CFLAGS) -o $@ $< $(UNIT_HELPERS) $(LIBOBJ) \
		$(ALL_LDFLAGS) $(LIBS) -lcmocka

$(BUILD)/tools/%: tests/%.c $(LIBOBJ) $(HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(LIBOBJ) $(ALL_LDFLAGS) $(LIBS)

deps:
	tests/deps.sh

check: deps
	$(MAKE) check-unit check-cli check-e2e

check-unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

check-cli: all
	$(BATS) tests/cli

guest:
	tests/guest/build.sh $(BUILD)/guest

check-e2e: all guest
	VCPUCTL_GUEST=$(abspath $(BUILD))/guest $(BATS) tests/e2e

check-asan: deps
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fno-omit-frame-pointer" \
		SANFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" \
		check-unit check-cli check-e2e

check-valgrind: deps
	$(MAKE) all
	VCPUCTL_WRAP="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99" \
		$(BATS) tests/cli

demo: deps all guest
	tests/demo.sh $(abspath $(BUILD))/guest

bench: deps all guest
	tests/bench/run.sh $(abspath $(BUILD))/guest

install: $(PROG)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(PROG) $(DESTDIR)$(BINDIR)/vcpuctl
	install -m 0644 man/vcpuctl.1 $(DESTDIR)$(MANDIR)/man1/vcpuctl.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vcpuctl $(DESTDIR)$(MANDIR)/man1/vcpuctl.1

lint-man:
	mandoc -T lint -W warning man/vcpuctl.1

clean:
	rm -rf build build-asan vcpuctl
