# Entente - one plain Makefile (see README.md).
#
#   make          build ./entente
#   make test     unit, multi-node and fuzz-smoke tests under ASan + UBSan
#   make demo     three companies on loopback walk through a joint opportunity
#   make fuzz     every libFuzzer target for FUZZ_SECONDS each
#   make bench    throughput as ratios to this machine's crypto and LMDB limits
#   make web      rebuild the web page's bundle (node/web/dist) with esbuild
#   make bench-web  the web page's board of 10,000 in headless Chromium
#
# Missing Debian packages are installed with apt-get on first use.
#
# Quiet by default: one "CC file" line per compiled file, and `make test`
# shows one line for its whole build (the compiler's output only when the
# build fails), then one line per test. V=1 shows every command in full.

CC       ?= cc
CLANG    ?= clang
PKGS     := libuv libsodium msgpack lmdb libcbor jansson openssl libcurl libpsl
DEB_PKGS := pkg-config libuv1-dev libsodium-dev libmsgpack-dev liblmdb-dev \
            libcbor-dev libjansson-dev libhttp-parser-dev libcmocka-dev \
            python3-yaml libssl-dev openssl curl libcurl4-openssl-dev libpsl-dev libcsv-dev
FUZZ_DEB := clang libclang-rt-14-dev lld
FUZZ_SECONDS ?= 30
SMOKE_RUNS ?= 1000
V ?=
# Build steps that `make test`, `make demo` and `make bench` run in a sub-make
# use every CPU (a plain `make` follows your own -j).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# $(Q) hides a command unless V=1; $(call say,TAG,FILE) prints "  TAG  FILE"
# in its place. $(BUILD_QUIET) runs a build step of the test targets with its
# output held back (tests/quiet.sh).
ifeq ($(V),1)
Q :=
say = @:
else
Q := @
say = @printf '  %-6s %s\n' '$(1)' '$(2)'
endif
BUILD_QUIET = V=$(V) tests/quiet.sh

# pkg-config is asked once, lazily, after `deps` has installed what is missing.
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS)))$(PKG_CFLAGS)
# libcsv has no pkg-config file: -lcsv by hand. libcurl is not linked: only
# webhooks use it, and node/webhooks/curl_dl.c loads it on first use (it and
# the 25 libraries only it pulls in cost every command 16 ms of start-up).
PKG_LIBS   = $(eval PKG_LIBS := $(shell pkg-config --libs $(filter-out libcurl,$(PKGS))) -lhttp_parser -lcsv -ldl)$(PKG_LIBS)
CMOCKA_LIBS = $(eval CMOCKA_LIBS := $(shell pkg-config --libs cmocka))$(CMOCKA_LIBS)

WARN     := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
BASE     := -std=c11 -D_GNU_SOURCE -I. $(WARN) -MMD -MP
REL_CFLAGS  = $(BASE) -O2 -g $(PKG_CFLAGS) $(CFLAGS)
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The ASan + UBSan build (build/asan) is compiled once, with clang, for
# every test of `make test`: the binary, the unit tests, the test tools and
# the fuzz smoke targets all link the same objects. Its library objects
# carry libFuzzer's edge counters (ASAN_COV: inline-8bit-counters with their
# pc-table) so that a smoke target's mutations are coverage-guided. Before,
# the build/asan objects were compiled with gcc and the fuzz targets had a
# second compile of every source with clang (160 of the build's 344 CPU
# seconds). Measured against that gcc build (CPU seconds, 2026-12-05):
# tests/e2e/cli.sh 79 -> 66 (an ASan start-up of `entente` costs less),
# sim_test 37 -> 38.5, merkle_test 22 -> 25.6. `make fuzz` keeps its own
# build (build/fuzz) with libFuzzer's full instrumentation (comparison
# tracing too; sim_test on it: 40.5 CPU seconds).
ASAN_CC  := $(CLANG)
ASAN_COV := -fsanitize-coverage=inline-8bit-counters,pc-table
# -gline-tables-only: sanitizer reports name file and line as with -g, at
# a fifth less compile time for the test files (`make CFLAGS=-g` for a
# debugger's full information).
ASAN_CFLAGS = $(BASE) -O1 -gline-tables-only $(SAN) $(PKG_CFLAGS) $(CFLAGS)
# The tests were written against gcc: they silence gcc's -Wformat-truncation
# by name and end hex escapes by splitting string literals ("\xff" "1").
TEST_CLANG_WARN := -Wno-unknown-warning-option -Wno-string-concatenation
FUZZ_CFLAGS = $(BASE) -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer $(PKG_CFLAGS)

