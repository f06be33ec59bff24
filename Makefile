# R-Stream build. `make run` starts the local stack with demo data; `make test` runs every test.
PKGS     := fcgi libpq hiredis json-c libjwt libcrypto zlib libcurl libqrencode libarchive
CC       ?= cc
BUILD    ?= build
OPT      ?= -O2 -g
CWARN    ?= -Wall -Wextra -Werror -Wno-format-truncation
CFLAGS   := $(OPT) $(CWARN) -std=c17 -D_GNU_SOURCE -Ifcgi $(shell pkg-config --cflags json-c libpq hiredis libjwt libcrypto libcurl libqrencode libarchive icu-uc 2>/dev/null)
LDLIBS   := -lfcgi -lcsv $(shell pkg-config --libs json-c libpq hiredis libjwt libcrypto zlib libcurl libqrencode libarchive icu-uc 2>/dev/null) -lm
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer

SKIP     ?=
SRCS     := $(filter-out fcgi/main.c $(SKIP),$(wildcard fcgi/*.c))
OBJS     := $(SRCS:fcgi/%.c=$(BUILD)/obj/%.o)
SUPPORT  := $(wildcard tests/support/*.c)
UNIT     := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c))
INTEG    := $(patsubst tests/integration/%.c,$(BUILD)/tests/integration/%,$(wildcard tests/integration/test_*.c))

.PHONY: all run stop test unit integration browser assets bench clean deps install fuzz fuzz-bin
all: $(BUILD)/rstream assets

$(BUILD)/obj/%.o: fcgi/%.c $(wildcard fcgi/*.h) | $(BUILD)/obj
	$(CC) $(CFLAGS) -MMD -c $< -o $@
$(BUILD)/obj $(BUILD)/tests/unit $(BUILD)/tests/integration:
	mkdir -p $@
$(BUILD)/librstream.a: $(OBJS)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/rstream: fcgi/main.c $(BUILD)/librstream.a
	$(CC) $(CFLAGS) $< -o $@ $(BUILD)/librstream.a $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/librstream.a | $(BUILD)/tests/unit
	$(CC) $(CFLAGS) -Itests/support $< -o $@ $(BUILD)/librstream.a $(LDLIBS) -lcriterion
$(BUILD)/tests/integration/%: tests/integration/%.c $(SUPPORT) $(BUILD)/librstream.a | $(BUILD)/tests/integration
	$(CC) $(CFLAGS) -Itests/support $< $(SUPPORT) -o $@ $(BUILD)/librstream.a $(LDLIBS) -lcriterion

# Front-end assets from npm, copied into static/vendor at build time (no CDN).
assets: static/vendor/.stamp
static/vendor/.stamp: package.json
	npm install --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/hls.js/dist/hls.min.js static/vendor/hls.min.js
	touch $@

deps:
	bash scripts/deps.sh

run: deps
	$(MAKE) -j$(shell nproc) all
	bash scripts/run.sh

stop:
	bash scripts/stack.sh stop

# Tests build with ASan+UBSan into build/test and run against a private stack on other ports.
test: deps
	$(MAKE) -j$(shell nproc) BUILD=build/test OPT="-O1 -g $(SAN)" build/test/rstream tests-bin assets
	$(MAKE) -j$(shell nproc) fuzz-bin
	bash tests/run.sh
tests-bin: $(UNIT) $(INTEG)

# Fuzzers (libFuzzer, clang only; the product build stays gcc): one harness per parser in tests/fuzz/fuzz_*.c,
# seeds in tests/fuzz/<target>/. `make fuzz FUZZ_SECONDS=600` runs each that long; make test runs each 45 s.
FUZZ_TARGETS := csv zip filter template srt request json search
FUZZ_BUILD   := build/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_SECONDS ?= 300
# clang warns about things gcc does not; the gcc build is the one that holds -Werror
FUZZ_WARN    := -Wall -Wextra -Wno-unknown-warning-option
fuzz-bin:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang CWARN="$(FUZZ_WARN)" OPT="-O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link" $(FUZZ_BUILD)/librstream.a
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang CWARN="$(FUZZ_WARN)" OPT="-O1 -g $(FUZZ_SAN)" $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/librstream.a
	clang $(CFLAGS) -fsanitize=fuzzer $< -o $@ $(FUZZ_BUILD)/librstream.a $(LDLIBS)
fuzz: deps fuzz-bin
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh

bench: all
	bash bench/run.sh

# Install onto a host: binary, read-only assets, an example config, systemd units (see docs/operations.md).
PREFIX  ?= /usr/local
DESTDIR ?=
install: all
	install -D -m 755 $(BUILD)/rstream $(DESTDIR)$(PREFIX)/bin/rstream
	mkdir -p $(DESTDIR)$(PREFIX)/share/rstream/conf
	cp -r templates static sql $(DESTDIR)$(PREFIX)/share/rstream/
	cp -r conf/i18n $(DESTDIR)$(PREFIX)/share/rstream/conf/
	install -D -m 644 conf/rstream.conf $(DESTDIR)/etc/rstream/rstream.conf.example
	install -D -m 644 conf/systemd/rstream-fcgi.service $(DESTDIR)/etc/systemd/system/rstream-fcgi.service
	install -D -m 644 conf/systemd/rstream-worker.service $(DESTDIR)/etc/systemd/system/rstream-worker.service

clean:
	rm -rf build

-include $(OBJS:.o=.d)
