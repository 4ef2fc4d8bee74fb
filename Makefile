# fieldwatch — plain GNU Makefile.
#
#   make                 build build/fieldwatchd and build/fieldwatchctl
#   make check           build and run every test (installs missing packages first)
#   make check SANITIZE=1  the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make soak            random faults against the simulated field for SOAK_DURATION (10m), then a verdict
#   make demo            run fieldwatchd against the simulated 27-site field (Ctrl-C ends)
#   make deps            install the Debian packages the build and the tests need
#   make install         install under $(DESTDIR)$(PREFIX)

VERSION := 0.1.0

PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
# systemd looks in /usr/local/lib too for units, sysusers, tmpfiles and catalogs.
SYSTEMDLIBDIR ?= $(PREFIX)/lib

CC ?= cc
PKG_CONFIG ?= pkg-config
# Debian's Python: the tests need its packages (aiosmtpd, yaml), not a pyenv one.
PYTHON ?= /usr/bin/python3

# The one list of Debian packages: build, tests and demo. .ci/run uses it too.
DEPS_BUILD := build-essential pkg-config libcurl4-openssl-dev libsnmp-dev libyaml-dev \
	libsystemd-dev libcmocka-dev libsqlite3-dev libxml2-dev libssl-dev libjansson-dev \
	libmicrohttpd-dev tzdata
DEPS_TEST := snmpd snmp snmptrapd python3 python3-aiosmtpd python3-yaml systemd sqlite3 valgrind openssl xorriso \
	clang-14 libclang-rt-14-dev llvm-14 chromium chromium-driver python3-selenium prometheus \
	fonts-ipafont-gothic
DEPS := $(DEPS_BUILD) $(DEPS_TEST)

PKGS := libcurl netsnmp yaml-0.1 libsystemd sqlite3 libxml-2.0 libcrypto jansson libmicrohttpd

ifeq ($(SANITIZE),1)
BUILD ?= build/sanitize
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD ?= build
SAN_FLAGS :=
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation -Wvla \
	-Wimplicit-fallthrough
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c17 -D_GNU_SOURCE -DFIELDWATCH_VERSION='"$(VERSION)"' \
	-DSYSCONFDIR='"$(SYSCONFDIR)"' $(WARN) $(CFLAGS) $(SAN_FLAGS) \
	-Idaemon -Iconfig -Iprobes $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SAN_FLAGS)
LIBS = $(PKG_LIBS) -lm