# Sources are found by folder: a new file in a new sub-folder needs no edit.
MAIN_SRC := node/cli/main.c
LIB_SRC  := $(sort $(shell find node protocol crypto storage -name '*.c'))
LIB_SRC  := $(filter-out $(MAIN_SRC),$(LIB_SRC))
LIB_HDR  := $(sort $(shell find node protocol crypto storage -name '*.h'))
TEST_SRC := $(sort $(wildcard tests/*_test.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
E2E      := tests/layout.sh $(filter-out tests/e2e/lib.sh,$(sort $(wildcard tests/e2e/*.sh)))

REL_OBJ  := $(LIB_SRC:%.c=build/rel/%.o)
ASAN_OBJ := $(LIB_SRC:%.c=build/asan/%.o)
FUZZ_OBJ := $(LIB_SRC:%.c=build/fuzz/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=build/asan/tests/%)
# test-only tools the e2e scripts run next to $ENTENTE (tests/tools/)
TOOL_BIN := $(patsubst tests/%.c,build/asan/tests/%,$(sort $(wildcard tests/tools/*.c)))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/bin/%)
# the same targets on the ASan build, for the smoke runs of `make test`
SMOKE_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/asan/fuzz/%)

.PHONY: web web-deps bench-web install all deps fuzz-deps test test-long test-unit test-e2e fuzz fuzz-smoke bench demo clean format

all: entente

deps:
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v python3 >/dev/null 2>&1 || missing="$$missing python3"; \
	if [ -n "$$missing" ]; then \
	  echo "installing missing packages:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "entente: deps: need root to install$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi

fuzz-deps:
	@missing=""; for p in $(FUZZ_DEB); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing missing packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi

entente: build/rel/node/cli/main.o build/rel/libentente.a | deps
	$(call say,LINK,$@)
	$(Q)$(CC) $(REL_CFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# The test binaries are linked -no-pie: the e2e scripts start the ASan
# binary thousands of times, and a position-independent one spends about a
# third of each start relocating its sanitizer metadata (157 ms of CPU a
# start against 100 ms, `perf stat entente --version`). The release binary
# stays position-independent.
# lld links the 114 ASan binaries in 0.3 s each against ld.bfd's 0.5 s.
ASAN_LD := -fuse-ld=lld
ASAN_LDFLAGS := -no-pie $(ASAN_LD)

# Linked into the ASan binary and unit tests: transparent huge pages over
# .bss, where LeakSanitizer's exit scan read-faulted ~1,100 untouched pages
# of the sanitizer runtime's tables in every process (tests/asan_thp.c).
ASAN_THP := build/asan/start/asan_thp.o
$(ASAN_THP): tests/asan_thp.c | deps fuzz-deps
	@mkdir -p $(dir $@)
	$(call say,CC,$< [asan])
	$(Q)$(ASAN_CC) $(ASAN_CFLAGS) -c -o $@ $<

build/asan/entente: build/asan/node/cli/main.o $(ASAN_THP) build/asan/libentente.a | deps fuzz-deps
	$(call say,LINK,$@)
	$(Q)$(ASAN_CC) $(ASAN_CFLAGS) $(ASAN_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

build/rel/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(REL_CFLAGS) -c -o $@ $<

build/asan/%.o: %.c | deps fuzz-deps
	@mkdir -p $(dir $@)
	$(call say,CC,$< [asan])
	$(Q)$(ASAN_CC) $(ASAN_CFLAGS) $(ASAN_COV) -c -o $@ $<

build/asan/libentente.a: $(ASAN_OBJ)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

build/fuzz/libentente.a: $(FUZZ_OBJ)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

build/rel/libentente.a: $(REL_OBJ)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

# The test files themselves compile at -O0: three times faster to build
# (83 files: 50 -> 31 s of the build on 2 cores), and the tests spend their
# time in the library (-O1), libsodium, LMDB and the kernel, not in their
# own code (merkle_test, authority_test and storage_test ran as fast).
TEST_OPT := -O0

# A test may add link flags in tests/NAME.ldflags (e.g. -Wl,--wrap=malloc
# for allocation-failure injection without patching any library).
build/asan/tests/%: tests/%.c $(ASAN_THP) build/asan/libentente.a | deps fuzz-deps
	@mkdir -p $(dir $@)
	$(call say,CC,$< [asan])
	$(Q)$(ASAN_CC) $(ASAN_CFLAGS) $(TEST_OPT) $(TEST_CLANG_WARN) $(ASAN_LDFLAGS) -o $@ $< $(ASAN_THP) build/asan/libentente.a $(PKG_LIBS) $(CMOCKA_LIBS) -lm \
	  $(shell cat tests/$*.ldflags 2>/dev/null)

build/asan/fuzz/%: tests/fuzz/%.c build/asan/libentente.a | deps fuzz-deps
	@mkdir -p $(dir $@)
	$(call say,CC,$< [asan])
	$(Q)$(ASAN_CC) $(ASAN_CFLAGS) $(ASAN_LD) -fsanitize=fuzzer -o $@ $< build/asan/libentente.a $(PKG_LIBS) -lm

build/fuzz/%.o: %.c | deps fuzz-deps
	@mkdir -p $(dir $@)
	$(call say,CC,$< [fuzz])
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -c -o $@ $<

build/fuzz/bin/%: tests/fuzz/%.c build/fuzz/libentente.a | deps fuzz-deps
	@mkdir -p $(dir $@)
	$(call say,CC,$< [fuzz])
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/libentente.a $(PKG_LIBS) -lm

# The web page's bundle (spec/web.md) is embedded by node/web/web.c with
# .incbin: its objects are rebuilt when the bundle changes. `make web`
# rebuilds the bundle from node/web/src with the pinned npm packages.
WEB_DIST := node/web/dist/index.html node/web/dist/app.js node/web/dist/app.css
build/rel/node/web/web.o build/asan/node/web/web.o build/fuzz/node/web/web.o: $(WEB_DIST)

web:
	@node/web/build.sh

# What tests/e2e/web.sh needs: Node.js and npm, Debian's Chromium, and the
# npm packages pinned in node/web/package-lock.json (npm ci).
web-deps:
	@missing=""; command -v node >/dev/null 2>&1 || missing="nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing missing packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi; \
	[ node/web/node_modules/.package-lock.json -nt node/web/package-lock.json ] || \
	  (cd node/web && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || exit 1

# The web page's board of 10,000 opportunities in headless Chromium.
bench-web: deps web-deps
	@$(MAKE) --no-print-directory -j$(JOBS) entente
	@ENTENTE=$(CURDIR)/entente tests/bench/web_board.sh

BENCH_SRC := $(sort $(wildcard tests/bench/*.c))
build/rel/bench: $(BENCH_SRC) build/rel/libentente.a | deps
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(REL_CFLAGS) -o $@ $(BENCH_SRC) build/rel/libentente.a $(PKG_LIBS) -lm

test: deps web-deps
	@$(BUILD_QUIET) "build (ASan binary, $(words $(TEST_BIN)) unit tests, $(words $(SMOKE_BIN)) fuzz targets)" \
	  $(MAKE) --no-print-directory -j$(JOBS) build/asan/entente $(TEST_BIN) $(TOOL_BIN) $(SMOKE_BIN)
	@ENTENTE=$(CURDIR)/build/asan/entente SMOKE_RUNS=$(SMOKE_RUNS) \
	  tests/run.sh $(TEST_BIN) -- $(E2E) -- $(SMOKE_BIN)

# The long runs: 200 kill -9 crash iterations, alone and with a partner
# (spec/reliability.md; `make test` runs 4 of each, every check made once,
# the fourth with a kill during start-up too: the other repetitions are
# here), authority_test's model check with 4 seeded
# shuffles of every subset besides the sorted and reversed orders, and
# sim_test's convergence table at 100 and 200 members too (make test: 25, 50).
test-long: deps
	@$(BUILD_QUIET) "build (ASan binary)" $(MAKE) --no-print-directory -j$(JOBS) build/asan/entente build/asan/tests/authority_test build/asan/tests/sim_test
	@ENTENTE=$(CURDIR)/build/asan/entente CRASH_ITERATIONS=$${CRASH_ITERATIONS:-200} \
	  AUTHORITY_MC_SHUFFLES=$${AUTHORITY_MC_SHUFFLES:-4} ENTENTE_SIM_MEMBERS=$${ENTENTE_SIM_MEMBERS:-25,50,100,200} \
	  TEST_TIMEOUT=3600 tests/run.sh build/asan/tests/authority_test build/asan/tests/sim_test -- tests/e2e/crash.sh tests/e2e/crash_partner.sh --
	@# flow control at full size (issue 20 point 7): 100,000 writes with a
	@# partner connected, a join of 5,000 ops of 256 fields; the release
	@# binary (the batch API under ASan writes about 100 ops/s)
	@$(BUILD_QUIET) "build (release binary)" $(MAKE) --no-print-directory -j$(JOBS) entente
	@ENTENTE=$(CURDIR)/entente FLOW_WRITES=100000 FLOW_JOIN_OPS=5000 FLOW_WAIT_SECONDS=1800 \
	  TEST_TIMEOUT=3600 tests/run.sh -- tests/e2e/flow.sh --

test-unit: deps
	@$(BUILD_QUIET) "build ($(words $(TEST_BIN)) unit tests)" $(MAKE) --no-print-directory -j$(JOBS) $(TEST_BIN)
	@tests/run.sh $(TEST_BIN) -- -- 

test-e2e: deps web-deps
	@$(BUILD_QUIET) "build (ASan binary)" $(MAKE) --no-print-directory -j$(JOBS) build/asan/entente $(TOOL_BIN)
	@ENTENTE=$(CURDIR)/build/asan/entente tests/run.sh -- $(E2E) --

fuzz: deps fuzz-deps
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

bench: deps
	@$(MAKE) --no-print-directory -j$(JOBS) build/rel/bench entente
	@build/rel/bench --json build/bench.json

demo: deps
	@$(MAKE) --no-print-directory -j$(JOBS) entente
	@ENTENTE=$(CURDIR)/entente tests/demo.sh

# make install [PREFIX=/usr/local] [DESTDIR=] [INSTALL_BIN=entente]: the
# binary, a manual page per command made by the binary itself from the
# command table (`entente man`), the systemd unit, its sysusers.d file, a
# sample configuration (spec/operations.md §1) and the CRM mapping files
# (share/entente/maps, spec/crm.md §6). INSTALL_BIN installs
# another build of the binary (the tests install the ASan one).
PREFIX     ?= /usr/local
DESTDIR    ?=
SYSCONFDIR ?= /etc
INSTALL_BIN ?= entente
BINDIR  = $(PREFIX)/bin
MANDIR  = $(PREFIX)/share/man/man1
DOCDIR  = $(PREFIX)/share/doc/entente
UNITDIR = $(PREFIX)/lib/systemd/system
USERSDIR = $(PREFIX)/lib/sysusers.d
MAPDIR  = $(PREFIX)/share/entente/maps
SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g'

install: $(INSTALL_BIN)
	$(call say,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(DOCDIR) \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)$(USERSDIR) $(DESTDIR)$(MAPDIR)
	$(Q)install -m 0755 $(INSTALL_BIN) $(DESTDIR)$(BINDIR)/entente
	$(Q)set -e; bin=$(abspath $(INSTALL_BIN)); for p in $$($$bin man --list); do \
	  if [ "$$p" = entente ]; then a=; else a=$${p#entente-}; fi; \
	  $$bin man $$a >$(DESTDIR)$(MANDIR)/$$p.1; chmod 0644 $(DESTDIR)$(MANDIR)/$$p.1; done
	$(Q)$(SUBST) node/daemon/systemd/entente@.service >$(DESTDIR)$(UNITDIR)/entente@.service
	$(Q)$(SUBST) node/daemon/systemd/entente.conf.sample >$(DESTDIR)$(DOCDIR)/entente.conf.sample
	$(Q)install -m 0644 node/daemon/systemd/entente.sysusers $(DESTDIR)$(USERSDIR)/entente.conf
	$(Q)install -m 0644 node/crm/maps/*.json $(DESTDIR)$(MAPDIR)
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/entente@.service $(DESTDIR)$(DOCDIR)/entente.conf.sample

format:
	clang-format -i $(LIB_SRC) $(MAIN_SRC) $(LIB_HDR) $(wildcard tests/*.h) $(TEST_SRC) $(FUZZ_SRC)

clean:
	rm -rf build entente

-include $(shell find build -name '*.d' 2>/dev/null)
