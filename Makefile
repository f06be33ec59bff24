# R-Stream build. `make run` starts the local stack with demo data; `make test` runs every test.
PKGS     := fcgi libpq hiredis json-c libjwt libcrypto zlib libcurl libqrencode
CC       ?= cc
BUILD    ?= build
OPT      ?= -O2 -g
CFLAGS   := $(OPT) -Wall -Wextra -Werror -Wno-format-truncation -std=c17 -D_GNU_SOURCE -Ifcgi $(shell pkg-config --cflags json-c libpq hiredis libjwt libcrypto libcurl libqrencode 2>/dev/null)
LDLIBS   := -lfcgi -lcsv $(shell pkg-config --libs json-c libpq hiredis libjwt libcrypto zlib libcurl libqrencode 2>/dev/null) -lm
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer

SKIP     ?=
SRCS     := $(filter-out fcgi/main.c $(SKIP),$(wildcard fcgi/*.c))
OBJS     := $(SRCS:fcgi/%.c=$(BUILD)/obj/%.o)
SUPPORT  := $(wildcard tests/support/*.c)
UNIT     := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c))
INTEG    := $(patsubst tests/integration/%.c,$(BUILD)/tests/integration/%,$(wildcard tests/integration/test_*.c))

.PHONY: all run stop test unit integration browser assets bench clean deps install
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
	bash tests/run.sh
tests-bin: $(UNIT) $(INTEG)

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