MAINS := daemon/fieldwatchd.c daemon/fieldwatchctl.c
LIB_SRCS := $(filter-out $(MAINS),$(wildcard daemon/*.c config/*.c probes/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(wildcard tests/test-*.c)
UNIT_BINS := $(UNIT_SRCS:tests/%.c=$(BUILD)/tests/%)
PY_TESTS := $(sort $(wildcard tests/test_*.py))

.PHONY: architecture all check demo deps deps-if-missing install uninstall clean unit blackbox

all: $(BUILD)/fieldwatchd $(BUILD)/fieldwatchctl

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libfieldwatch.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/fieldwatchd: $(BUILD)/obj/daemon/fieldwatchd.o $(BUILD)/libfieldwatch.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/fieldwatchctl: $(BUILD)/obj/daemon/fieldwatchctl.o $(BUILD)/libfieldwatch.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# Unit tests: each tests/test-*.c is one cmocka program linked against the library.
$(BUILD)/tests/%: tests/%.c $(BUILD)/libfieldwatch.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -MF $@.d $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libfieldwatch.a \
		$(LIBS) $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

# Installs the packages only when one is missing, so that `make check` and
# `make demo` work on a fresh Debian 12 machine and cost nothing afterwards.
deps-if-missing:
	@missing=$$(for p in $(DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "missing packages:" $$missing; $(MAKE) --no-print-directory deps; fi

deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEPS)

# Unit tests run with a foreign TZ: the contract's zone must win everywhere.
unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do echo "== $$t"; \
		TZ=America/New_York timeout 300 $$t || { echo "FAILED: $$t"; fail=1; }; \
		done; exit $$fail

# Black-box tests: Python unittest programs driving the built binaries.
# The suites run BLACKBOX_JOBS at once (each on its own FW_LAB_NET; see
# tests/run_blackbox.py); BLACKBOX_JOBS=1 runs them one after another. Under
# the sanitizers every program is slower: two at once.
BLACKBOX_JOBS ?= $(if $(filter 1,$(SANITIZE)),2,3)
blackbox: all
	@BUILD=$(BUILD) BLACKBOX_JOBS=$(BLACKBOX_JOBS) $(PYTHON) tests/run_blackbox.py $(PY_TESTS)

# The architecture's rules (issue 17), checked on the sources: who writes
# events, what the monitor includes, where SQL is prepared, no private
# copies of the basic helpers, file sizes.
architecture:
	@$(PYTHON) tests/check_architecture.py

check: deps-if-missing
	@$(MAKE) --no-print-directory architecture
	@$(MAKE) --no-print-directory all $(UNIT_BINS)
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory blackbox
	@$(MAKE) --no-print-directory fuzz-regress
	@# The fuzzers are built with the sanitizers either way: fuzzed once per CI run.
	@$(if $(filter 1,$(SANITIZE)),true,$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5)
	@echo "make check$(if $(filter 1,$(SANITIZE)), SANITIZE=1): all tests passed"

demo: deps-if-missing
	@$(MAKE) --no-print-directory all
	@$(PYTHON) tests/demo.py $(BUILD)

# Made afresh every time: its paths come from PREFIX/SYSCONFDIR, which may
# differ from one make install to the next (a stale unit named /usr/bin after
# an install with PREFIX=/usr).
$(BUILD)/fieldwatch.service: systemd/fieldwatch.service.in FORCE
	@mkdir -p $(dir $@)
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SBINDIR@|$(SBINDIR)|g' \
		-e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< > $@

# Installs the programs, the unit, sysusers and tmpfiles entries, the journal
# catalog, the man pages and the example configuration (which becomes
# $(SYSCONFDIR)/fieldwatch/fieldwatch.yaml only when there is none yet).
$(BUILD)/snmptrapd.conf: systemd/snmptrapd-fieldwatch.conf.in FORCE
	@mkdir -p $(dir $@)
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@DATADIR@|$(DATADIR)|g' $< > $@

install: all $(BUILD)/fieldwatch.service $(BUILD)/snmptrapd.conf
	install -Dm755 $(BUILD)/fieldwatchd $(DESTDIR)$(SBINDIR)/fieldwatchd
	install -Dm755 $(BUILD)/fieldwatchctl $(DESTDIR)$(BINDIR)/fieldwatchctl
	install -Dm644 $(BUILD)/fieldwatch.service $(DESTDIR)$(SYSTEMDLIBDIR)/systemd/system/fieldwatch.service
	install -Dm644 systemd/fieldwatch.sysusers $(DESTDIR)$(SYSTEMDLIBDIR)/sysusers.d/fieldwatch.conf
	install -Dm644 systemd/fieldwatch.tmpfiles $(DESTDIR)$(SYSTEMDLIBDIR)/tmpfiles.d/fieldwatch.conf
	install -Dm644 systemd/fieldwatch.catalog $(DESTDIR)$(SYSTEMDLIBDIR)/systemd/catalog/fieldwatch.catalog
	install -Dm644 daemon/fieldwatchd.8 $(DESTDIR)$(MANDIR)/man8/fieldwatchd.8
	install -Dm644 daemon/fieldwatchctl.1 $(DESTDIR)$(MANDIR)/man1/fieldwatchctl.1
	install -Dm644 config/ichikawa-2025.yaml $(DESTDIR)$(DATADIR)/fieldwatch/ichikawa-2025.yaml
	install -Dm644 config/lab.yaml $(DESTDIR)$(DATADIR)/fieldwatch/lab.yaml
	install -Dm644 $(BUILD)/snmptrapd.conf $(DESTDIR)$(DATADIR)/fieldwatch/snmptrapd.conf
	install -d -m755 $(DESTDIR)$(SYSCONFDIR)/fieldwatch
	install -d -m700 $(DESTDIR)$(SYSCONFDIR)/fieldwatch/credentials
	test -e $(DESTDIR)$(SYSCONFDIR)/fieldwatch/fieldwatch.yaml || \
		install -m644 config/ichikawa-2025.yaml $(DESTDIR)$(SYSCONFDIR)/fieldwatch/fieldwatch.yaml

# Removes what install put in place, but never the configuration, the
# secrets or the state.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/fieldwatchd $(DESTDIR)$(BINDIR)/fieldwatchctl
	rm -f $(DESTDIR)$(SYSTEMDLIBDIR)/systemd/system/fieldwatch.service
	rm -f $(DESTDIR)$(SYSTEMDLIBDIR)/sysusers.d/fieldwatch.conf
	rm -f $(DESTDIR)$(SYSTEMDLIBDIR)/tmpfiles.d/fieldwatch.conf
	rm -f $(DESTDIR)$(SYSTEMDLIBDIR)/systemd/catalog/fieldwatch.catalog
	rm -f $(DESTDIR)$(MANDIR)/man8/fieldwatchd.8 $(DESTDIR)$(MANDIR)/man1/fieldwatchctl.1
	rm -rf $(DESTDIR)$(DATADIR)/fieldwatch

clean:
	rm -rf build

.PHONY: FORCE
FORCE:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# libFuzzer harnesses (tests/fuzz/README.md): make fuzz FUZZ_SECONDS=N, make fuzz-regress.
include tests/fuzz/fuzz.mk

# ---------------------------------------------------------------------------
# The benchmark (issue 7): fieldwatchd side by side with the Prometheus
# exporters, the fork-per-check plugins and a C floor prober, on loopback
# (bench/README.md). Reports, never gates; not part of `make check`, and its
# packages are its own.
#   make bench                  N = 1,000 cameras and routers (a few minutes)
#   make bench BENCH_N=10000    the large field, with the 60 s steady-state run
#   make bench BENCH_PROFILE=1  also perf profiles of fieldwatchd (bench/profiles/)
BENCH_N ?= 1000
BENCH_ARGS ?=
BENCH_DEPS := prometheus-blackbox-exporter prometheus-snmp-exporter monitoring-plugins-basic \
	monitoring-plugins-standard snmpd snmp python3-yaml linux-perf nginx valgrind
BENCH_PKGS := libcurl libxml-2.0 netsnmp
# The shared floor prober (`limit`, `raw`), built from its own directory and
# Makefile into $(BUILD)/bench-floor at bench time, never copied into the project.
BENCH_FLOOR_DIR ?= ../shared/bench-floor

.PHONY: bench bench-deps-if-missing

bench-deps-if-missing: deps-if-missing
	@missing=$$(for p in $(BENCH_DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "missing packages:" $$missing; apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; fi

$(BUILD)/bench/floor: bench/floor.c
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags $(BENCH_PKGS)) \
		-o $@ $< $(shell $(PKG_CONFIG) --libs $(BENCH_PKGS))

# Its Makefile, run in $(BUILD)/bench-floor with VPATH at its sources: the
# binaries land in build/, its directory is only read.
.PHONY: bench-floor
bench-floor:
	@test -f $(BENCH_FLOOR_DIR)/Makefile || \
		{ echo "the shared floor is missing: $(BENCH_FLOOR_DIR)"; exit 1; }
	@mkdir -p $(BUILD)/bench-floor
	$(MAKE) --no-print-directory -C $(BUILD)/bench-floor \
		-f $(abspath $(BENCH_FLOOR_DIR))/Makefile VPATH=$(abspath $(BENCH_FLOOR_DIR)) limit raw

bench: bench-deps-if-missing
	@$(MAKE) --no-print-directory all $(BUILD)/bench/floor bench-floor
	$(PYTHON) bench/bench.py --n $(BENCH_N) --build $(BUILD) \
		--shared-floor $(BUILD)/bench-floor/limit \
		$(if $(filter 1,$(BENCH_PROFILE)),--profile) $(BENCH_ARGS)

# How the cost grows with the field (100 ... 20,000 cameras and routers) and
# whether a silent 10 % delays any other probe (issue 18, points 3 and 4;
# bench/scale.py, about 20 minutes; results into bench/RESULTS.md). Reports,
# never gates. BENCH_SCALE_ARGS for its options (--sizes, --intervals, ...).
BENCH_SCALE_ARGS ?=

.PHONY: bench-scale

bench-scale: bench-deps-if-missing
	@$(MAKE) --no-print-directory all bench-floor
	$(PYTHON) bench/scale.py --build $(BUILD) --shared-floor $(BUILD)/bench-floor/limit \
		$(BENCH_SCALE_ARGS)

# ---------------------------------------------------------------------------
# The soak (issue 8): fieldwatchd against the 27 simulated sites with random faults,
# a restart and two reloads, then a verdict on faults, journal, mail, RSS and file
# descriptors (bench/soak). make check runs 90 s of it (tests/test_soak.py).
#   make soak                          10 minutes
#   make soak SOAK_DURATION=2h         longer
#   make soak SOAK_SEED=1234           replay a run's choices
SOAK_DURATION ?= 10m
SOAK_SEED ?=
SOAK_ARGS ?=

.PHONY: soak

soak: deps-if-missing
	@$(MAKE) --no-print-directory all
	$(PYTHON) bench/soak --duration $(SOAK_DURATION) --build $(BUILD) \
		$(if $(SOAK_SEED),--seed $(SOAK_SEED)) --report $(BUILD)/soak.json $(SOAK_ARGS)
