# fieldwatch — libFuzzer harnesses (issue 8).
#
# Included by the Makefile, or run on its own from the top of the tree:
#
#   make -f tests/fuzz/fuzz.mk fuzz FUZZ_SECONDS=60    fuzz every harness for 60 s each
#   make -f tests/fuzz/fuzz.mk fuzz FUZZ_TARGETS=soap  only the named harnesses
#   make -f tests/fuzz/fuzz.mk fuzz-regress            every harness once over its corpus
#                                                      and its crashes/ inputs, no fuzzing
#   make -f tests/fuzz/fuzz.mk fuzz-coverage           line coverage of the code by the corpora
#
# The project's sources are compiled again with clang (coverage for libFuzzer,
# ASan and UBSan) into their own archive; nothing of the gcc build is linked.
# New inputs and crash artifacts go to $(FUZZ_BUILD), never into the tree: to
# keep a crash as a regression input, copy it to tests/fuzz/crashes/<name>/.
#
# Needs Debian's clang-14, libclang-rt-14-dev (libFuzzer and the sanitizer
# runtimes) and llvm-14 (llvm-symbolizer, for readable reports).

FUZZ_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

# On its own, take the library list and the warnings from the Makefile, where
# they are kept once.
PKG_CONFIG ?= pkg-config
ifeq ($(origin PKGS),undefined)
PKGS := $(shell sed -n 's/^PKGS := //p' Makefile)
endif
ifeq ($(origin WARN),undefined)
WARN := $(shell sed -n '/^WARN := /,/[^\\]$$/p' Makefile | sed -e 's/^WARN := //' -e 's/\\$$//')
endif
VERSION ?= 0.1.0
SYSCONFDIR ?= /etc

FUZZ_CC ?= clang-14
FUZZ_SYMBOLIZER ?= /usr/lib/llvm-14/bin/llvm-symbolizer
FUZZ_LLVM_PROFDATA ?= llvm-profdata-14
FUZZ_LLVM_COV ?= llvm-cov-14
FUZZ_BUILD ?= build/fuzz
FUZZ_SECONDS ?= 10
FUZZ_RSS_MB ?= 2048
FUZZ_TIMEOUT ?= 10
FUZZ_TARGETS ?= $(FUZZ_NAMES)

FUZZ_NAMES := $(sort $(patsubst $(FUZZ_DIR)/fuzz-%.c,%,$(wildcard $(FUZZ_DIR)/fuzz-*.c)))
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz-%)

# The project's warnings, fatal for the harnesses only: the gcc build is where
# the sources' warnings are policed, this one is for finding bugs. (gcc's
# -Wno-format-truncation means nothing to clang, which would say so.)
FUZZ_WARN := $(filter-out -Werror -Wno-format-truncation,$(WARN)) -Wno-unknown-warning-option
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
FUZZ_PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
FUZZ_CFLAGS = -std=c17 -D_GNU_SOURCE -DFIELDWATCH_VERSION='"$(VERSION)"' \
	-DSYSCONFDIR='"$(SYSCONFDIR)"' $(FUZZ_WARN) -O1 -g $(FUZZ_SAN) \
	-Idaemon -Iconfig -Iprobes $(FUZZ_PKG_CFLAGS) -MMD -MP

