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

.PHONY: all run stop test unit integration browser assets bench clean deps install deb fuzz fuzz-bin
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
FUZZ_TARGETS := csv zip filter template srt request json search ttf
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

# Install onto a host (FHS): binary in $(PREFIX)/bin, read-only assets in $(PREFIX)/share/rstream, config in
# /etc/rstream (an existing rstream.conf is never overwritten), systemd units in $(UNITDIR). DESTDIR stages it
# (packages, the install test). `make deb` builds a Debian package with dpkg-deb (docs/operations.md#install).
PREFIX  ?= /usr/local
DESTDIR ?=
UNITDIR ?= /etc/systemd/system
SHAREDIR = $(PREFIX)/share/rstream
UNITS   := $(wildcard conf/systemd/*.service conf/systemd/*.socket conf/systemd/*.timer)
install: all
	install -D -m 755 $(BUILD)/rstream $(DESTDIR)$(PREFIX)/bin/rstream
	mkdir -p $(DESTDIR)$(SHAREDIR)/conf $(DESTDIR)/etc/rstream
	cp -r templates static sql $(DESTDIR)$(SHAREDIR)/
	cp -r conf/i18n conf/apache conf/prometheus conf/grafana conf/postgres $(DESTDIR)$(SHAREDIR)/conf/
	install -m 644 conf/nginx.conf.in $(DESTDIR)$(SHAREDIR)/conf/nginx.conf.in
	install -D -m 755 scripts/ops_nginx_tls.sh $(DESTDIR)$(SHAREDIR)/scripts/ops_nginx_tls.sh
	{ cat conf/rstream.conf; printf '\n# ---- this host (make install) ----\nroot_dir = %s\ndata_dir = /var/lib/rstream\nlog.dir = /var/log/rstream\n' '$(SHAREDIR)'; } \
		>$(DESTDIR)/etc/rstream/rstream.conf.example
	[ -e $(DESTDIR)/etc/rstream/rstream.conf ] || install -m 640 $(DESTDIR)/etc/rstream/rstream.conf.example $(DESTDIR)/etc/rstream/rstream.conf
	install -m 600 conf/env.example $(DESTDIR)/etc/rstream/env.example
	install -D -m 644 conf/logrotate/rstream $(DESTDIR)/etc/logrotate.d/rstream
	mkdir -p $(DESTDIR)$(UNITDIR)
	for u in $(UNITS); do sed 's|@BINDIR@|$(PREFIX)/bin|g' $$u >$(DESTDIR)$(UNITDIR)/$$(basename $$u); chmod 644 $(DESTDIR)$(UNITDIR)/$$(basename $$u); done
deb: all
	bash scripts/ops_deb.sh $(BUILD)

clean:
	rm -rf build

-include $(OBJS:.o=.d)