FUZZ_MAINS := daemon/fieldwatchd.c daemon/fieldwatchctl.c
FUZZ_LIB_SRCS := $(filter-out $(FUZZ_MAINS),$(wildcard daemon/*.c config/*.c probes/*.c))
FUZZ_LIB_OBJS := $(FUZZ_LIB_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)

# The sanitizers' and libFuzzer's settings for every run. Each harness reads
# its input through fuzzer-controlled code only; stdout and stderr of the code
# under test are closed (-close_fd_mask), the reports still come through.
FUZZ_ENV = ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ASAN_SYMBOLIZER_PATH=$(FUZZ_SYMBOLIZER) TZ=America/New_York
FUZZ_FLAGS = -timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=$(FUZZ_RSS_MB) -malloc_limit_mb=$(FUZZ_RSS_MB) \
	-close_fd_mask=3

.PHONY: fuzz fuzz-build fuzz-regress fuzz-coverage fuzz-clean

fuzz-build: $(FUZZ_BINS)

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/libfieldwatch-fuzz.a: $(FUZZ_LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

# A harness that #includes a source file (to reach its statics) defines all
# of that file's symbols itself, so the archive's copy is never pulled in.
$(FUZZ_BUILD)/fuzz-%: $(FUZZ_DIR)/fuzz-%.c $(FUZZ_DIR)/fuzz.h $(FUZZ_BUILD)/libfieldwatch-fuzz.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -I. -I$(FUZZ_DIR) -MF $@.d -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_BUILD)/libfieldwatch-fuzz.a $(FUZZ_PKG_LIBS) -lm

# Fuzzes each harness for FUZZ_SECONDS: the seed corpus is read, new inputs
# are written to $(FUZZ_BUILD)/corpus/<name>, crashes to $(FUZZ_BUILD)/artifacts/<name>/.
# Runs them all, then fails when any of them found something.
fuzz: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz-%)
	@fail=; for n in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$n $(FUZZ_BUILD)/artifacts/$$n; \
		dict=; test -f $(FUZZ_DIR)/$$n.dict && dict=-dict=$(FUZZ_DIR)/$$n.dict; \
		echo "== fuzz-$$n for $(FUZZ_SECONDS) s (log: $(FUZZ_BUILD)/fuzz-$$n.log)"; \
		$(FUZZ_ENV) timeout -k 10 $$(( $(FUZZ_SECONDS) + 300 )) $(FUZZ_BUILD)/fuzz-$$n \
			$(FUZZ_FLAGS) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$dict \
			-artifact_prefix=$(FUZZ_BUILD)/artifacts/$$n/ \
			$(FUZZ_BUILD)/corpus/$$n $(FUZZ_DIR)/corpus/$$n > $(FUZZ_BUILD)/fuzz-$$n.log 2>&1; \
		rc=$$?; \
		grep -E '^#[0-9]+.*(DONE|INITED)|stat::number_of_executed_units|stat::peak_rss_mb' \
			$(FUZZ_BUILD)/fuzz-$$n.log | sed 's/^/   /'; \
		if [ $$rc -ne 0 ]; then fail="$$fail $$n"; \
			echo "FAILED: fuzz-$$n (exit $$rc); see $(FUZZ_BUILD)/fuzz-$$n.log"; \
			grep -E '^==[0-9]+==ERROR|runtime error|^SUMMARY|Test unit written' \
				$(FUZZ_BUILD)/fuzz-$$n.log | sed 's/^/   /'; fi; \
	done; \
	if [ -n "$$fail" ]; then echo "fuzz: findings in:$$fail"; exit 1; fi; \
	echo "fuzz: no findings"

# Every harness once over each input of its seed corpus and of
# tests/fuzz/crashes/<name>/ (the inputs of bugs found before), no fuzzing.
# Closes with "fuzz-regress: N passed, N failed" (one count per harness).
fuzz-regress: $(FUZZ_BINS)
	@$(FUZZ_ENV) sh $(FUZZ_DIR)/regress.sh $(FUZZ_BUILD) $(FUZZ_DIR) "$(FUZZ_FLAGS)" $(FUZZ_NAMES)

# Line coverage of the code under test by the corpora (the seeds and what
# `make fuzz` added): a second build with clang's source-based coverage and
# no sanitizers, each harness run once over its inputs, one report.
FUZZ_COV_BUILD ?= $(FUZZ_BUILD)/coverage
FUZZ_COV_FLAGS := -fprofile-instr-generate -fcoverage-mapping
FUZZ_COV_CFLAGS = $(filter-out $(FUZZ_SAN),$(FUZZ_CFLAGS)) $(FUZZ_COV_FLAGS)
FUZZ_COV_OBJS := $(FUZZ_LIB_SRCS:%.c=$(FUZZ_COV_BUILD)/obj/%.o)
FUZZ_COV_OBJECTS = $(FUZZ_COV_BUILD)/fuzz-$(firstword $(FUZZ_NAMES)) \
	$(foreach n,$(wordlist 2,99,$(FUZZ_NAMES)),-object $(FUZZ_COV_BUILD)/fuzz-$(n))
FUZZ_COV_FILES ?= config/config.c config/schema.c config/yaml-tree.c probes/soap.c probes/snmp.c daemon/calendar.c \
	daemon/timeutil.c daemon/action.c daemon/cli.c daemon/ctl-actions.c

$(FUZZ_COV_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_COV_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_COV_BUILD)/libfieldwatch-cov.a: $(FUZZ_COV_OBJS)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_COV_BUILD)/fuzz-%: $(FUZZ_DIR)/fuzz-%.c $(FUZZ_DIR)/fuzz.h \
		$(FUZZ_COV_BUILD)/libfieldwatch-cov.a
	$(FUZZ_CC) $(FUZZ_COV_CFLAGS) -I. -I$(FUZZ_DIR) -MF $@.d -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_COV_BUILD)/libfieldwatch-cov.a $(FUZZ_PKG_LIBS) -lm

fuzz-coverage: $(FUZZ_NAMES:%=$(FUZZ_COV_BUILD)/fuzz-%)
	@rm -f $(FUZZ_COV_BUILD)/*.profraw
	@for n in $(FUZZ_NAMES); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$n; \
		LLVM_PROFILE_FILE=$(FUZZ_COV_BUILD)/$$n.profraw TZ=America/New_York \
			timeout -k 10 900 $(FUZZ_COV_BUILD)/fuzz-$$n -runs=0 -close_fd_mask=3 \
			-timeout=$(FUZZ_TIMEOUT) $(FUZZ_BUILD)/corpus/$$n $(FUZZ_DIR)/corpus/$$n \
			> $(FUZZ_COV_BUILD)/$$n.log 2>&1 || echo "fuzz-$$n: exit $$? (see $(FUZZ_COV_BUILD)/$$n.log)"; \
	done
	@$(FUZZ_LLVM_PROFDATA) merge -sparse -o $(FUZZ_COV_BUILD)/all.profdata $(FUZZ_COV_BUILD)/*.profraw
	@$(FUZZ_LLVM_COV) report $(FUZZ_COV_OBJECTS) -instr-profile=$(FUZZ_COV_BUILD)/all.profdata \
		$(FUZZ_COV_FILES)
	@echo "line by line: $(FUZZ_LLVM_COV) show $(FUZZ_COV_OBJECTS)" \
		"-instr-profile=$(FUZZ_COV_BUILD)/all.profdata FILE"

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

-include $(wildcard $(FUZZ_BUILD)/*.d $(FUZZ_BUILD)/obj/*/*.d $(FUZZ_COV_BUILD)/*.d \
	$(FUZZ_COV_BUILD)/obj/*/*.d)
